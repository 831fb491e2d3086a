package dev.finetune4j.onnx;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.models.decoder.RopeConfig;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import static dev.finetune4j.onnx.OnnxExporterTest.TOLERANCE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Gemma, Gemma 2, Gemma 3 (text), Phi-3 (with partial rotary and longrope), sliding-window Mistral and Qwen2, Granite
 * 3 and 4, OLMo 2, Olmo 3, SmolLM3, GLM, GLM-4, ERNIE 4.5, Cohere 1 and 2, EXAONE 4, Seed-OSS, Hunyuan, StarCoder2,
 * Arcee, Apertus (xIELU with each layer's learned scalars), Ministral (sliding and full layers), Ministral 3 (YaRN
 * and the query temperature) and the mixtures of experts Mixtral, Qwen3-MoE, OLMoE, Qwen2-MoE (a dense layer, the gated
 * shared expert), Granite 3's granitemoe and granitemoeshared (stacked experts, the shared MLP), GLM-4.5 (sigmoid
 * scores, selection bias, groups, scaling, a dense first layer), ERNIE-4.5-MoE (selection bias, biased shared
 * experts and lm_head) and gpt-oss (attention sinks, a window of 4 on every other layer, YaRN, the biased router and
 * stacked clamped-SwiGLU experts; {@link OnnxGptOssTest} has more) exported and run in ONNX Runtime give the logits of core's references (tools/reference/families_torch.py,
 * a PyTorch re-implementation of transformers 5's code, and transformers_families.py, transformers itself) and of
 * finetune4j's own model, within {@value
 * OnnxExporterTest#TOLERANCE}. Each fixture's sliding window of 6, soft caps, (1 + w) norms, sandwich norms,
 * query_pre_attn_scalar, local rotary table, longrope switch, Granite multiplier, OLMo norm placement, q/k norm
 * across heads and SmolLM3 layer without rotary change its logits (the reference script checks
 * that), so a graph that drops or mis-orders one fails here. The 16-token sequences outgrow the window of 6 and
 * phi3_longrope's pretrained 8 positions; the KV cache is checked token by token over all 16, the decoding loop
 * recomputing the cache where the model says it goes stale (longrope crossing 8), as transformers' generate does.
 * A bf16 Gemma of hidden size 48 checks the embedding scale rounded to the table's dtype.
 */
class OnnxFamiliesTest {
    /** A past this long already lies beyond the window and, for longrope, beyond the pretrained length. */
    private static final int PAST = 9;
    /** Row 1 of the left-padded batch masks out its first tokens. */
    private static final int LEFT_PADDING = 3;

    @ParameterizedTest
    @ValueSource(strings = {"gemma", "gemma2", "gemma3_text", "phi3", "phi3_longrope", "mistral_sliding", "qwen2_sliding",
            "granite", "granite4", "granite4_nope", "olmo2", "olmo3", "smollm3", "glm", "glm4", "ernie4_5", "cohere",
            "cohere2", "exaone4", "seed_oss", "hunyuan_v1_dense", "starcoder2", "arcee", "apertus", "ministral", "ministral3",
            "mixtral", "qwen3_moe", "olmoe", "qwen2_moe", "granitemoe", "granitemoeshared", "glm4_moe", "ernie4_5_moe",
            "gpt_oss"})
    void onnxRuntimeComputesTheReferenceLogitsWithAndWithoutTheCache(String family, @TempDir Path tmp) throws Exception {
        assertExportFollowsTheReference(family, tmp, (model, onnx) -> { });
    }

    /** A check of an export beside the logits: its graph's inputs, say. */
    @FunctionalInterface
    interface ExportCheck {
        void check(LanguageModel model, Path onnx) throws Exception;
    }

