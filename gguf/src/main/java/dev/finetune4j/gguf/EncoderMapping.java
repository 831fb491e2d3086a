package dev.finetune4j.gguf;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.models.bert.EncoderClassifier;
import dev.finetune4j.core.models.bert.EncoderConfig;
import dev.finetune4j.core.models.bert.EncoderFamily;

import java.util.ArrayList;
import java.util.List;

/**
 * A BERT, RoBERTa or XLM-RoBERTa sequence classifier as llama.cpp's {@code bert} architecture with its
 * classification head, which llama.cpp computes under rank pooling (the file's pooling type; {@code llama-embedding}
 * prints the scores): the first token's final state through {@code cls} and tanh, then {@code cls.output}. That is BERT's pooler and classifier, and
 * (XLM-)RoBERTa's {@code classifier.dense} and {@code out_proj}, so the file holds the whole classifier (llama.cpp's
 * converter drops BERT's pooler). DistilBERT's head applies ReLU where llama.cpp applies tanh (llama.cpp's rank pooling
 * has tanh for every {@code bert} file, GELU only for ModernBERT), and is refused.
 *
 * <p>llama.cpp adds token type 0's embedding to every token, so a BERT classifier of sentence pairs (type 1 after
 * the first {@code [SEP]}) scores pairs differently there. (XLM-)RoBERTa's positions start after its pad id: the file's
 * position table starts at that row, as the converter writes it, so that llama.cpp's positions 0, 1, ... read it.
 */
final class EncoderMapping implements ModelMapping {
    /** llama.cpp's {@code LLAMA_POOLING_TYPE_RANK}: the classification head on the first token. */
    static final int RANK_POOLING = 4;

    private final EncoderClassifier classifier;
    private final EncoderConfig config;
    private final EncoderFamily family;

    EncoderMapping(EncoderClassifier classifier) {
        this.classifier = classifier;
        this.config = classifier.encoderConfig();
        this.family = classifier.family();
        if (family == EncoderFamily.DISTILBERT) {
            throw new IllegalArgumentException("GGUF's bert architecture computes a classifier head with tanh, and "
                    + "DistilBERT's pre_classifier applies ReLU, so llama.cpp would score differently; export it to ONNX "
                    + "instead (OnnxExporter, finetune4j export-onnx)");
        }
        if (config.hiddenAct() != Activations.Kind.GELU_EXACT && config.hiddenAct() != Activations.Kind.GELU_TANH) {
            throw new IllegalArgumentException("GGUF's bert architecture computes GELU in its MLPs, not "
                    + config.hiddenAct() + " of this model; export it to ONNX instead (OnnxExporter)");
        }
    }

    @Override
    public String architecture() {
        return "bert";
    }

    @Override
    public void putHyperparameters(GgufMetadata meta) {
        meta.putUint32("bert.context_length", config.maxPositionEmbeddings() - positionOffset())
                .putUint32("bert.embedding_length", config.hiddenSize())
                .putUint32("bert.feed_forward_length", config.intermediateSize())
                .putUint32("bert.block_count", config.numHiddenLayers())
                .putUint32("bert.attention.head_count", config.numAttentionHeads())
                .putFloat32("bert.attention.layer_norm_epsilon", config.layerNormEps())
                .putBool("bert.attention.causal", false)
                .putUint32("bert.pooling_type", RANK_POOLING)
                .putStrings("bert.classifier.output_labels", classifier.classifierConfig().id2label())
                .putUint32("tokenizer.ggml.token_type_count", config.typeVocabSize());
    }

    /** The position table's first row that llama.cpp's position 0 reads: RoBERTa's pad id + 1, else 0. */
    private int positionOffset() {
        return family.positionsAfterPadding() ? config.padTokenId().orElseThrow() + 1 : 0;
    }

    @Override
    public ModelLayout layout() {
        return new ModelLayout(architecture(), config.numHiddenLayers(), config.numAttentionHeads(),
                config.numAttentionHeads(), false);
    }

    @Override
    public List<GgufTensor> tensors(GgufType type, boolean importanceMatrix) {
        return Placement.takeAll(classifier.stateDict(), placements(), type,
                layout().withImportanceMatrix(importanceMatrix));
    }

    @Override
    public List<Placement> placements() {
        String embeddings = family.prefix() + ".embeddings.";
        List<Placement> placements = new ArrayList<>();
        placements.add(Placement.plain(embeddings + "word_embeddings.weight", "token_embd.weight"));
        placements.add(Placement.plain(embeddings + "token_type_embeddings.weight", "token_types.weight"));
        int offset = positionOffset();
        placements.add(Placement.part(embeddings + "position_embeddings.weight", "position_embd.weight", offset,
                config.maxPositionEmbeddings() - offset));
        placements.addAll(Placement.weightAndBias(embeddings + "LayerNorm", "token_embd_norm", false));
        EncoderFamily.LayerNames names = family.layerNames();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            String hf = family.prefix() + "." + family.stack() + ".layer." + i + ".";
            String blk = "blk." + i + ".";
            placements.addAll(Placement.weightAndBias(hf + names.query(), blk + "attn_q", false));
            placements.addAll(Placement.weightAndBias(hf + names.key(), blk + "attn_k", false));
            placements.addAll(Placement.weightAndBias(hf + names.value(), blk + "attn_v", false));
            placements.addAll(Placement.weightAndBias(hf + names.attentionOutput(), blk + "attn_output", false));
            placements.addAll(Placement.weightAndBias(hf + names.attentionNorm(), blk + "attn_output_norm", false));
            placements.addAll(Placement.weightAndBias(hf + names.intermediate(), blk + "ffn_up", false));
            placements.addAll(Placement.weightAndBias(hf + names.output(), blk + "ffn_down", false));
            placements.addAll(Placement.weightAndBias(hf + names.outputNorm(), blk + "layer_output_norm", false));
        }
        placements.addAll(Placement.weightAndBias(family.head().dense(), "cls", false));
        placements.addAll(Placement.weightAndBias(family.head().output(), "cls.output", false));
        return placements;
    }
}
