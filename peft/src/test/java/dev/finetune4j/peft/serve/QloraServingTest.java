package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.generate.ReferenceLogprobs;
import dev.finetune4j.core.generate.TokenLogprobs;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import dev.finetune4j.peft.qlora.QloraInjector;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * QLoRA adapters served over the NF4-quantized base they were trained on: the engine's greedy tokens and
 * log-probabilities equal those of the independent path {@code finetune4j eval} takes ({@code QloraInjector.quantize}
 * then {@code Peft.load}, one adapter, a plain forward pass over the whole sequence), for LoRA and DoRA batched
 * together; over a full-precision base they differ, and loading warns of every mismatch between the base and an
 * adapter's training base.
 */
class QloraServingTest {
    private static final long[] PROMPT = {1, 17, 42, 99, 5, 230, 8};
    private static final int NEW_TOKENS = 6;
    /** The engine decodes with its KV cache; the reference recomputes every position in one pass (as EngineLogprobsTest). */
    private static final double TOLERANCE = 1e-4;
    /** The logits move by the NF4 quantization error of every linear weight; far more than the tolerance. */
    private static final double QUANTIZATION_SHIFT = 1e-3;

    @TempDir
    static Path dir;
    private static Path lora;
    private static Path dora;
    private static Path fullPrecisionLora;

    @BeforeAll
    static void saveAdapters() {
        lora = saveQlora(false, dir.resolve("qlora"));
        dora = saveQlora(true, dir.resolve("qdora"));
        fullPrecisionLora = ServeFixtures.saveAdapter("llama", LoraConfig.builder().r(4).targetModules("q_proj"), 13,
                dir.resolve("lora"));
    }

    /** A QLoRA adapter as 'finetune4j train' saves one: random factors, so that it changes the output. */
    private static Path saveQlora(boolean useDora, Path to) {
        try (LanguageModel base = ServeFixtures.load("llama")) {
            QloraInjector.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).initLoraWeights(LoraInit.RANDOM)
                    .targetModules("q_proj", "v_proj", "down_proj").useDora(useDora).build()).save(to);
        }
        return to;
    }

    /** Tokens and their log-probabilities as eval computes them: the base quantized, then the adapter loaded onto it. */
    private record Reference(long[] tokens, double[] logprobs) {
        static Reference of(Path adapter, boolean quantizeBase) {
            try (LanguageModel base = ServeFixtures.load("llama")) {
                PeftModel m = quantizeBase ? QloraInjector.load(base, adapter) : Peft.load(base, adapter);
                long[] full = Generator.generate(m, PROMPT, GenerationConfig.greedy(NEW_TOKENS));
                long[] tokens = Arrays.copyOfRange(full, PROMPT.length, full.length);
                double[] logprobs = new double[tokens.length];
                for (int k = 0; k < tokens.length; k++) {
                    long[] seq = ReferenceLogprobs.concat(PROMPT, tokens, k);
                    float[] logits = m.logits(new long[][]{seq}, null)[0][seq.length - 1];
                    logprobs[k] = ReferenceLogprobs.logSoftmax(logits)[(int) tokens[k]];
                }
                return new Reference(tokens, logprobs);
            }
        }
    }

    /** A greedy request for PROMPT with the chosen token's log-probability. */
    private static CompletionHandle submitGreedy(InferenceEngine engine, String adapter) {
        return engine.submit(new CompletionRequest(adapter, PROMPT, GenerationConfig.greedy(NEW_TOKENS), List.of(), null, 1),
                TokenListener.NONE);
    }

    private static double[] logprobs(Completion c) {
        return c.logprobs().stream().mapToDouble(TokenLogprobs::logprob).toArray();
    }

    @Test
    void qloraAdaptersOverTheQuantizedBaseComputeWhatEvalComputes() {
        Reference loraRef = Reference.of(lora, true);
        Reference doraRef = Reference.of(dora, true);
        try (LanguageModel base = ServeFixtures.load("llama")) {
            QloraInjector.quantize(base);
            try (InferenceEngine engine = InferenceEngine.builder(base).build()) {
                assertTrue(engine.baseQuantized());
                assertEquals(List.of(), engine.loadAdapter("lora", lora), "trained on this base: nothing to warn");
                assertEquals(List.of(), engine.loadAdapter("dora", dora));
                // both in one batch: the base product once for both rows, each row's own update
                CompletionHandle l = submitGreedy(engine, "lora");
                CompletionHandle d = submitGreedy(engine, "dora");
                assertServedAs(loraRef, l.completion().join(), "LoRA");
                assertServedAs(doraRef, d.completion().join(), "DoRA");
            }
        }
    }

    private static void assertServedAs(Reference expected, Completion served, String what) {
        assertArrayEquals(expected.tokens(), served.tokens(), what + ": greedy tokens");
        double[] got = logprobs(served);
        for (int k = 0; k < got.length; k++) {
            assertEquals(expected.logprobs()[k], got[k], TOLERANCE, what + ": log-probability of token " + k);
        }
    }

    @Test
    void overAFullPrecisionBaseTheQloraAdapterWarnsAndComputesOtherLogits() {
        Reference asTrained = Reference.of(lora, true);
        try (LanguageModel base = ServeFixtures.load("llama");
             InferenceEngine engine = InferenceEngine.builder(base).build()) {
            assertFalse(engine.baseQuantized());
            List<String> warnings = engine.loadAdapter("lora", lora);
            assertEquals(1, warnings.size(), warnings.toString());
            assertTrue(warnings.getFirst().contains("trained on an NF4-quantized base")
                    && warnings.getFirst().contains("--base-quantization nf4"), warnings.getFirst());
            Completion c = submitGreedy(engine, "lora").completion().join();
            double[] served = logprobs(c);
            Reference fullPrecision = Reference.of(lora, false);
            assertArrayEquals(fullPrecision.tokens(), c.tokens());
            assertArrayEquals(fullPrecision.logprobs(), served, TOLERANCE, "the engine computes the full-precision base's");
            assertTrue(Math.abs(asTrained.logprobs()[0] - served[0]) > QUANTIZATION_SHIFT,
                    "the first token's log-probability moves with the base: " + asTrained.logprobs()[0] + " vs " + served[0]);
        }
    }

    @Test
    void anAdapterTrainedOnAFullPrecisionBaseWarnsOverTheQuantizedOne() {
        try (LanguageModel base = ServeFixtures.load("llama")) {
            QloraInjector.quantize(base);
            try (InferenceEngine engine = InferenceEngine.builder(base).build()) {
                List<String> warnings = engine.loadAdapter("plain", fullPrecisionLora);
                assertEquals(1, warnings.size(), warnings.toString());
                assertTrue(warnings.getFirst().contains("this base is NF4-quantized")
                        && warnings.getFirst().contains("--base-quantization none"), warnings.getFirst());
                assertEquals(List.of("plain"), engine.adapterNames(), "loaded all the same");
            }
        }
    }
}
