package dev.finetune4j.onnx;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.onnx.proto.OnnxProto.ModelProto;
import dev.finetune4j.onnx.proto.OnnxProto.TensorShapeProto;
import dev.finetune4j.onnx.proto.OnnxProto.ValueInfoProto;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static dev.finetune4j.onnx.OnnxExporterTest.TOLERANCE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Gemma 4's language model ({@code gemma4_text}: sliding layers of 2 key/value heads of 8, full layers of 1 head of 16
 * whose values are their keys' projection, the last 2 layers sharing layers 0's and 1's keys and values with
 * double-wide MLPs, per-layer inputs of 8, layer scalars, "proportional" rotary on the full layers, soft-capped logits)
 * exported and run in ONNX Runtime: the logits of transformers' reference (tools/reference/transformers_families.py)
 * over a full pass, a right- and a left-padded batch, a pass on a past, token by token on the presents and greedy
 * decoding, within {@value OnnxExporterTest#TOLERANCE}. The kv-shared layers read their sources' presents, past
 * included, so the passes on a past check that they attend over the cached keys too. A detail changed in the fixture
 * (per-layer inputs zeroed, layer scalars 1, every pair of the full layers turning, no soft cap) misses the reference
 * by far more than the tolerance while the export gives finetune4j's logits for it; the values' projection scaled by
 * 10 still gives the reference, as v_norm divides the scale out.
 */
class OnnxGemma4Test {

    @ParameterizedTest
    @ValueSource(strings = {"gemma4_text", "gemma4_text_moe"})
    void onnxRuntimeComputesTheReferenceLogitsWithAndWithoutTheCache(String family, @TempDir Path tmp) throws Exception {
        OnnxFamiliesTest.assertExportFollowsTheReference(family, tmp, (model, onnx) -> { });
    }

    /**
     * Only layers 0 and 1 have a cache: the sliding layer 0's keys and values of 2 heads of 8, the full layer 1's of 1
     * head of 16; the kv-shared layers 2 and 3 declare no past and no present.
     */
    @Test
    void theCacheHoldsEachLayersOwnHeadsAndNoneForTheKvSharedLayers(@TempDir Path tmp) throws Exception {
        CoreFixture fixture = CoreFixture.copy("references/gemma4_text", tmp.resolve("gemma4_text"));
        Path onnx;
        try (LanguageModel model = AutoModel.loadCausalLM(fixture.folder())) {
            onnx = OnnxExporter.export(model, tmp.resolve("onnx"));
        }
        ModelProto proto;
        try (InputStream in = Files.newInputStream(onnx)) {
            proto = ModelProto.parseFrom(in);
        }
        Map<String, String> caches = new TreeMap<>();
        for (List<ValueInfoProto> declared : List.of(proto.getGraph().getInputList(), proto.getGraph().getOutputList())) {
            for (ValueInfoProto v : declared) {
                if (v.getName().startsWith("past_key_values.") || v.getName().startsWith("present.")) {
                    List<TensorShapeProto.Dimension> dims = v.getType().getTensorType().getShape().getDimList();
                    caches.put(v.getName(), dims.get(1).getDimValue() + "x" + dims.get(3).getDimValue());
                }
            }
        }
        Map<String, String> expected = new TreeMap<>();
        for (String kind : List.of("key", "value")) {
            expected.put("past_key_values.0." + kind, "2x8");
            expected.put("present.0." + kind, "2x8");
            expected.put("past_key_values.1." + kind, "1x16");
            expected.put("present.1." + kind, "1x16");
        }
        assertEquals(expected, caches, "the declared caches: heads x head width");
    }

    /** One of Gemma 4's details, changed in a fixture's files. */
    enum Change {
        /** embed_tokens_per_layer and per_layer_model_projection zero: every per-layer input 0. */
        NO_PER_LAYER_INPUTS("gemma4_text", folder -> OnnxMixtureOfExpertsTest.rewriteWeights(folder, (name, t) ->
                name.equals("model.embed_tokens_per_layer.weight")
                        || name.equals("model.per_layer_model_projection.weight") ? scaled(t, 0f) : t)),
        /** Every layer_scalar 1 (the fixture's are drawn in [0.6, 1.4]). */
        LAYER_SCALARS_ONE("gemma4_text", folder -> OnnxMixtureOfExpertsTest.rewriteWeights(folder, (name, t) ->
                name.endsWith(".layer_scalar") ? Tensor.of(new float[]{1f}, t.shape().dims()) : t)),
        /** The full layers' partial_rotary_factor 1: every pair of their heads turning. */
        WHOLE_FULL_ROTARY("gemma4_text", folder -> OnnxMixtureOfExpertsTest.rewriteConfig(folder, json ->
                ((ObjectNode) json.get("rope_parameters").get("full_attention")).put("partial_rotary_factor", 1.0))),
        /** final_logit_softcapping null: the logits not capped. */
        NO_SOFT_CAP("gemma4_text", folder -> OnnxMixtureOfExpertsTest.rewriteConfig(folder, json ->
                json.putNull("final_logit_softcapping"))),
        /** Every router.per_expert_scale 1 (the fixture's are drawn in [0.5, 1.5]). */
        NO_PER_EXPERT_SCALE("gemma4_text_moe", folder -> OnnxMixtureOfExpertsTest.rewriteWeights(folder, (name, t) ->
                name.endsWith(".router.per_expert_scale") ? scaled(t, 0f, 1f) : t)),
        /** Every router.scale 1: the router reading the stream's plain RMS norm. */
        NO_ROUTER_SCALE("gemma4_text_moe", folder -> OnnxMixtureOfExpertsTest.rewriteWeights(folder, (name, t) ->
                name.endsWith(".router.scale") ? scaled(t, 0f, 1f) : t)),
        /** Each expert's gate_up_proj with its gate and up rows exchanged: a graph that read the halves the wrong way. */
        SWAPPED_EXPERT_HALVES("gemma4_text_moe", folder -> OnnxMixtureOfExpertsTest.rewriteWeights(folder, (name, t) ->
                name.endsWith(".experts.gate_up_proj") ? halvesSwapped(t) : t));

        private final String family;
        private final FolderEdit edit;

        Change(String family, FolderEdit edit) {
            this.family = family;
            this.edit = edit;
        }
    }

    /** A change to a model folder's files. */
    interface FolderEdit {
        void apply(Path folder) throws IOException;
    }

    @ParameterizedTest
    @EnumSource(Change.class)
    void aChangedDetailMissesTheReferenceAndTheExportFollowsIt(Change change, @TempDir Path tmp) throws Exception {
        CoreFixture fixture = CoreFixture.copy("references/" + change.family, tmp.resolve(change.family));
        change.edit.apply(fixture.folder());
        OnnxFamiliesTest.assertExportFollowsTheModelAndMissesTheReference(fixture, change.family + " with " + change, tmp);
    }

    /**
     * Every value projection (v_proj, and k_proj where a full layer's values are its keys' projection) times 10: v_norm
     * divides each value head by its RMS, and the key norm each key head, so the logits stay the reference's; a graph
     * without v_norm would give values 10 times as large.
     */
    @Test
    void valuesScaledTenfoldKeepTheReferenceLogitsThroughVNorm(@TempDir Path tmp) throws Exception {
        CoreFixture fixture = CoreFixture.copy("references/gemma4_text", tmp.resolve("gemma4_text"));
        OnnxMixtureOfExpertsTest.rewriteWeights(fixture.folder(), (name, t) ->
                name.endsWith(".v_proj.weight") || name.equals("model.layers.1.self_attn.k_proj.weight")
                        ? scaled(t, 10f) : t);
        OnnxFamiliesTest.Distances d = OnnxFamiliesTest.exportDistances(fixture, tmp);
        System.out.println("gemma4_text with values scaled by 10: against finetune4j " + d.toModel()
                + "; against the reference " + d.toReference());
        assertTrue(d.toModel().value() < TOLERANCE, "values scaled by 10 against finetune4j: " + d.toModel());
        assertTrue(d.toReference().value() < TOLERANCE, "values scaled by 10 against the reference: " + d.toReference());
    }

    private static Tensor scaled(Tensor t, float factor) {
        return scaled(t, factor, 0f);
    }

    /** Each value times {@code factor}, plus {@code offset}. */
    private static Tensor scaled(Tensor t, float factor, float offset) {
        float[] values = t.toFloatArray();
        for (int i = 0; i < values.length; i++) {
            values[i] = values[i] * factor + offset;
        }
        return Tensor.of(values, t.shape().dims());
    }

    /** (E, 2I, C) with each expert's first I rows and last I rows exchanged. */
    private static Tensor halvesSwapped(Tensor t) {
        float[] values = t.toFloatArray();
        int half = t.dim(1) / 2 * t.dim(2);
        float[] out = new float[values.length];
        for (int e = 0; e < t.dim(0); e++) {
            int start = e * 2 * half;
            System.arraycopy(values, start, out, start + half, half);
            System.arraycopy(values, start + half, out, start, half);
        }
        return Tensor.of(out, t.shape().dims());
    }
}
