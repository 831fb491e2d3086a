package dev.finetune4j.serve;

import java.time.Duration;

/**
 * A request that the server answers with an error: the HTTP status and the fields of OpenAI's error body
 * {@code {"error": {"message", "type", "param", "code"}}}. Thrown by parsing and validation, mapped from the
 * engine's exceptions, and turned into the response in one place ({@link OpenAiRoutes}).
 */
final class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;
    private final Duration retryAfter;

    private ApiException(int status, String type, String param, String code, String message, Duration retryAfter) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retryAfter = retryAfter;
    }

    /** 400: a parameter is missing, has the wrong type or an invalid value; {@code param} names it (or null). */
    static ApiException invalid(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, param == null ? "invalid_request" : "invalid_value", message, null);
    }

    /** 400: the body is not JSON, or not a JSON object. */
    static ApiException malformedJson(String message) {
        return new ApiException(400, "invalid_request_error", null, "malformed_json", message, null);
    }

    /** 401: the route needs a key and the request sent none, or a wrong one. */
    static ApiException unauthorized(String message) {
        return new ApiException(401, "invalid_request_error", null, "invalid_api_key", message, null);
    }

    /** 404: {@code model} names neither the base model nor a loaded adapter. */
    static ApiException unknownModel(String message) {
        return new ApiException(404, "invalid_request_error", "model", "model_not_found", message, null);
    }

    /** 404: no route for this path. */
    static ApiException notFound(String message) {
        return new ApiException(404, "invalid_request_error", null, "not_found", message, null);
    }

    /** 405: the path exists for another method. */
    static ApiException methodNotAllowed(String message) {
        return new ApiException(405, "invalid_request_error", null, "method_not_allowed", message, null);
    }

    /** 429: the engine's queue is full; the client should retry after {@code retryAfter}. */
    static ApiException overloaded(String message, Duration retryAfter) {
        return new ApiException(429, "rate_limit_error", null, "queue_full", message, retryAfter);
    }

    /** 503: the engine is closed (the server is shutting down). */
    static ApiException unavailable(String message) {
        return new ApiException(503, "service_unavailable", null, "engine_closed", message, null);
    }

    /** 500: the engine failed while generating. */
    static ApiException internal(String message) {
        return new ApiException(500, "server_error", null, "internal_error", message, null);
    }

    int status() {
        return status;
    }

    String type() {
        return type;
    }

    String param() {
        return param;
    }

    String code() {
        return code;
    }

    /** How long a client should wait before retrying (429 only), else null. */
    Duration retryAfter() {
        return retryAfter;
    }
}
