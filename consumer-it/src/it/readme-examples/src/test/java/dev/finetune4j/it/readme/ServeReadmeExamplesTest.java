package dev.finetune4j.it.readme;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.serve.Completion;
import dev.finetune4j.peft.serve.CompletionHandle;
import dev.finetune4j.peft.serve.CompletionRequest;
import dev.finetune4j.peft.serve.FinishReason;
import dev.finetune4j.peft.serve.InferenceEngine;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The Java example of README.md's "Serve" section, run against the fixtures. */
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
}
