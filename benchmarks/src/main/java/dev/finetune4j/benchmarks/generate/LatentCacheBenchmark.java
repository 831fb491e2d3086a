package dev.finetune4j.benchmarks.generate;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.benchmarks.Median;
import dev.finetune4j.benchmarks.memory.RandomCheckpoint;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.models.LogitsModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.nn.KvCache;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * The KV cache of multi-head latent attention at a DeepSeek-V2-Lite-like shape shrunk for a CPU (hidden 512, 4 dense
 * layers, 16 heads, kv_lora_rank 128, qk_rope_head_dim 32, qk_nope_head_dim 64, v_head_dim 64, MLP 1408, vocabulary
 * 8000; random weights written once by {@link RandomCheckpoint}, loaded as float32): the cache's bytes per position and
 * layer after a 256-token prompt, and the time of 64 greedy decoding steps for 4 prompts of 256 tokens at once, after
 * their prefill, as generated tokens per second; the median of five rounds after a warm-up. With {@code --lora-kv-b}
 * the model carries a random LoRA (r 8) on {@code kv_b_proj}, which decoding folds into the absorbed weight. With
 * {@code --device cuda:0} it runs there (loaded as bf16); {@code --kv-lora-rank 544} makes the cached latent 576 wide,
 * DeepSeek-V3's, past the CUDA kernels' 512, so that decoding takes the composed attention.
 *
 * <pre>{@code java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp ... \
 *     dev.finetune4j.benchmarks.generate.LatentCacheBenchmark [--lora-kv-b] [--device D] [--kv-lora-rank N] [dir]}</pre>
 */
public final class LatentCacheBenchmark {
    private static final int PROMPT = 256;
    private static final int NEW_TOKENS = 64;
    private static final int BATCH = 4;
    private static final int ROUNDS = 5;

    private LatentCacheBenchmark() {
    }