    /**
     * Exports core's fixture {@code family} into {@code tmp} and checks ONNX Runtime's logits against the reference
     * (transformers') and finetune4j: a full pass, a right-padded batch, a left-padded one (the fixture's against the
     * reference where it has one, and always against finetune4j), a prefix within longrope's pretrained length, a
     * prompt cut in two calls, one token per call and greedy tokens through the cache; then {@code alsoCheck}.
     */
    static void assertExportFollowsTheReference(String family, Path tmp, ExportCheck alsoCheck) throws Exception {
        CoreFixture fixture = CoreFixture.copy("references/" + family, tmp.resolve(family));
        try (LanguageModel model = AutoModel.loadCausalLM(fixture.folder())) {
            Path onnx = OnnxExporter.export(model, tmp.resolve("onnx"));
            alsoCheck.check(model, onnx);
            long[][] ids = fixture.ids("input_ids");
            long[][] all = ones(ids.length, ids[0].length);
            try (OrtDecoder ort = new OrtDecoder(onnx)) {
                float[][][] full = ort.logits(ids, all, positions(ids));
                assertWithin(fixture.logits("logits"), full, all, family + ", full pass against the reference");
                assertWithin(model.logits(ids, null), full, all, family + ", full pass against finetune4j");

                long[][] rightPadded = fixture.ids("attention_mask");
                assertWithin(fixture.logits("logits_masked"), ort.logits(ids, rightPadded, positions(ids)), rightPadded,
                        family + ", right-padded batch against the reference");
                long[][] leftPadded = fixture.has("left_attention_mask") ? fixture.ids("left_attention_mask") : leftPadded(ids);
                // transformers' forward without position_ids counts every row from 0, its padding included
                float[][][] left = ort.logits(ids, leftPadded, positions(ids));
                if (fixture.has("logits_left_padded")) {
                    assertWithin(fixture.logits("logits_left_padded"), left, leftPadded,
                            family + ", left-padded batch against the reference");
                }
                assertWithin(model.logits(ids, leftPadded), left, leftPadded, family + ", left-padded batch against finetune4j");

                if (fixture.has("logits_short")) { // within the pretrained length: longrope's short factors
                    long[][] prefix = prefix(ids, fixture.logits("logits_short")[0].length);
                    assertWithin(fixture.logits("logits_short"), ort.logits(prefix, ones(prefix.length, prefix[0].length),
                            positions(prefix)), ones(prefix.length, prefix[0].length), family + ", short prefix against the reference");
                }

                float[][][] afterPast = ort.logitsAfterPast(ids[0], PAST);
                float[][][] referenceAfterPast = {Arrays.copyOfRange(fixture.logits("logits")[0], PAST, ids[0].length)};
                assertWithin(referenceAfterPast, afterPast, ones(1, afterPast[0].length),
                        family + ", " + (ids[0].length - PAST) + " tokens on a past of " + PAST + " against the reference");

                assertTokenByTokenDecodingMatches(fixture, model, ort, family);

                long[] prompt = fixture.ids("greedy_prompt")[0];
                long[] expected = fixture.ids("greedy_output")[0];
                assertArrayEquals(expected, ort.greedy(prompt, expected.length - prompt.length, model::cacheGoesStale),
                        family + ": greedy tokens through the past against the reference");
            }
        }
    }

    /**
     * A bf16 Gemma whose sqrt(hidden_size) bf16 cannot hold (sqrt 48 = 6.928, 6.9375 in bf16) scales its embeddings by
     * the rounded value in the graph too, as transformers and finetune4j do; the weights are drawn at random.
     */
    @Test
    void aBf16GemmaScalesItsEmbeddingsByTheNormalizerRoundedToBf16(@TempDir Path tmp) throws Exception {
        CoreFixture gemma = CoreFixture.copy("references/gemma", tmp.resolve("gemma"));
        ObjectNode json = (ObjectNode) new ObjectMapper().readTree(gemma.folder().resolve("config.json").toFile());
        json.put("hidden_size", 48).put("intermediate_size", 96);
        Path folder = tmp.resolve("gemma-bf16");
        Files.createDirectories(folder);
        Files.writeString(folder.resolve("config.json"), json.toString());
        try (DecoderModel random = new DecoderModel(TensorScope.detached(), DecoderConfig.fromJson(json))) {
            StateDicts.initNormal(random, 0.5, new SplittableRandom(7));
            OnnxGraphLayoutTest.writeBf16(random.stateDict(), folder.resolve("model.safetensors"));
        }
        try (LanguageModel model = AutoModel.loadCausalLM(folder)) {
            assertEquals(DType.BF16, model.stateDict().get("model.embed_tokens.weight").dtype(), "the checkpoint's dtype is kept");
            OnnxExporterTest.Expected expected = OnnxExporterTest.Expected.of(model);
            OnnxExporterTest.assertOnnxRuntimeMatches(OnnxExporter.export(model, tmp.resolve("onnx")), model.spec(),
                    expected, "gemma in bf16 with hidden size 48");
        }
    }

