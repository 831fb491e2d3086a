package dev.finetune4j.onnx;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.models.decoder.MoeConfig;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.onnx.proto.OnnxProto.GraphProto;
import dev.finetune4j.onnx.proto.OnnxProto.ModelProto;
import dev.finetune4j.onnx.proto.OnnxProto.NodeProto;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The mixtures of experts' exports beyond {@link OnnxFamiliesTest}'s reference logits: a routing changed in one detail
 * (two experts' router rows swapped, so that their tokens meet the other expert; the top-k weights renormalised where
 * the family does not, or not where it does; GLM-4.5's groups or the selection bias dropped) misses the reference by
 * far more than the tolerance, so a graph that routed that way would fail there, while the export of the changed model
 * gives finetune4j's logits for it, so the graph follows each switch instead of one fixture. The export holds each
 * weight once and hands each expert its tokens alone, not every token to every expert.
 */
class OnnxMixtureOfExpertsTest {

    /** One detail of a fixture's routing, changed in its files. */
    enum Change {
        /** Rows 0 and 1 of every router swapped: experts 0 and 1 receive each other's tokens. */
        SWAPPED_ROUTER_ROWS,
        /** norm_topk_prob flipped: the k chosen weights renormalised or not (softmax before or after the top-k). */
        FLIPPED_RENORMALISATION,
        /** n_group and topk_group 1: every expert within reach, not only those of the token's best groups. */
        NO_GROUPS,
        /** Every e_score_correction_bias zero: the experts picked by their scores alone. */
        NO_SELECTION_BIAS
    }

    @ParameterizedTest(name = "{0}, {1}")
    @CsvSource({"mixtral, SWAPPED_ROUTER_ROWS", "qwen3_moe, FLIPPED_RENORMALISATION", "olmoe, FLIPPED_RENORMALISATION",
            "qwen2_moe, SWAPPED_ROUTER_ROWS", "granitemoe, SWAPPED_ROUTER_ROWS", "granitemoeshared, SWAPPED_ROUTER_ROWS",
            "glm4_moe, NO_GROUPS", "glm4_moe, NO_SELECTION_BIAS", "glm4_moe, FLIPPED_RENORMALISATION",
            "ernie4_5_moe, NO_SELECTION_BIAS"})
    void aChangedRoutingMissesTheReferenceAndTheExportFollowsIt(String family, Change change, @TempDir Path tmp)
            throws Exception {
        CoreFixture fixture = CoreFixture.copy("references/" + family, tmp.resolve(family));
        apply(change, fixture.folder());
        OnnxFamiliesTest.assertExportFollowsTheModelAndMissesTheReference(fixture, family + " with " + change, tmp);
    }

    /**
     * The weights file holds each weight once as float32 (Granite's and gpt-oss's stacked experts cut into one slice
     * per expert, the same bytes), and each sparse layer runs its experts in a Loop body of its own, where one Split
     * hands each expert its tokens alone, which its own matrices multiply (never every token by every expert's).
     */
    @ParameterizedTest
    @ValueSource(strings = {"qwen3_moe", "granitemoe", "glm4_moe", "gpt_oss"})
    void theExportHoldsEachWeightOnceAndSplitsTheTokensAmongTheExperts(String family, @TempDir Path tmp) throws Exception {
        CoreFixture fixture = CoreFixture.copy("references/" + family, tmp.resolve(family));
        try (LanguageModel model = AutoModel.loadCausalLM(fixture.folder())) {
            Path file = OnnxExporter.export(model, tmp.resolve("onnx"));
            long weights = model.stateDict().values().stream().mapToLong(Tensor::numel).sum();
            // every tensor is below 1 MiB, so none is aligned with padding before it
            assertEquals(4 * weights, Files.size(file.resolveSibling(OnnxExporter.DATA_FILE)), "float32 bytes of each weight, once");

            MoeConfig moe = ((DecoderModel) model).config().moe();
            long sparseLayers = IntStream.range(0, model.spec().numLayers()).filter(moe::isSparse).count();
            ModelProto proto;
            try (InputStream in = Files.newInputStream(file)) {
                proto = ModelProto.parseFrom(in);
            }
            List<GraphProto> bodies = proto.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Loop"))
                    .map(n -> n.getAttribute(0).getG()).toList();
            assertEquals(sparseLayers, bodies.size(), "one Loop per sparse layer");
            for (GraphProto body : bodies) {
                List<NodeProto> splits = body.getNodeList().stream().filter(n -> n.getOpType().equals("Split")).toList();
                assertEquals(moe.numExperts(), splits.getFirst().getOutputCount(), "one group of tokens per expert");
                Set<String> groups = Set.copyOf(splits.getFirst().getOutputList());
                long expertProducts = body.getNodeList().stream().filter(n -> n.getOpType().equals("MatMul")
                        && n.getInput(1).contains(".experts.")).count();
                long onGroups = body.getNodeList().stream().filter(n -> n.getOpType().equals("MatMul")
                        && groups.contains(n.getInput(0))).count();
                // Granite's and gpt-oss's gate and up are one product (input_linear, gate_up_proj), the others' two
                long firstProducts = moe.naming() == MoeConfig.Naming.GRANITE
                        || moe.naming() == MoeConfig.Naming.GPT_OSS ? 1 : 2;
                assertEquals((firstProducts + 1) * moe.numExperts(), expertProducts, "each expert's products, once");
                assertEquals(firstProducts * moe.numExperts(), onGroups, "each expert's first products read its group");
            }
        }
    }

    private static void apply(Change change, Path folder) throws IOException {
        switch (change) {
            case SWAPPED_ROUTER_ROWS -> rewriteWeights(folder, (name, t) -> name.endsWith(".gate.weight")
                    || name.endsWith(".router.layer.weight") ? swapFirstRows(t) : t);
            case NO_SELECTION_BIAS -> rewriteWeights(folder, (name, t) -> name.endsWith("e_score_correction_bias")
                    ? Tensor.of(new float[(int) t.numel()], t.shape().dims()) : t);
            case FLIPPED_RENORMALISATION -> rewriteConfig(folder,
                    json -> json.put("norm_topk_prob", !json.path("norm_topk_prob").asBoolean()));
            case NO_GROUPS -> rewriteConfig(folder, json -> json.put("n_group", 1).put("topk_group", 1));
        }
    }

    /** (E, C) with rows 0 and 1 exchanged. */
    private static Tensor swapFirstRows(Tensor router) {
        float[] values = router.toFloatArray();
        int c = router.dim(1);
        float[] swapped = values.clone();
        System.arraycopy(values, 0, swapped, c, c);
        System.arraycopy(values, c, swapped, 0, c);
        return Tensor.of(swapped, router.shape().dims());
    }

    static void rewriteWeights(Path folder, BiFunction<String, Tensor, Tensor> change) throws IOException {
        Path file = folder.resolve("model.safetensors");
        Path changed = folder.resolve("changed.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(file); TensorScope scope = TensorScope.open()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String name : f.names()) {
                tensors.put(name, change.apply(name, f.tensor(name)));
            }
            SafetensorsWriter.write(changed, tensors, Map.of("format", "pt"));
        }
        Files.move(changed, file, StandardCopyOption.REPLACE_EXISTING);
    }

    static void rewriteConfig(Path folder, Consumer<ObjectNode> change) throws IOException {
        Path file = folder.resolve("config.json");
        ObjectNode json = (ObjectNode) new ObjectMapper().readTree(file.toFile());
        change.accept(json);
        Files.writeString(file, json.toString());
    }
}
