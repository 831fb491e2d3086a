package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.models.ReferenceData;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Ten LoRA steps against transformers 5.17 + peft 0.21 + torch.optim.AdamW (float32, CPU): every loss within
 * 1e-5 and the final adapter within 1e-4 relative L2 norm per tensor.
 */
class TrajectoryFixtureTest {
    /** qwen3's base stores bf16 values as bf16: loaded as float32, as the torch references computed them. */
    private static final LoadOptions F32 = ReferenceData.f32(Device.cpu());

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen3"})
    void tenStepsReproduceTheReference(String arch) {
        Path dir = TrainTestSupport.resource(arch);
        JsonNode trajectory = TrainTestSupport.json(dir.resolve("trajectory.json"));
        JsonNode opt = trajectory.has("optimizer") ? trajectory.get("optimizer") : trajectory;
        long[][] inputIds = TrainTestSupport.longs2d(dir.resolve("batch.safetensors"), "input_ids");
        long[][] labels = TrainTestSupport.longs2d(dir.resolve("batch.safetensors"), "labels");
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(trajectory.get("steps").asInt())
                .microBatchSize(inputIds.length).learningRate(opt.get("lr").asDouble())
                .adamBetas(opt.get("betas").get(0).asDouble(), opt.get("betas").get(1).asDouble())
                .adamEpsilon(opt.get("eps").asDouble()).weightDecay(opt.get("weight_decay").asDouble())
                .maxGradNorm(trajectory.get("clip_grad_norm").asDouble()).schedule(Schedule.CONSTANT)
                .shuffle(false).seed(42).logEverySteps(0).build();
        try (LanguageModel base = AutoModel.loadCausalLM(dir.resolve("base"), F32)) {
            PeftModel model = Peft.loadTrainable(base, dir.resolve("adapter_init"));
            TrainResult result = SftTrainer.builder().model(model).config(cfg)
                    .trainData(TokenizedDataset.of(inputIds, labels)).build().train();

            JsonNode losses = trajectory.get("losses_before_step");
            JsonNode norms = trajectory.get("grad_norms_before_clipping");
            double worstLoss = 0;
            double worstNorm = 0;
            for (int i = 0; i < losses.size(); i++) {
                worstLoss = Math.max(worstLoss, Math.abs(result.lossHistory().get(i) - losses.get(i).asDouble()));
                worstNorm = Math.max(worstNorm, Math.abs(result.gradNormHistory().get(i) - norms.get(i).asDouble()));
            }
            Map<String, float[]> ours = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : model.trainableParameters().entrySet()) {
                ours.put(e.getKey(), e.getValue().toFloatArray());
            }
            Object[] worstWeights = TrainTestSupport.maxRelativeDifference(ours,
                    TrainTestSupport.adapterWeights(dir.resolve("adapter_final")));
            System.out.printf("%s: max |loss diff| %.3e, max |grad norm diff| %.3e, max relative adapter diff %.3e (%s)%n",
                    arch, worstLoss, worstNorm, (double) worstWeights[0], worstWeights[1]);
            assertEquals(losses.size(), result.lossHistory().size());
            assertTrue(worstLoss <= 1e-5, arch + ": largest loss difference " + worstLoss);
            assertTrue((double) worstWeights[0] <= 1e-4, arch + ": adapter differs by " + worstWeights[0] + " at " + worstWeights[1]);
        }
    }
}