    /**
     * Runs the benchmark and prints one JSON line.
     *
     * @param args {@code --lora-kv-b} to adapt kv_b_proj, {@code --device D} (default cpu), {@code --kv-lora-rank N}
     *             (default 128), then optionally the model folder (written when missing)
     * @throws Exception when the model cannot be written or loaded
     */
    public static void main(String[] args) throws Exception {
        boolean lora = false;
        Device device = Device.cpu();
        int kvLoraRank = 128;
        Path dir = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--lora-kv-b" -> lora = true;
                case "--device" -> device = Device.parse(args[++i]);
                case "--kv-lora-rank" -> kvLoraRank = Integer.parseInt(args[++i]);
                default -> dir = Path.of(args[i]);
            }
        }
        if (dir == null) {
            dir = Path.of("target/deepseek-v2-lite-shape-" + kvLoraRank);
        }
        if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
            RandomCheckpoint.write(dir, deepseekV2LiteShape(kvLoraRank), 11);
        }
        long[][] prompts = new long[BATCH][PROMPT];
        for (int b = 0; b < BATCH; b++) {
            int row = b;
            Arrays.setAll(prompts[b], i -> 100 + (31L * i + 977L * row) % 7000);
        }
        LoadOptions options = LoadOptions.builder().dtype(device.isCpu() ? DType.F32 : DType.BF16).device(device).build();
        try (LanguageModel base = AutoModel.loadCausalLM(dir, options)) {
            LogitsModel model = lora ? Peft.wrap(base, LoraConfig.builder().r(8).loraAlpha(16)
                    .initLoraWeights(LoraInit.RANDOM).targetModules("kv_b_proj").build(), 3) : base;
            long bytesPerPosition = cacheBytesPerPositionAndLayer(base);
            decodeTokensPerSecond(model, prompts); // warm-up
            double[] tokensPerSecond = new double[ROUNDS];
            for (int round = 0; round < ROUNDS; round++) {
                tokensPerSecond[round] = decodeTokensPerSecond(model, prompts);
            }
            System.out.printf(Locale.ROOT, "{\"device\": \"%s\", \"kv_lora_rank\": %d, \"lora_on_kv_b_proj\": %b, "
                            + "\"cache_bytes_per_position_per_layer\": %d, \"decode_tokens_per_s\": %.1f, \"rounds\": %s}%n",
                    device, kvLoraRank, lora, bytesPerPosition, Median.of(tokensPerSecond),
                    Arrays.toString(tokensPerSecond));
        }
    }

    /** The cache's bytes divided by its positions and layers, after a prompt filled it exactly. */
    private static long cacheBytesPerPositionAndLayer(LanguageModel lm) {
        int layers = lm.spec().numLayers();
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            KvCache cache = KvCache.forGeneration(layers, PROMPT);
            lm.nextTokenLogits(new ModelInput(new long[][]{new long[PROMPT]}, null, null, null, cache));
            long bytes = 0;
            for (Tensor buffer : cache.buffers()) {
                bytes += buffer.numel() * buffer.dtype().byteSize();
            }
            return bytes / ((long) cache.capacity() * layers);
        }
    }

    /**
     * Reads the prompts into a cache with room for every position, then times {@link #NEW_TOKENS} greedy steps of one
     * token per row, each in a scope of its own: the batch's generated tokens per second of decoding alone.
     */
    private static double decodeTokensPerSecond(LogitsModel model, long[][] prompts) {
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            KvCache cache = KvCache.forGeneration(model.spec().numLayers(), PROMPT + NEW_TOKENS);
            long[][] next = argmax(model.nextTokenLogits(new ModelInput(prompts, null, null, null, cache)));
            long start = System.nanoTime();
            for (int i = 0; i < NEW_TOKENS; i++) {
                try (var step = TensorScope.open()) {
                    next = argmax(model.nextTokenLogits(new ModelInput(next, null, null, null, cache)));
                }
            }
            return BATCH * NEW_TOKENS / ((System.nanoTime() - start) / 1e9);
        }
    }

    /** Each row's most likely token, (B, 1), from logits (B, V). */
    private static long[][] argmax(Tensor logits) {
        float[] values = logits.toFloatArray();
        int vocab = logits.dim(1);
        long[][] tokens = new long[logits.dim(0)][1];
        for (int b = 0; b < tokens.length; b++) {
            for (int v = 1; v < vocab; v++) {
                if (values[b * vocab + v] > values[b * vocab + (int) tokens[b][0]]) {
                    tokens[b][0] = v;
                }
            }
        }
        return tokens;
    }

    /** DeepSeek-V2-Lite's attention (no query LoRA, latent rank {@code kvLoraRank}, 512 there) with every layer dense. */
    static ObjectNode deepseekV2LiteShape(int kvLoraRank) {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("model_type", "deepseek_v2");
        c.putArray("architectures").add("DeepseekV2ForCausalLM");
        c.put("hidden_size", 512);
        c.put("intermediate_size", 1408);
        c.put("num_hidden_layers", 4);
        c.put("num_attention_heads", 16);
        c.put("num_key_value_heads", 16);
        c.putNull("q_lora_rank");
        c.put("kv_lora_rank", kvLoraRank);
        c.put("qk_rope_head_dim", 32);
        c.put("qk_nope_head_dim", 64);
        c.put("qk_head_dim", 96);
        c.put("v_head_dim", 64);
        c.put("first_k_dense_replace", 4);
        c.put("n_routed_experts", 8);
        c.put("n_shared_experts", 2);
        c.put("num_experts_per_tok", 2);
        c.put("moe_intermediate_size", 256);
        c.put("vocab_size", 8000);
        c.put("max_position_embeddings", 2048);
        c.put("rms_norm_eps", 1e-6);
        c.put("rope_theta", 10000.0);
        c.put("hidden_act", "silu");
        c.put("tie_word_embeddings", false);
        return c;
    }
}
