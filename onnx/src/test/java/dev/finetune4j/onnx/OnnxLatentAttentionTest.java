package dev.finetune4j.onnx;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.models.decoder.LatentAttentionConfig;
import dev.finetune4j.onnx.proto.OnnxProto.ModelProto;
import dev.finetune4j.onnx.proto.OnnxProto.TensorShapeProto;
import dev.finetune4j.onnx.proto.OnnxProto.ValueInfoProto;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static dev.finetune4j.onnx.OnnxExporterTest.TOLERANCE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The latent attention of DeepSeek-V3 (with and without the queries' low-rank path: deepseek_v3 and deepseek_v3_lite,
 * the latter with biases, rotary halves and no YaRN), DeepSeek-V2 (adjacent rotary pairs, YaRN whose mscale moves to
 * the softmax, group-limited softmax routing; deepseek_v2_lite without q_lora_rank or groups) and Mistral 4 (YaRN, the
 * query temperature, stacked experts) exported and run in ONNX Runtime: the logits of transformers' references
 * (tools/reference/transformers_families.py) over a full pass, a right- and a left-padded batch, a pass on a past,
 * token by token on the presents and greedy decoding, within {@value OnnxExporterTest#TOLERANCE}; the cache holds keys
 * of qk_head_dim and values of v_head_dim per head. A config changed in one detail the graph must follow (rotary
 * pairs flipped, the softmax's mscale dropped, the temperature or the expert groups dropped) misses the reference by
 * far more than the tolerance while its export gives finetune4j's logits for it.
 */
class OnnxLatentAttentionTest {

    @ParameterizedTest
    @ValueSource(strings = {"deepseek_v3", "deepseek_v3_lite", "deepseek_v2", "deepseek_v2_lite", "mistral4"})
    void onnxRuntimeComputesTheReferenceLogitsWithAndWithoutTheCache(String family, @TempDir Path tmp) throws Exception {
        OnnxFamiliesTest.assertExportFollowsTheReference(family, tmp, (model, onnx) -> assertPastWidths(onnx,
                model.spec().numKeyValueHeads(), ((DecoderModel) model).config().latentAttention()));
    }

    /** One detail of a fixture's config that the graph must follow. */
    enum Change {
        /** rope_interleave flipped: the rope part rotated in halves where the model rotates adjacent pairs, or back. */
        FLIPPED_ROPE_INTERLEAVE(json -> json.put("rope_interleave", !json.path("rope_interleave").asBoolean(true))),
        /** mscale_all_dim 0: the softmax scaled by qk_head_dim^-0.5 alone, YaRN's mscale moved onto cos and sin. */
        NO_SOFTMAX_MSCALE(json -> ((ObjectNode) json.get("rope_parameters")).put("mscale_all_dim", 0.0)),
        /** llama_4_scaling_beta 0: Mistral 4's queries without the temperature. */
        NO_QUERY_TEMPERATURE(json -> ((ObjectNode) json.get("rope_parameters")).put("llama_4_scaling_beta", 0.0)),
        /** DeepSeek-V2's topk_method greedy: each token's experts chosen among all, not within its best groups. */
        NO_EXPERT_GROUPS(json -> json.put("topk_method", "greedy"));

        private final Consumer<ObjectNode> edit;

        Change(Consumer<ObjectNode> edit) {
            this.edit = edit;
        }
    }

    @ParameterizedTest(name = "{0}, {1}")
    @CsvSource({"deepseek_v3, FLIPPED_ROPE_INTERLEAVE", "deepseek_v3_lite, FLIPPED_ROPE_INTERLEAVE",
            "deepseek_v2, NO_SOFTMAX_MSCALE", "deepseek_v3, NO_SOFTMAX_MSCALE", "mistral4, NO_QUERY_TEMPERATURE",
            "deepseek_v2, NO_EXPERT_GROUPS"})
    void aChangedDetailMissesTheReferenceAndTheExportFollowsIt(String family, Change change, @TempDir Path tmp)
            throws Exception {
        CoreFixture fixture = CoreFixture.copy("references/" + family, tmp.resolve(family));
        OnnxMixtureOfExpertsTest.rewriteConfig(fixture.folder(), change.edit);
        OnnxFamiliesTest.assertExportFollowsTheModelAndMissesTheReference(fixture, family + " with " + change, tmp);
    }

    /** Every layer's past and present keys are (B, H, *, qk_head_dim), its values (B, H, *, v_head_dim). */
    private static void assertPastWidths(Path onnx, int heads, LatentAttentionConfig sizes) throws Exception {
        ModelProto proto;
        try (InputStream in = Files.newInputStream(onnx)) {
            proto = ModelProto.parseFrom(in);
        }
        List<ValueInfoProto> declared = new ArrayList<>(proto.getGraph().getInputList());
        declared.addAll(proto.getGraph().getOutputList());
        List<ValueInfoProto> caches = declared.stream().filter(v -> v.getName().startsWith("past_key_values.")
                || v.getName().startsWith("present.")).toList();
        assertFalse(caches.isEmpty(), "the graph declares its cache");
        for (ValueInfoProto cache : caches) {
            List<TensorShapeProto.Dimension> dims = cache.getType().getTensorType().getShape().getDimList();
            int width = cache.getName().endsWith(".key") ? sizes.qkHeadDim() : sizes.vHeadDim();
            assertEquals(heads, dims.get(1).getDimValue(), cache.getName() + "'s heads");
            assertEquals(width, dims.get(3).getDimValue(), cache.getName() + "'s head width");
        }
    }
}
