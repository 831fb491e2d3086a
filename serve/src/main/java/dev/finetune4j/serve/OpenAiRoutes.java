package dev.finetune4j.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.serve.AccessKeys.Scope;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The server's routes and the one place where failures become responses: an {@link ApiException} becomes its
 * status and OpenAI's error body (with {@code Retry-After} for 429), anything else a logged 500. Unknown paths and
 * methods get the same body shape, so a client's error handling sees one format. Each {@code /v1} and
 * {@code /admin} route (the 405 answers for other methods included) checks its key first ({@link AccessKeys}).
 */
final class OpenAiRoutes {
    private static final Logger LOG = LoggerFactory.getLogger(OpenAiRoutes.class);
    /** OpenAI's default {@code max_tokens} for completions; chat's default is "until the model's positions run out". */
    private static final int COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

    /** A route's work; it may throw, and {@link #guarded} turns what it throws into the response. */
    @FunctionalInterface
    private interface Endpoint {
        void handle(ServerRequest request, ServerResponse response) throws Exception;
    }

    private OpenAiRoutes() {
    }

    static void register(HttpRouting.Builder routing, ServedModels models, AccessKeys keys) {
        ModelEndpoints modelEndpoints = new ModelEndpoints(models);
        CompletionEndpoint completions = new CompletionEndpoint(models, new ResponseShape.Text(), ReasoningParser.NONE, "prompt", body -> ToolCalling.NONE, (body, tools) -> {
            SamplingParameters.refuseUnless(body, "echo", v -> v.isBoolean() && !v.asBoolean(), "'echo' (the prompt in the "
                    + "answer, with its log-probabilities when 'logprobs' is set) is not supported; leave it out");
            SamplingParameters.refuseUnless(body, "suffix", v -> v.isTextual() && v.asText().isEmpty(), "'suffix' (insertion) is not "
                    + "supported; leave it out");
            return CompletionPrompts.parse(body, models);
        }, COMPLETIONS_DEFAULT_MAX_TOKENS);
        CompletionEndpoint chat = new CompletionEndpoint(models, new ResponseShape.Chat(), models.reasoningParser(), "messages", body -> {
            SamplingParameters.refuseUnless(body, "functions", v -> v.isArray() && v.isEmpty(), "'functions' (OpenAI's "
                    + "deprecated function calling) is not supported; send the functions as 'tools'");
            SamplingParameters.refuseUnless(body, "function_call", v -> false, "'function_call' is not supported; use "
                    + "'tool_choice'");
            return models.toolChoices().read(body);
        }, (body, tools) -> List.of(ChatMessages.prompt(body, models, tools.promptTools())), Integer.MAX_VALUE);

        Scope api = Scope.API;
        Scope admin = Scope.ADMIN;
        routing.get("/health", guarded((req, res) -> {
                    ObjectNode health = modelEndpoints.health();
                    sendJson(res, health.path("status").asText().equals("ok") ? 200 : 503, health);
                }))
                .get("/v1/models", guarded(keys, api, (req, res) -> sendJson(res, 200, modelEndpoints.list())))
                .get("/metrics", guarded(keys, api, (req, res) -> sendText(res, PrometheusMetrics.CONTENT_TYPE,
                        PrometheusMetrics.render(models.engine().metrics(), models.baseName()))))
                .post("/v1/completions", guarded(keys, api, (req, res) -> completions.handle(readBody(req), res)))
                .post("/v1/chat/completions", guarded(keys, api, (req, res) -> chat.handle(readBody(req), res)))
                .post("/admin/adapters", guarded(keys, admin, (req, res) ->
                        sendJson(res, 200, modelEndpoints.load(readBody(req)))))
                .delete("/admin/adapters/{name}", guarded(keys, admin, (req, res) ->
                        sendJson(res, 200, modelEndpoints.unload(req.path().pathParameters().get("name")))));
        routing.any("/health", guarded(methodNotAllowed("/health", "GET")));
        routing.any("/v1/models", guarded(keys, api, methodNotAllowed("/v1/models", "GET")));
        routing.any("/metrics", guarded(keys, api, methodNotAllowed("/metrics", "GET")));
        for (String path : List.of("/v1/completions", "/v1/chat/completions")) {
            routing.any(path, guarded(keys, api, methodNotAllowed(path, "POST")));
        }
        routing.any("/admin/adapters", guarded(keys, admin, methodNotAllowed("/admin/adapters", "POST")));
        routing.any("/admin/adapters/{name}", guarded(keys, admin, methodNotAllowed("/admin/adapters/{name}", "DELETE")));
        routing.any(guarded((req, res) -> {
            throw ApiException.notFound("no route " + req.prologue().method().text() + " " + req.path().path() + "; this server "
                    + "has GET /v1/models, POST /v1/completions, POST /v1/chat/completions, GET /health, GET /metrics, "
                    + "POST /admin/adapters and DELETE /admin/adapters/{name}");
        }));
    }

