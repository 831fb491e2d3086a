package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.samples.quickstart.BaseModelConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code serve --reasoning-parser}: the server it starts answers chat with the thinking apart under {@code auto} on
 * DeepSeek-R1-Distill's chat template (which opens {@code <think>} in the prompt), and as generated under the
 * default {@code none}; an unknown name is bad input listing the names.
 */
class ServeReasoningParserTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    private static Path base;

    @BeforeAll
    static void writeModel() throws IOException {
        base = CliTestSupport.tinyModel(dir.resolve("base"), BaseModelConfig.configJson().put("vocab_size", 270));
        CliTestSupport.bytebpeTokenizer(base, "deepseek-r1-distill-qwen-32b");
    }

    /** The first choice's message of a greedy chat answer from a server started with {@code options}. */
    private static JsonNode answer(String... options) throws Exception {
        List<String> args = new ArrayList<>(List.of("serve", "--model", base.toString(), "--port", "0", "--name", "m"));
        args.addAll(List.of(options));
        CommandLine cl = Finetune4j.commandLine();
        cl.setOut(new PrintWriter(new StringWriter(), true));
        ServeCommand command = (ServeCommand) cl.parseArgs(args.toArray(String[]::new)).subcommand().commandSpec().userObject();
        try (ServeCommand.Serving s = command.start(command.device.resolve(), null)) {
            HttpRequest chat = HttpRequest.newBuilder(s.server.uri().resolve("v1/chat/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"m\", \"max_tokens\": 8, \"temperature\": 0, "
                            + "\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}")).build();
            HttpResponse<String> r = HttpClient.newHttpClient().send(chat, HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            return JSON.readTree(r.body()).get("choices").get(0).get("message");
        }
    }

    @Test
    void autoSplitsTheThinkingTheTemplateOpenedAndNoneLeavesItInTheContent() throws Exception {
        JsonNode plain = answer();
        JsonNode split = answer("--reasoning-parser", "auto");

        String generated = plain.get("content").asText();
        assertFalse(generated.isBlank(), "the model writes words: '" + generated + "'");
        assertFalse(generated.contains("</think>"), generated);
        assertFalse(plain.has("reasoning_content"), plain.toString());
        // never closed: all of it is thinking, less the whitespace around it
        assertEquals(generated.strip(), split.get("reasoning_content").asText(), split.toString());
        assertTrue(split.get("content").isNull(), split.toString());
    }

    @Test
    void anUnknownReasoningParserIsBadInput() {
        CliTestSupport.Run r = CliTestSupport.run("serve", "--model", dir.resolve("none").toString(),
                "--reasoning-parser", "deepseek_r1", "--port", "0");

        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
        assertTrue(r.err().contains("unknown reasoning parser 'deepseek_r1'; use one of none, think, auto"), r.err());
    }
}
