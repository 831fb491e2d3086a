package dev.finetune4j.core.models;

import java.util.function.DoublePredicate;

/**
 * Upper bounds on the sizes a model config may claim, checked before anything is allocated. Each is far above
 * any released model (the largest open models have under 200 layers, hidden sizes under 32k, vocabularies under
 * 300k), yet low enough that a hostile config.json cannot ask for terabytes: sizes from files are claims, and
 * {@link AutoModel} also checks them against the bytes the safetensors files really hold.
 */
public final class ConfigLimits {
    /** {@code num_hidden_layers}, {@code n_layer}. */
    public static final int LAYERS = 1024;
    /** {@code hidden_size}, {@code n_embd}, {@code head_dim}. */
    public static final int HIDDEN = 1 << 17;
    /** {@code intermediate_size}, {@code n_inner}. */
    public static final int INTERMEDIATE = 1 << 20;
    /** {@code vocab_size}. */
    public static final int VOCAB = 1 << 22;
    /** {@code num_attention_heads}, {@code num_key_value_heads}. */
    public static final int HEADS = 4096;
    /** {@code max_position_embeddings}, {@code n_positions}. */
    public static final int POSITIONS = 1 << 24;
    /** A mixture of experts' {@code num_experts}, {@code num_local_experts} (the largest released have 512). */
    public static final int EXPERTS = 1 << 14;
    /**
     * The experts of all sparse layers together, each a module of its own (Qwen3-235B-A22B has 94 x 128 = 12,032,
     * DeepSeek-V3 58 x 256 = 14,848): a config cannot make the module tree itself exhaust memory.
     */
    public static final int TOTAL_EXPERTS = 1 << 16;
    /** BERT's {@code type_vocab_size} and {@code num_labels}. */
    public static final int SMALL_TABLE = 1 << 20;

    /**
     * Whether a norm epsilon ({@code rms_norm_eps}, {@code layer_norm_epsilon}, {@code layer_norm_eps}), read as a
     * double and stored as a float, is usable: 1e-50 rounds to 0 (a zero row divides by zero) and 1e300 to
     * Infinity, and a negative one takes the root of a negative number; each makes every logit NaN.
     */
    public static final DoublePredicate NORM_EPS = eps -> (float) eps > 0 && (float) eps < 1;
    /** {@link #NORM_EPS} in words, for messages. */
    public static final String NORM_EPS_RANGE = "in (0, 1) as a float32";

    private ConfigLimits() {
    }
}
