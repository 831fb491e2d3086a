package dev.finetune4j.samples.quickstart;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;

/**
 * The quickstart's base model: a tiny LLaMA-architecture decoder over the byte-level tokenizer's 259 ids, small
 * enough to pretrain and fine-tune on two CPU cores in minutes. The config is Hugging Face's {@code config.json}
 * for {@code LlamaForCausalLM}, so the saved folders load in transformers as they are.
 */
public final class BaseModelConfig {
    /** Residual width. */
    public static final int HIDDEN = 64;
    /** SwiGLU inner width. */
    public static final int INTERMEDIATE = 192;
    /** Transformer layers. */
    public static final int LAYERS = 3;
    /** Query heads (head dim 16) and key/value heads (grouped-query attention). */
    public static final int HEADS = 4;
    /** Key/value heads: two query heads share each. */
    public static final int KV_HEADS = 2;
    /** Longest sequence in bytes: a question and its answer fit with room to spare. */
    public static final int MAX_POSITIONS = 384;

    private BaseModelConfig() {
    }

    /**
     * The {@code config.json} content.
     *
     * @return a new JSON object of a LLaMA config.json
     */
    public static ObjectNode configJson() {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama")
                .put("vocab_size", ByteLevelTokenizer.VOCAB_SIZE)
                .put("hidden_size", HIDDEN)
                .put("intermediate_size", INTERMEDIATE)
                .put("num_hidden_layers", LAYERS)
                .put("num_attention_heads", HEADS)
                .put("num_key_value_heads", KV_HEADS)
                .put("max_position_embeddings", MAX_POSITIONS)
                .put("rms_norm_eps", 1e-5)
                .put("rope_theta", 10000.0)
                .put("hidden_act", "silu")
                .put("attention_bias", false)
                .put("mlp_bias", false)
                .put("tie_word_embeddings", false)
                .put("bos_token_id", ByteLevelTokenizer.BOS)
                .put("eos_token_id", ByteLevelTokenizer.EOS)
                .put("pad_token_id", ByteLevelTokenizer.PAD)
                .put("torch_dtype", "float32");
        return c;
    }
}
