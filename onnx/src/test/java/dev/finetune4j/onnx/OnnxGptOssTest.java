package dev.finetune4j.onnx;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ReferenceFolders;
import dev.finetune4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static dev.finetune4j.onnx.OnnxExporterTest.TOLERANCE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * gpt-oss's export beyond {@link OnnxFamiliesTest}'s reference logits (transformers' GptOssForCausalLM): each of its own
 * details changed in the fixture's files (the sinks dropped, the clamp of the experts' SwiGLU lifted, the gate and up
 * columns read as halves instead of interleaved) moves the logits far past the tolerance from the reference, so a
 * graph that left that detail out would fail there, while the export of the changed model gives finetune4j's logits
 * for it, so the graph follows each detail rather than one fixture. The MXFP4 checkpoint, dequantized on load, exports
 * to the float32 checkpoint's weights byte for byte and gives the reference logits.
 */
class OnnxGptOssTest {

    /** One of gpt-oss's details, changed in the fixture's files. */
    enum Change {
        /** Every head's sink logit -10^4: its exp vanishes beside the scores', as if the model had no sinks. */
        NO_SINKS,
        /** swiglu_limit 10^30: the experts' gate and up halves never clamped. */
        NO_CLAMP,
        /**
         * gate_up_proj and its bias rewritten so that reading them interleaved gives what reading the original as
         * halves (the I gate columns, then the I up columns) gives: a graph that de-interleaved that way.
         */
        HALVES
    }

    @ParameterizedTest
    @EnumSource(Change.class)
    void aChangedDetailMissesTheReferenceAndTheExportFollowsIt(Change change, @TempDir Path tmp) throws Exception {
        CoreFixture fixture = CoreFixture.copy("references/gpt_oss", tmp.resolve("gpt_oss"));
        apply(change, fixture.folder());
        OnnxFamiliesTest.assertExportFollowsTheModelAndMissesTheReference(fixture, "gpt_oss with " + change, tmp);
    }

    /**
     * The MXFP4 folder (experts as blocks and scales, as openai/gpt-oss-20b is published) exports the weights of the
     * float32 folder, whose reference logits it gives.
     */
    @Test
    void theMxfp4CheckpointExportsTheFloatCheckpointsWeightsAndLogits(@TempDir Path tmp) throws Exception {
        CoreFixture plain = CoreFixture.copy("references/gpt_oss", tmp.resolve("gpt_oss"));
        Path packed = ReferenceFolders.copy("references/gpt_oss_mxfp4", List.of("config.json", "model.safetensors"),
                tmp.resolve("gpt_oss_mxfp4"));
        Path plainOnnx;
        try (LanguageModel model = AutoModel.loadCausalLM(plain.folder())) {
            plainOnnx = OnnxExporter.export(model, tmp.resolve("plain-onnx"));
        }
        try (LanguageModel model = AutoModel.loadCausalLM(packed)) {
            Path packedOnnx = OnnxExporter.export(model, tmp.resolve("packed-onnx"));
            assertArrayEquals(Files.readAllBytes(plainOnnx.resolveSibling(OnnxExporter.DATA_FILE)),
                    Files.readAllBytes(packedOnnx.resolveSibling(OnnxExporter.DATA_FILE)),
                    "the dequantized experts, written as float32, are the float checkpoint's");
            try (OrtDecoder ort = new OrtDecoder(packedOnnx)) {
                long[][] ids = plain.ids("input_ids");
                long[][] all = OnnxFamiliesTest.ones(ids.length, ids[0].length);
                LogitsDifference d = LogitsDifference.of(plain.logits("logits"),
                        ort.logits(ids, all, OnnxFamiliesTest.positions(ids)), all);
                System.out.println("gpt_oss_mxfp4 against the reference: " + d);
                assertTrue(d.value() < TOLERANCE, "gpt_oss_mxfp4 against the reference: " + d);
            }
        }
    }

    private static void apply(Change change, Path folder) throws IOException {
        switch (change) {
            case NO_SINKS -> OnnxMixtureOfExpertsTest.rewriteWeights(folder, (name, t) -> name.endsWith(".sinks")
                    ? Tensor.of(filled((int) t.numel(), -1e4f), t.shape().dims()) : t);
            case NO_CLAMP -> OnnxMixtureOfExpertsTest.rewriteConfig(folder, json -> json.put("swiglu_limit", 1e30));
            case HALVES -> OnnxMixtureOfExpertsTest.rewriteWeights(folder, (name, t) -> name.endsWith(".gate_up_proj")
                    || name.endsWith(".gate_up_proj_bias") ? halvesInterleaved(t) : t);
        }
    }

    /**
     * (..., 2I) with column 2i holding the original's column i and 2i + 1 its column I + i: the original's halves,
     * interleaved.
     */
    private static Tensor halvesInterleaved(Tensor t) {
        float[] values = t.toFloatArray();
        int columns = t.dim(-1);
        int half = columns / 2;
        float[] out = new float[values.length];
        for (int row = 0; row < values.length / columns; row++) {
            for (int i = 0; i < half; i++) {
                out[row * columns + 2 * i] = values[row * columns + i];
                out[row * columns + 2 * i + 1] = values[row * columns + half + i];
            }
        }
        return Tensor.of(out, t.shape().dims());
    }

    private static float[] filled(int n, float value) {
        float[] out = new float[n];
        Arrays.fill(out, value);
        return out;
    }
}