    private static Endpoint methodNotAllowed(String path, String allowed) {
        return (req, res) -> {
            res.header(HeaderNames.ALLOW, allowed);
            throw ApiException.methodNotAllowed(req.prologue().method().text() + " is not allowed on " + path + "; use " + allowed);
        };
    }

    /** {@link #guarded(Endpoint)} for a route that takes the key of {@code scope}, checked before anything else. */
    private static Handler guarded(AccessKeys keys, Scope scope, Endpoint endpoint) {
        return guarded((req, res) -> {
            keys.check(req, res, scope);
            endpoint.handle(req, res);
        });
    }

    private static Handler guarded(Endpoint endpoint) {
        return (req, res) -> {
            try {
                endpoint.handle(req, res);
            } catch (ApiException e) {
                sendError(res, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                sendError(res, ApiException.unavailable("the server is shutting down; retry against a running server"));
            } catch (Exception e) {
                LOG.error("{} {} failed", req.prologue().method().text(), req.path().path(), e);
                sendError(res, ApiException.internal("the server failed: " + e + "; the server log has the details"));
            }
        };
    }

    /** The request body as a JSON object. */
    private static JsonNode readBody(ServerRequest request) {
        byte[] bytes = request.content().hasEntity() ? request.content().as(byte[].class) : new byte[0];
        if (bytes.length == 0) {
            throw ApiException.malformedJson("the request has no body; send a JSON object (Content-Type: application/json)");
        }
        JsonNode body;
        try {
            body = OpenAiJson.MAPPER.readTree(bytes);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            throw ApiException.malformedJson("the body is not valid JSON" + (at == null ? "" : " (line " + at.getLineNr()
                    + ", column " + at.getColumnNr() + ")") + ": " + e.getOriginalMessage() + "; send a JSON object");
        } catch (IOException e) {
            throw ApiException.malformedJson("cannot read the body as JSON: " + e.getMessage() + "; send a JSON object");
        }
        if (body == null || !body.isObject()) {
            throw ApiException.malformedJson("the body must be a JSON object, got " + (body == null ? "nothing" : JsonFields.describe(body)));
        }
        return body;
    }

    static void sendJson(ServerResponse response, int status, JsonNode body) {
        byte[] bytes;
        try {
            bytes = OpenAiJson.MAPPER.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize a response: " + e.getMessage(), e);
        }
        response.status(status);
        response.header(HeaderNames.CONTENT_TYPE, "application/json");
        response.send(bytes);
    }

    private static void sendText(ServerResponse response, String contentType, String text) {
        response.status(200);
        response.header(HeaderNames.CONTENT_TYPE, contentType);
        response.send(text.getBytes(StandardCharsets.UTF_8));
    }

    private static void sendError(ServerResponse response, ApiException e) {
        if (response.isSent()) {
            LOG.warn("cannot report an error after the response was sent: {}", e.getMessage());
            return;
        }
        if (e.retryAfter() != null) {
            long seconds = Math.max(1, (e.retryAfter().toMillis() + 999) / 1000);
            response.header(HeaderNames.RETRY_AFTER, Long.toString(seconds));
        }
        sendJson(response, e.status(), OpenAiJson.error(e));
        LOG.debug("answered {}: {}", e.status(), e.getMessage());
    }
}
