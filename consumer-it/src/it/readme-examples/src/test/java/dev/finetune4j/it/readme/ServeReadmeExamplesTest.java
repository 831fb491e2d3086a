package dev.finetune4j.it.readme;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.tools.ParsedToolCalls;
import dev.finetune4j.core.generate.tools.ToolCallFormat;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.core.tokenizer.ToolCall;
import dev.finetune4j.peft.serve.Completion;
import dev.finetune4j.peft.serve.CompletionHandle;
import dev.finetune4j.peft.serve.CompletionRequest;
import dev.finetune4j.peft.serve.FinishReason;
import dev.finetune4j.peft.serve.InferenceEngine;
import dev.finetune4j.serve.OpenAiServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The Java examples of README.md's "Serve" section, run against the fixtures. */
class ServeReadmeExamplesTest {
    @BeforeAll
    static void fixtures() throws Exception {
        Fixtures.layOut();
    }

    @Test
    void engine() throws Exception {
        long[] promptIds = Fixtures.tokenIds(1, 8)[0];
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.tinyLlama())) {
            // example README.md#6
            InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(16).build();   // base: a LanguageModel
            engine.loadAdapter("support", Path.of("my-adapter"));                  // a PEFT folder; loading again replaces it
            CompletionHandle handle = engine.submit(new CompletionRequest("support", promptIds, GenerationConfig.greedy(32)),
                    token -> System.out.print(token + " "));                        // streamed on the engine's thread
            Completion done = handle.completion().join();                          // tokens, finish reason, time to first token
            System.out.println(engine.metrics());                                   // tokens/s, latency percentiles, queue, KV cache
            engine.close();                                                         // cancels what still runs, joins the thread
            // end example
            assertEquals(32, done.tokens().length);
            assertEquals(FinishReason.LENGTH, done.finishReason());
            assertEquals(1L, engine.metrics().requestsByAdapter().get("support"));
        }
    }

    @Test
    void toolCallsReadFromAGeneratorsOutput() throws Exception {
        try (HfTokenizer tokenizer = HfTokenizer.load(Path.of("Qwen2.5-0.5B-Instruct"))) {
            long[] answer = tokenizer.encode("Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
                    + "{\"city\": \"Paris\"}}\n</tool_call>");
            // example README.md#8
            ToolCallFormat format = ToolCallFormat.detect(tokenizer.chatTemplate()).orElse(ToolCallFormat.HERMES);
            ParsedToolCalls parsed = format.parse(tokenizer.decode(answer));    // answer: the generated token ids
            String said = parsed.content();                                      // the text before the calls, null when blank
            for (ToolCall call : parsed.calls()) {
                System.out.println(call.name() + " " + call.arguments());       // get_weather {"city":"Paris"}
            }
            // end example
            assertEquals("Let me check.", said.strip());
            assertEquals(1, parsed.calls().size());
            assertEquals("get_weather", parsed.calls().getFirst().name());
            assertEquals("{\"city\":\"Paris\"}", parsed.calls().getFirst().arguments());
        }
    }

    @Test
    void openAiServer() throws Exception {
        Path modelDir = Fixtures.byteBpeModel();
        for (String file : new String[]{"tokenizer.json", "tokenizer_config.json"}) {
            Files.copy(Fixtures.SOURCE.resolve("bytebpe-tokenizer").resolve(file), modelDir.resolve(file),
                    StandardCopyOption.REPLACE_EXISTING);
        }
        try (LanguageModel base = AutoModel.loadCausalLM(modelDir)) {
            // example README.md#7
            InferenceEngine engine = InferenceEngine.builder(base).build();          // base: a LanguageModel
            HfTokenizer tokenizer = HfTokenizer.load(modelDir);                      // text prompts, chat and stop strings need it
            OpenAiServer server = OpenAiServer.builder(engine).modelName("my-model").tokenizer(tokenizer)
                    .apiKey(System.getenv("FINETUNE4J_API_KEY"))                     // null (unset): /v1 open; adminKey(...) for /admin
                    .port(0).start();                                                // 0: any free port (the CLI's default is 8000)
            System.out.println("OpenAI API at " + server.uri() + "v1");            // http://127.0.0.1:<port>/v1
            server.close();                                                          // then the engine, tokenizer and model
            engine.close();
            tokenizer.close();
            // end example
            HttpRequest health = HttpRequest.newBuilder(server.uri().resolve("/health")).build();
            assertThrows(ConnectException.class, () -> HttpClient.newHttpClient().send(health, HttpResponse.BodyHandlers.ofString()),
                    "after close() nothing listens on " + server.uri());
        }
    }
}
