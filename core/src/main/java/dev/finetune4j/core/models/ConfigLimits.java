package dev.finetune4j.core.models;

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
    /** BERT's {@code type_vocab_size} and {@code num_labels}. */
    public static final int SMALL_TABLE = 1 << 20;

    private ConfigLimits() {
    }
}
