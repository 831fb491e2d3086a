package dev.finetune4j.onnx;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.CausalLM;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LogitsModel;
import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The export run by ONNX Runtime computes what finetune4j computes: logits within {@value #TOLERANCE} (a padded
 * batch without past, and a second call on top of a first call's presents), and greedy generation through the
 * past key/values token for token equal to {@link Generator}'s. Fixtures: the hf-tiny LLaMA, Qwen2 (q/k/v biases,
 * tied embeddings) and GPT-2 models and their LoRA adapters, a tiny Qwen3 (q/k norms) and a Qwen2 with YaRN rotary
 * scaling (cos and sin scaled).
 */
class OnnxExporterTest {
    static final double TOLERANCE = 1e-4;
    private static final long[][] IDS = {{5, 17, 3, 9, 12, 40, 2, 7, 100, 31}, {8, 8, 1, 250, 77, 3, 14, 6, 2, 9}};
    /** Row 1 is left-padded: its first three tokens are masked out. */
    private static final long[][] MASK = {{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {0, 0, 0, 1, 1, 1, 1, 1, 1, 1}};
    private static final long[] PROMPT = {11, 4, 200, 37, 5};
    private static final int NEW_TOKENS = 12;
    private static final int SPLIT = 6;

    @ParameterizedTest
    @ValueSource(strings = {"hf-tiny/llama", "hf-tiny/qwen2", "hf-tiny/gpt2", "references/qwen3",
            "references/qwen2_rope_yarn"})
    void onnxRuntimeComputesTheModelsLogitsAndGreedyTokens(String fixture, @TempDir Path tmp) throws Exception {
        // core's references are read from its test jar, not copied into this module
        Path folder = fixture.startsWith("references/") ? CoreFixture.copy(fixture, tmp.resolve("model")).folder()
                : resource(fixture);
        try (LanguageModel model = AutoModel.loadCausalLM(folder)) {
            Expected expected = Expected.of(model);
            assertOnnxRuntimeMatches(OnnxExporter.export(model, tmp.resolve("onnx")), model.spec(), expected, fixture);
        }
    }

    /** The GPT-2 fixture's weights with each other activation its config may name, each written out in standard ops. */
    @ParameterizedTest
    @ValueSource(strings = {"gelu", "relu", "tanh", "sigmoid", "silu"})
    void everyActivationIsExported(String activation, @TempDir Path tmp) throws Exception {
        Path folder = tmp.resolve("gpt2-" + activation);
        Files.createDirectories(folder);
        Files.copy(resource("hf-tiny/gpt2").resolve("model.safetensors"), folder.resolve("model.safetensors"));
        ObjectNode config = (ObjectNode) new ObjectMapper().readTree(resource("hf-tiny/gpt2").resolve("config.json").toFile());
        Files.writeString(folder.resolve("config.json"), config.put("activation_function", activation).toString());
        try (LanguageModel model = AutoModel.loadCausalLM(folder)) {
            Expected expected = Expected.of(model);
            assertOnnxRuntimeMatches(OnnxExporter.export(model, tmp.resolve("onnx")), model.spec(), expected, "gpt2 with " + activation);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"hf-tiny/llama", "hf-tiny/qwen2", "hf-tiny/gpt2"})
    void aMergedLoraExportsAsTheAdaptedModel(String fixture, @TempDir Path tmp) throws Exception {
        try (LanguageModel base = AutoModel.loadCausalLM(resource(fixture))) {
            float[][][] baseLogits = base.logits(IDS, MASK);
            PeftModel adapted = Peft.load(base, resource(fixture).resolve("lora"));
            Expected expected = Expected.of(adapted);
            LogitsDifference byAdapter = LogitsDifference.of(baseLogits, expected.logits, MASK);
            assertTrue(byAdapter.value() > 100 * TOLERANCE, "the adapter must change the logits for the comparison to "
                    + "tell a merged export from the base; " + byAdapter);
            LanguageModel merged = adapted.mergeAndUnload();
            assertOnnxRuntimeMatches(OnnxExporter.export(merged, tmp.resolve("onnx")), merged.spec(), expected, fixture + " + LoRA");
        }
    }

    static void assertOnnxRuntimeMatches(Path modelFile, ModelSpec spec, Expected expected, String what) throws Exception {
        try (OrtDecoder ort = new OrtDecoder(modelFile)) {
            LogitsDifference batch = LogitsDifference.of(expected.logits, ort.logits(IDS, MASK, positions()), MASK);
            System.out.println(what + ", padded batch: " + batch);
            assertTrue(batch.value() < TOLERANCE, what + ", padded batch: " + batch);

            float[][][] afterPast = ort.logitsAfterPast(IDS[0], SPLIT);
            float[][][] ours = {Arrays.copyOfRange(expected.logits[0], SPLIT, IDS[0].length)};
            LogitsDifference cached = LogitsDifference.of(ours, afterPast, new long[][]{MASK[0]});
            System.out.println(what + ", second call on the first call's presents: " + cached);
            assertTrue(cached.value() < TOLERANCE, what + ", second call on the first call's presents: " + cached);

            assertArrayEquals(expected.greedy, ort.greedy(PROMPT, NEW_TOKENS, OrtDecoder.StaleCache.NEVER), what + ": greedy tokens through the past");
        }
    }

    private static long[][] positions() {
        long[][] p = new long[IDS.length][IDS[0].length];
        for (long[] row : p) {
            Arrays.setAll(row, j -> j);
        }
        return p;
    }

    static Path resource(String name) throws URISyntaxException {
        return Path.of(OnnxExporterTest.class.getResource("/" + name).toURI());
    }

    /** finetune4j's own logits of {@link #IDS} and greedy continuation of {@link #PROMPT} (with its KV cache). */
    record Expected(float[][][] logits, long[] greedy) {
        static <M extends CausalLM & LogitsModel> Expected of(M model) {
            return new Expected(model.logits(IDS, MASK), Generator.generate(model, PROMPT, GenerationConfig.greedy(NEW_TOKENS)));
        }
    }
}
