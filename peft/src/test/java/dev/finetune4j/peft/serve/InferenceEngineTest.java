package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.LoraConfig;
import dev.finetune4j.peft.LoraInit;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** The engine's completions against core's Generator on the same model, with and without an adapter. */
class InferenceEngineTest {
    static Path llama() throws URISyntaxException {
        return Path.of(InferenceEngineTest.class.getResource("/hf-tiny/llama").toURI());
    }

    /** Saves a LoRA adapter with random A and B (so that it changes the output) into {@code dir}. */
    static Path saveAdapter(Path dir, long seed) throws URISyntaxException {
        try (LanguageModel base = AutoModel.loadCausalLM(llama())) {
            PeftModel m = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(16).targetModules("q_proj", "v_proj", "down_proj")
                    .initLoraWeights(LoraInit.RANDOM).build(), seed);
            m.save(dir);
        }
        return dir;
    }

    static long[] generated(long[] prompt, long[] full) {
        return Arrays.copyOfRange(full, prompt.length, full.length);
    }

    @Test
    void greedyCompletionsEqualTheGeneratorsWithAndWithoutAdapter(@TempDir Path tmp) throws Exception {
        Path adapter = saveAdapter(tmp.resolve("a"), 3);
        long[] prompt = {1, 17, 42, 99, 5};
        GenerationConfig greedy = GenerationConfig.greedy(12);
        long[] expectedBase;
        long[] expectedAdapter;
        try (LanguageModel base = AutoModel.loadCausalLM(llama())) {
            expectedBase = generated(prompt, Generator.generate(base, prompt, greedy));
        }
        try (LanguageModel base = AutoModel.loadCausalLM(llama())) {
            expectedAdapter = generated(prompt, Generator.generate(Peft.load(base, adapter), prompt, greedy));
        }
        assertFalse(Arrays.equals(expectedBase, expectedAdapter), "the adapter must change the greedy output");
        try (LanguageModel base = AutoModel.loadCausalLM(llama()); InferenceEngine engine = InferenceEngine.builder(base).build()) {
            engine.loadAdapter("a", adapter);
            Completion onBase = engine.submit(new CompletionRequest(null, prompt, greedy), TokenListener.NONE).completion().join();
            Completion onAdapter = engine.submit(new CompletionRequest("a", prompt, greedy), TokenListener.NONE).completion().join();
            assertArrayEquals(expectedBase, onBase.tokens());
            assertArrayEquals(expectedAdapter, onAdapter.tokens());
            assertEquals(FinishReason.LENGTH, onAdapter.finishReason());
            assertEquals(prompt.length, onAdapter.promptTokens());
        }
    }
}
