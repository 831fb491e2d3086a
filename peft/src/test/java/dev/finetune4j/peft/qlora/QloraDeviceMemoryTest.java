package dev.finetune4j.peft.qlora;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.train.Schedule;
import dev.finetune4j.peft.train.SftTrainer;
import dev.finetune4j.peft.train.TokenizedDataset;
import dev.finetune4j.peft.train.TrainingConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * QLoRA's device memory is LoRA's less what NF4 saves on the frozen weights: each NF4 product dequantizes its
 * weight a block of rows at a time into a scratch block that is freed when the product is done, forward and
 * backward, so no dequantized weight outlives its product, nor exists whole (one kept per projection until the step
 * ends would cost what the bf16 weights cost). Measured with
 * the CUDA backend's allocator on {@code fakecuda:0} (core's test device, which computes nothing): exact tensor
 * bytes, as torch's max_memory_allocated.
 */
class QloraDeviceMemoryTest {
    private static final Device FAKE_CUDA = Device.parse("fakecuda:0");
    /** Values CudaMatmul dequantizes at a time, as float32 at most: the one block QLoRA may hold beyond LoRA. */
    private static final long NF4_BLOCK_BYTES = (1L << 22) * Float.BYTES;

    @Test
    void aQloraStepHoldsLorasPeakLessTheNf4SavingsAndNoDequantizedWeight() {
        long[] lora = step(false);
        long[] qlora = step(true);
        long savings = lora[1] - qlora[1];
        assertTrue(savings > 100L << 20, () -> "NF4 stores 14 projections in about a quarter of bf16's bytes: " + savings);
        assertTrue(qlora[0] <= lora[0] - savings + NF4_BLOCK_BYTES, () -> "QLoRA's step peaked at " + qlora[0]
                + " bytes, LoRA's at " + lora[0] + " with " + savings + " more bytes of weights");
    }

    /** {peak bytes of one BF16_MIXED LoRA step from the wrapped model on, bytes of the frozen weights}. */
    private static long[] step(boolean nf4) {
        ObjectNode c = new ObjectMapper().createObjectNode();
        // projections of 2 to 8 million values, so that a dequantized float32 copy of any of them is bigger than a block
        c.put("model_type", "llama").put("vocab_size", 256).put("hidden_size", 2048).put("intermediate_size", 4096)
                .put("num_hidden_layers", 2).put("num_attention_heads", 16).put("num_key_value_heads", 16)
                .put("max_position_embeddings", 64).put("rms_norm_eps", 1e-6).put("tie_word_embeddings", false);
        TensorScope weights = TensorScope.detached(FAKE_CUDA);
        try (LanguageModel base = AutoModel.newCausalLM(c, weights, (name, owner, placeholder) -> {
            String path = name.substring(0, name.lastIndexOf('.'));
            boolean quantized = nf4 && name.endsWith(".weight") && QloraInjector.quantizes(path, owner);
            return Tensor.zeros(weights, quantized ? DType.NF4 : DType.BF16, placeholder.shape());
        })) {
            long frozen = weights.liveBytes();
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(16).loraAlpha(32).loraDropout(0)
                    .targetModules("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj").build());
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(1).microBatchSize(2).learningRate(1e-4)
                    .schedule(Schedule.CONSTANT).shuffle(false).seed(0).logEverySteps(0)
                    .precision(Precision.BF16_MIXED).build();
            long[][] ids = new long[2][64];
            FAKE_CUDA.backend().resetPeak();
            SftTrainer.builder().model(model).config(cfg).trainData(TokenizedDataset.of(ids)).build().train();
            return new long[]{FAKE_CUDA.memory().peakBytes(), frozen};
        }
    }
}
