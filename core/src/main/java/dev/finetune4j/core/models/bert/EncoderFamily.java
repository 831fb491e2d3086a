package dev.finetune4j.core.models.bert;

import dev.finetune4j.core.autograd.Activations;

/**
 * Where BERT, RoBERTa and DistilBERT differ around one encoder: their Hugging Face module names, where each starts
 * its position ids, whether the attention's output is dropped out, and the head on the first token, as
 * transformers' {@code *ForSequenceClassification} classes lay them out.
 */
public enum EncoderFamily {
    /** {@code bert.encoder.layer.N}; the pooler (tanh) then {@code classifier}. */
    BERT("bert", "encoder", LayerNames.BERT, false, true,
            new Head("bert.pooler.dense", Activations.Kind.TANH, false, "classifier")),
    /**
     * {@code roberta.encoder.layer.N} (BERT's layers); positions after the pad id; the head's {@code dense} (tanh) and
     * {@code out_proj}, each after a dropout.
     */
    ROBERTA("roberta", "encoder", LayerNames.BERT, true, true,
            new Head("classifier.dense", Activations.Kind.TANH, true, "classifier.out_proj")),
    /**
     * {@code distilbert.transformer.layer.N}, no dropout on the attention's output; {@code pre_classifier} (ReLU),
     * dropout, {@code classifier}.
     */
    DISTILBERT("distilbert", "transformer", LayerNames.DISTILBERT, false, false,
            new Head("pre_classifier", Activations.Kind.RELU, false, "classifier"));

    private final String prefix;
    private final String stack;
    private final LayerNames layerNames;
    private final boolean positionsAfterPadding;
    private final boolean attentionOutputDropout;
    private final Head head;

    EncoderFamily(String prefix, String stack, LayerNames layerNames, boolean positionsAfterPadding,
                  boolean attentionOutputDropout, Head head) {
        this.prefix = prefix;
        this.stack = stack;
        this.layerNames = layerNames;
        this.positionsAfterPadding = positionsAfterPadding;
        this.attentionOutputDropout = attentionOutputDropout;
        this.head = head;
    }

    /**
     * transformers' {@code base_model_prefix}: the encoder's name in the classifier, absent in a base model's file.
     *
     * @return {@code bert}, {@code roberta} or {@code distilbert}
     */
    public String prefix() {
        return prefix;
    }

    /**
     * The module holding {@code layer.N} under the prefix.
     *
     * @return {@code encoder} or {@code transformer}
     */
    public String stack() {
        return stack;
    }

    /**
     * The modules of one layer.
     *
     * @return their paths under {@code layer.N}
     */
    public LayerNames layerNames() {
        return layerNames;
    }

    /**
     * Whether position ids count real tokens from {@code pad_token_id + 1} (RoBERTa's), else 0, 1, 2, ...
     *
     * @return true for RoBERTa and XLM-RoBERTa
     */
    public boolean positionsAfterPadding() {
        return positionsAfterPadding;
    }

    /**
     * Whether the attention's output projection is dropped out before it joins the residual stream.
     *
     * @return false for DistilBERT
     */
    public boolean attentionOutputDropout() {
        return attentionOutputDropout;
    }

    /**
     * The head on the first token's final state.
     *
     * @return its modules and activation
     */
    public Head head() {
        return head;
    }

    /**
     * The family of a model type.
     *
     * @throws IllegalArgumentException for a type that is none of BERT's family
     */
    static EncoderFamily of(String modelType) {
        return switch (modelType) {
            case "bert" -> BERT;
            case "roberta", "xlm-roberta" -> ROBERTA;
            case "distilbert" -> DISTILBERT;
            default -> throw new IllegalArgumentException("model_type '" + modelType + "' is not an encoder of BERT's "
                    + "family (bert, roberta, xlm-roberta, distilbert)");
        };
    }

    /**
     * One layer's modules, dotted paths under {@code layer.N}.
     *
     * @param query the query projection
     * @param key the key projection
     * @param value the value projection
     * @param attentionOutput the attention's output projection
     * @param attentionNorm the LayerNorm after the attention's residual sum
     * @param intermediate the MLP's first projection
     * @param output the MLP's second projection
     * @param outputNorm the LayerNorm after the MLP's residual sum
     */
    public record LayerNames(String query, String key, String value, String attentionOutput, String attentionNorm,
                      String intermediate, String output, String outputNorm) {
        static final LayerNames BERT = new LayerNames("attention.self.query", "attention.self.key",
                "attention.self.value", "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
                "output.dense", "output.LayerNorm");
        static final LayerNames DISTILBERT = new LayerNames("attention.q_lin", "attention.k_lin", "attention.v_lin",
                "attention.out_lin", "sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm");
    }

    /**
     * The head on the first token's final state: [dropout] {@code dense}, its activation, dropout, {@code output}
     * (the dropouts are the config's {@link EncoderConfig#classifierDropout()}).
     *
     * @param dense the hidden-to-hidden projection's path from the model's root
     * @param activation applied after it
     * @param dropoutBeforeDense whether the first token's state is dropped out before {@code dense} (RoBERTa's)
     * @param output the projection onto the labels' path from the model's root
     */
    public record Head(String dense, Activations.Kind activation, boolean dropoutBeforeDense, String output) {
    }
}
