package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.ArrayList;
import java.util.stream.Stream;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ServeCommandTest {
    private static final Pattern URL = Pattern.compile("on (http://\\S+/) \\(OpenAI API");

    @TempDir
    Path dir;

    /**
     * The real thing in a separate JVM: {@code serve} prints its URL, answers over HTTP with the keys from its
     * environment, and on SIGTERM (what Ctrl-C and {@code kill} send) its shutdown hook closes the server and engine
     * and says so.
     */
    @Test
    void servesUntilTheProcessIsAskedToStop() throws Exception {
        Path base = CliTestSupport.tinyModel(dir.resolve("base"));
        try (PeftModel m = Peft.wrap(AutoModel.loadCausalLM(base), LoraConfig.builder().r(4).targetModules("q_proj")
                .initLoraWeights(LoraInit.RANDOM).build(), 5)) {
            m.save(dir.resolve("adapter"));
        }
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path stdout = dir.resolve("stdout.txt");
        ProcessBuilder builder = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED", "--add-modules",
                "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"), Finetune4j.class.getName(), "serve",
                "--model", base.toString(), "--adapter", "support=" + dir.resolve("adapter"), "--port", "0",
                "--precision", "bf16-mixed", "--max-queue", "2")
                .redirectOutput(stdout.toFile()).redirectError(dir.resolve("stderr.txt").toFile());
        builder.environment().put(ServeCommand.API_KEY_ENV, "sk-api-from-env");
        builder.environment().put(ServeCommand.ADMIN_KEY_ENV, "sk-admin-from-env");
        Process process = builder.start();
        try {
            Matcher url = URL.matcher("");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!url.reset(Files.readString(stdout)).find() && process.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            String printed = Files.readString(stdout);
            assertTrue(url.reset(printed).find(), "no URL printed: " + printed + "\n" + Files.readString(dir.resolve("stderr.txt")));
            assertTrue(printed.contains("no tokenizer.json") && printed.contains("v1; cpu, bf16-mixed, base full precision)"), printed);

            HttpClient http = HttpClient.newHttpClient();
            HttpRequest.Builder listModels = HttpRequest.newBuilder(URI.create(url.group(1) + "v1/models"));
            assertEquals(401, http.send(listModels.build(), HttpResponse.BodyHandlers.ofString()).statusCode());
            HttpResponse<String> models = http.send(listModels.header("Authorization", "Bearer sk-api-from-env").build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, models.statusCode(), models.body());
            HttpRequest.Builder unload = HttpRequest.newBuilder(URI.create(url.group(1) + "admin/adapters/none")).DELETE();
            assertEquals(401, http.send(unload.copy().header("Authorization", "Bearer sk-api-from-env").build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode());
            assertEquals(404, http.send(unload.header("Authorization", "Bearer sk-admin-from-env").build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode());
            // --max-queue bounds the prompts of one request too: three could never be queued together
            HttpResponse<String> tooMany = http.send(HttpRequest.newBuilder(URI.create(url.group(1) + "v1/completions"))
                    .header("Authorization", "Bearer sk-api-from-env").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\": \"base\", \"max_tokens\": 1, \"prompt\": [[1, 2], [3, 4], [5, 6]]}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(400, tooMany.statusCode(), tooMany.body());
            assertTrue(tooMany.body().contains("at most 2 prompts"), tooMany.body());
            JsonNode data = new ObjectMapper().readTree(models.body()).get("data");
            assertEquals("base", data.get(0).get("id").asText());
            assertEquals("support", data.get(1).get("id").asText());

            // a stream under way when SIGTERM comes finishes during the drain instead of being cancelled
            HttpResponse<Stream<String>> streaming = http.send(HttpRequest.newBuilder(URI.create(url.group(1) + "v1/completions"))
                    .header("Authorization", "Bearer sk-api-from-env").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\": \"base\", \"max_tokens\": 200, \"stream\": true, \"temperature\": 0, \"prompt\": [1, 2]}")).build(),
                    HttpResponse.BodyHandlers.ofLines());
            Iterator<String> lines = streaming.body().iterator();
            assertTrue(lines.next().startsWith("data: "), "the first event");
            process.destroy(); // SIGTERM: runs the shutdown hooks, as Ctrl-C does
            List<String> rest = new ArrayList<>();
            lines.forEachRemaining(rest::add);
            List<String> end = rest.subList(Math.max(0, rest.size() - 4), rest.size());
            assertEquals("data: [DONE]", rest.get(rest.size() - 2), end.toString());
            assertTrue(end.getFirst().matches(".*\"finish_reason\":\"(stop|length)\".*"), "ended as a model ends: " + end);
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "the server did not stop");
            String said = Files.readString(stdout);
            assertTrue(said.contains("draining: requests in flight may finish within 20 s") && said.endsWith("stopped\n"), said);
        } finally {
            process.destroyForcibly();
        }
    }

    @Test
    void aMissingModelFolderOrAMalformedAdapterOptionIsBadInput() {
        CliTestSupport.Run missing = CliTestSupport.run("serve", "--model", dir.resolve("none").toString(), "--port", "0");
        assertEquals(ExitCodes.BAD_INPUT, missing.exitCode());
        assertTrue(missing.err().contains(dir.resolve("none") + " does not exist"), missing.err());

        CliTestSupport.Run malformed = CliTestSupport.run("serve", "--model", dir.toString(), "--adapter", "no-equals-sign");
        assertEquals(ExitCodes.BAD_INPUT, malformed.exitCode());
    }

    /** A timeout of centuries overflowed the request deadline, so every request failed; it is refused up front. */
    @Test
    void aRequestTimeoutBeyondADayIsBadInputBeforeTheModelLoads() {
        CliTestSupport.Run r = CliTestSupport.run("serve", "--model", dir.resolve("none").toString(),
                "--request-timeout", "10000000000", "--port", "0");
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("--request-timeout must be 1 to 86400 seconds (a day), got 10000000000"), r.err());
    }

    @Test
    void anUnknownToolCallParserIsBadInputBeforeTheModelLoads() {
        CliTestSupport.Run r = CliTestSupport.run("serve", "--model", dir.resolve("none").toString(),
                "--tool-call-parser", "pythonic", "--port", "0");

        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
        assertTrue(r.err().contains("--tool-call-parser: unknown tool call format 'pythonic'; use one of [hermes, llama3_json, "
                + "mistral, mistral_v11, granite, qwen3_coder], or auto"), r.err());
    }

    @Test
    void aStepTokenBudgetBelowTheBatchOrAKeyAHeaderCannotCarryIsBadInput() throws Exception {
        Path base = CliTestSupport.tinyModel(dir.resolve("base"));
        CliTestSupport.Run budget = CliTestSupport.run("serve", "--model", base.toString(), "--max-batch", "8",
                "--step-token-budget", "4", "--port", "0");
        assertEquals(ExitCodes.BAD_INPUT, budget.exitCode());
        assertTrue(budget.err().contains("--step-token-budget 4 is below --max-batch 8"), budget.err());

        CliTestSupport.Run key = CliTestSupport.run("serve", "--model", base.toString(), "--api-key", "two words", "--port", "0");
        assertEquals(ExitCodes.BAD_INPUT, key.exitCode());
        assertTrue(key.err().contains("apiKey must be printable ASCII"), key.err());
        assertTrue(Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().equals("finetune4j-inference")),
                "the engine's thread must be stopped when start-up fails");
    }

    @Test
    void anAdapterFolderWithoutConfigIsBadInputAndNothingKeepsRunning() throws Exception {
        Path base = CliTestSupport.tinyModel(dir.resolve("base"));
        Files.createDirectories(dir.resolve("empty"));
        CliTestSupport.Run r = CliTestSupport.run("serve", "--model", base.toString(), "--adapter", "a=" + dir.resolve("empty"),
                "--port", "0");
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("no adapter_config.json"), r.err());
        assertTrue(Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().equals("finetune4j-inference")),
                "the engine's thread must be stopped when start-up fails");
    }
}