    /** The export's full-pass logits against those of the model its folder loads as, and against the reference's. */
    record Distances(LogitsDifference toModel, LogitsDifference toReference) {
    }

    /** Exports the model of {@code fixture}'s folder (changed or not) and measures {@link Distances} on its full pass. */
    static Distances exportDistances(CoreFixture fixture, Path tmp) throws Exception {
        try (LanguageModel model = AutoModel.loadCausalLM(fixture.folder());
             OrtDecoder ort = new OrtDecoder(OnnxExporter.export(model, tmp.resolve("onnx")))) {
            long[][] ids = fixture.ids("input_ids");
            long[][] all = ones(ids.length, ids[0].length);
            float[][][] logits = ort.logits(ids, all, positions(ids));
            return new Distances(LogitsDifference.of(model.logits(ids, null), logits, all),
                    LogitsDifference.of(fixture.logits("logits"), logits, all));
        }
    }

    /**
     * The export of {@code fixture}'s changed folder follows the model that folder loads as and misses the reference
     * by far more than the tolerance: the graph computes the changed detail, so a graph without it would fail the
     * reference checks.
     */
    static void assertExportFollowsTheModelAndMissesTheReference(CoreFixture fixture, String what, Path tmp)
            throws Exception {
        Distances d = exportDistances(fixture, tmp);
        System.out.println(what + ": against finetune4j " + d.toModel() + "; against the reference " + d.toReference());
        assertTrue(d.toModel().value() < TOLERANCE, what + " against finetune4j: " + d.toModel());
        assertTrue(d.toReference().value() > 100 * TOLERANCE, what + " must miss the reference: " + d.toReference());
    }

    /**
     * Decoding row 0 one token per call on the previous presents gives, after each call, what finetune4j computes for
     * that prefix without a cache, and the reference's full-pass logits at that position wherever the prefix rotates
     * as the full pass does (all of them, except longrope's prefixes within the pretrained length).
     */
    static void assertTokenByTokenDecodingMatches(CoreFixture fixture, LanguageModel model, OrtDecoder ort,
                                                  String family) throws Exception {
        long[] row = fixture.ids("input_ids")[0];
        float[][] steps = ort.stepLogits(row, 1, model::cacheGoesStale);
        float[][][] reference = fixture.logits("logits");
        RopeConfig rope = ((DecoderModel) model).config().rope();
        int shortUpTo = rope.ropeType().equals("longrope") ? rope.originalMaxPositionEmbeddings() : 0;
        for (int length = 1; length <= row.length; length++) {
            float[][][] step = {{steps[length - 1]}};
            long[][] one = {{1}};
            float[][][] ours = model.logits(new long[][]{Arrays.copyOf(row, length)}, null);
            assertWithin(new float[][][]{{ours[0][length - 1]}}, step, one,
                    family + ", token by token: prefix of " + length + " against finetune4j");
            if (length > shortUpTo) {
                assertWithin(new float[][][]{{reference[0][length - 1]}}, step, one,
                        family + ", token by token: prefix of " + length + " against the reference");
            }
        }
    }

    static void assertWithin(float[][][] expected, float[][][] actual, long[][] mask, String what) {
        LogitsDifference d = LogitsDifference.of(expected, actual, mask);
        System.out.println(what + ": " + d);
        assertTrue(d.value() < TOLERANCE, what + ": " + d);
    }

    private static long[][] leftPadded(long[][] ids) {
        long[][] mask = ones(ids.length, ids[0].length);
        Arrays.fill(mask[1], 0, LEFT_PADDING, 0);
        return mask;
    }

    private static long[][] prefix(long[][] ids, int length) {
        long[][] out = new long[ids.length][];
        for (int b = 0; b < ids.length; b++) {
            out[b] = Arrays.copyOf(ids[b], length);
        }
        return out;
    }

    static long[][] ones(int rows, int columns) {
        long[][] out = new long[rows][columns];
        for (long[] row : out) {
            Arrays.fill(row, 1);
        }
        return out;
    }

    static long[][] positions(long[][] ids) {
        long[][] p = new long[ids.length][ids[0].length];
        for (long[] row : p) {
            Arrays.setAll(row, j -> j);
        }
        return p;
    }
}
