package dev.finetune4j.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.distributed.Collective;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.train.SftTrainer;
import dev.finetune4j.peft.train.TokenizedDataset;
import dev.finetune4j.peft.train.TrainingConfig;
import org.apache.spark.SparkException;
import org.junit.jupiter.api.Test;

import java.io.Serializable;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Ranks as the tasks of a barrier stage on the tests' local Spark: they meet, sum, train as one run, and fail
 * together.
 */
class SparkDistributorTest {
    private static final Duration TIMEOUT = Duration.ofMinutes(1);

    /** What a rank saw: its place and the group's sum of every rank's values. */
    private record Seen(int rank, int worldSize, float[] sums) implements Serializable {
    }

    @Test
    void theTasksMeetAsOneGroupAndSumTheirValues() {
        List<Seen> seen = SparkDistributor.run(SharedSpark.get(), 2, TIMEOUT, rank -> {
            try (var scope = TensorScope.open()) {
                float own = rank.rank() + 1;
                Tensor values = Tensor.of(Device.cpu(), scope, new float[] {own, 10 * own}, Shape.of(2));
                rank.allReduceSum(List.of(values));
                return new Seen(rank.rank(), rank.worldSize(), values.toFloatArray());
            }
        });
        assertEquals(2, seen.size());
        for (int r = 0; r < 2; r++) {
            assertEquals(r, seen.get(r).rank(), "results in rank order");
            assertEquals(2, seen.get(r).worldSize());
            assertArrayEquals(new float[] {3, 30}, seen.get(r).sums());
        }
    }

    @Test
    void ranksOnSparkTrainTheAdapterOfOneRankWithTwiceTheAccumulation() {
        List<float[]> ranks = SparkDistributor.run(SharedSpark.get(), 2, TIMEOUT, rank -> trainedWeights(rank, 1));
        float[] alone = trainedWeights(Collective.single(), 2);
        assertArrayEquals(alone, ranks.get(0), "rank 0's adapter");
        assertArrayEquals(alone, ranks.get(1), "rank 1's adapter");
    }

    @Test
    void aFailingRankFailsTheRunWithItsMessage() {
        SparkException e = assertThrows(SparkException.class, () -> SparkDistributor.run(SharedSpark.get(), 2, TIMEOUT,
                rank -> {
                    if (rank.rank() == 1) {
                        throw new IllegalStateException("rank 1's data is missing");
                    }
                    rank.barrier();
                    return rank.rank();
                }));
        // Spark reports the first task to fail: rank 1 itself, or rank 0 that lost its connection to rank 1
        assertTrue(e.getMessage().contains("rank 1's data is missing")
                || e.getMessage().contains("lost its connection to rank 1"), e.getMessage());
    }

    @Test
    void impossibleGroupsAreRefusedBeforeAnyJob() {
        IllegalArgumentException none = SharedSpark.refusedBeforeAnyJob(IllegalArgumentException.class,
                () -> SparkDistributor.run(SharedSpark.get(), 0, TIMEOUT, rank -> rank.rank()));
        assertTrue(none.getMessage().contains("ranks must be from 1"), none.getMessage());
        IllegalArgumentException noTime = SharedSpark.refusedBeforeAnyJob(IllegalArgumentException.class,
                () -> SparkDistributor.run(SharedSpark.get(), 2, Duration.ZERO, rank -> rank.rank()));
        assertTrue(noTime.getMessage().contains("timeout must be positive"), noTime.getMessage());
    }

    /**
     * Two SFT steps of LoRA on a random LLaMA (2 layers, hidden 32, seed 5) over 8 random sequences in micro-batches
     * of 2: the trained adapter's weights, one after the other.
     */
    private static float[] trainedWeights(Collective rank, int accumulation) {
        ObjectNode config = new ObjectMapper().createObjectNode();
        config.put("model_type", "llama").put("vocab_size", 64).put("hidden_size", 32).put("intermediate_size", 64)
                .put("num_hidden_layers", 2).put("num_attention_heads", 4).put("num_key_value_heads", 2)
                .put("max_position_embeddings", 32).put("rms_norm_eps", 1e-6).put("rope_theta", 10000.0)
                .put("hidden_act", "silu").put("tie_word_embeddings", false);
        try (LanguageModel base = AutoModel.newCausalLM(config, TensorScope.detached(Device.cpu()))) {
            StateDicts.initNormal(base, 0.1, new SplittableRandom(5));
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).targetModules("q_proj", "v_proj")
                    .loraDropout(0).build());
            SplittableRandom tokens = new SplittableRandom(7);
            long[][] ids = new long[8][];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = tokens.longs(10, 0, 64).toArray();
            }
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(2).microBatchSize(2)
                    .gradientAccumulationSteps(accumulation).learningRate(1e-2).seed(3).logEverySteps(0).build();
            SftTrainer.builder().model(model).config(cfg).trainData(TokenizedDataset.of(ids)).collective(rank)
                    .build().train();
            return model.trainableParameters().values().stream().map(Tensor::toFloatArray)
                    .reduce(new float[0], SparkDistributorTest::concat);
        }
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
