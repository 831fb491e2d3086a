package dev.finetune4j.onnx;

import dev.finetune4j.core.models.bert.EncoderClassifier;
import dev.finetune4j.core.models.bert.EncoderConfig;
import dev.finetune4j.core.models.bert.EncoderFamily;

import java.io.IOException;
import java.util.List;

import static dev.finetune4j.onnx.GraphBuilder.BOOL;
import static dev.finetune4j.onnx.GraphBuilder.FLOAT;
import static dev.finetune4j.onnx.GraphBuilder.INT64;
import static dev.finetune4j.onnx.GraphBuilder.intAttr;
import static dev.finetune4j.onnx.GraphBuilder.intsAttr;
import static dev.finetune4j.onnx.TransformerGraph.ATTENTION_MASK;
import static dev.finetune4j.onnx.TransformerGraph.BATCH;
import static dev.finetune4j.onnx.TransformerGraph.INPUT_IDS;
import static dev.finetune4j.onnx.TransformerGraph.LOGITS;
import static dev.finetune4j.onnx.TransformerGraph.SEQUENCE;

/**
 * The graph of an encoder classifier of BERT's family ({@link EncoderClassifier}: BERT, RoBERTa, XLM-RoBERTa,
 * DistilBERT), node for node what it computes in eval mode: word, token-type and position embeddings and their
 * LayerNorm, post-norm layers whose attention skips padded keys, and the family's head on the first token.
 *
 * <p>Inputs and output as Optimum's text-classification export: {@code input_ids} and {@code attention_mask} int64
 * (batch_size, sequence_length), {@code token_type_ids} int64 (batch_size, sequence_length) for BERT only (Optimum's
 * RoBERTa, XLM-RoBERTa and DistilBERT configs leave it out: RoBERTa adds token type 0's row, DistilBERT has no such
 * table), and {@code logits} float32 (batch_size, num_labels). RoBERTa's position ids are computed from
 * {@code input_ids} as transformers' {@code create_position_ids_from_input_ids} does: the pad id sits at
 * {@code pad_token_id}, every other token at {@code pad_token_id} plus the count of non-pad tokens up to it.
 */
final class EncoderGraph {
    static final String TOKEN_TYPE_IDS = "token_type_ids";

    private final EncoderClassifier classifier;
    private final EncoderConfig c;
    private final GraphBuilder g;
    private final LayerOps ops;
    private final StateDictWeights w;
    private final EncoderFamily family;
    private final EncoderFamily.LayerNames names;
    private final String prefix;
    private final int headDim;

    private EncoderGraph(EncoderClassifier classifier, GraphBuilder g) {
        this.classifier = classifier;
        this.c = classifier.encoderConfig();
        this.g = g;
        this.ops = new LayerOps(g);
        this.w = new StateDictWeights(classifier.stateDict(), g);
        this.family = classifier.family();
        this.names = family.layerNames();
        this.prefix = family.prefix() + ".";
        this.headDim = c.hiddenSize() / c.numAttentionHeads();
    }

    /** Builds the whole graph into {@code g} from {@code classifier}'s config and weights. */
    static void build(EncoderClassifier classifier, GraphBuilder g) throws IOException {
        new EncoderGraph(classifier, g).build();
    }

    private void build() throws IOException {
        boolean tokenTypes = c.modelType().equals("bert"); // as Optimum: the other families' configs leave it out
        g.input(INPUT_IDS, INT64, BATCH, SEQUENCE);
        g.input(ATTENTION_MASK, INT64, BATCH, SEQUENCE);
        if (tokenTypes) {
            g.input(TOKEN_TYPE_IDS, INT64, BATCH, SEQUENCE);
        }
        g.output(LOGITS, FLOAT, BATCH, classifier.numLabels());
        // bool (B, 1, 1, S): whether key j is a real token, for every head and query
        String realKeys = g.op("Unsqueeze", List.of(g.op("Cast", List.of(ATTENTION_MASK), intAttr("to", BOOL)),
                g.ints(1, 2)));
        String x = embeddings(tokenTypes);
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            x = layer(prefix + family.stack() + ".layer." + i + ".", x, realKeys);
        }
        String first = g.op("Gather", List.of(x, g.scalar(0L)), intAttr("axis", 1));            // (B, C)
        EncoderFamily.Head head = family.head();
        String hidden = ops.activation(head.activation(), linear(head.dense(), first));
        g.opInto(LOGITS, "Identity", List.of(linear(head.output(), hidden)));
        w.requireAllUsed();
    }

    /**
     * (B, S, C): word + token type + position embeddings, in transformers' order of additions, then LayerNorm.
     * Without a {@code token_type_ids} input a token-type table adds its row 0, as transformers does when none is given.
     */
    private String embeddings(boolean tokenTypes) throws IOException {
        String p = prefix + "embeddings.";
        String x = ops.embedding(w.asStored(p + "word_embeddings.weight"), INPUT_IDS);
        if (c.typeVocabSize() > 0) {
            String types = tokenTypes ? TOKEN_TYPE_IDS : g.scalar(0L);
            x = g.op("Add", List.of(x, ops.embedding(w.asStored(p + "token_type_embeddings.weight"), types)));
        }
        String positions = ops.embedding(w.asStored(p + "position_embeddings.weight"), positionIds());
        return layerNorm(g.op("Add", List.of(x, positions)), p + "LayerNorm");
    }

    /** RoBERTa's (B, S) from the pad id (see the class comment); else (S) 0, 1, ..., S - 1, broadcast over rows. */
    private String positionIds() {
        if (!family.positionsAfterPadding()) {
            String length = g.op("Squeeze", List.of(g.op("Shape", List.of(INPUT_IDS), intAttr("start", 1),
                    intAttr("end", 2)), g.ints(0)));
            return g.op("Range", List.of(g.scalar(0L), length, g.scalar(1L)));
        }
        String pad = g.scalar((long) c.padTokenId().orElseThrow());
        String notPad = g.op("Cast", List.of(g.op("Not", List.of(g.op("Equal", List.of(INPUT_IDS, pad))))),
                intAttr("to", INT64));
        String counted = g.op("Mul", List.of(g.op("CumSum", List.of(notPad, g.scalar(1L))), notPad));
        return g.op("Add", List.of(counted, pad));
    }

    /** x (B, S, C) -> (B, S, C): attention over the real keys, then the MLP, each added and normalised after. */
    private String layer(String p, String x, String realKeys) throws IOException {
        String q = heads(linear(p + names.query(), x));
        String k = heads(linear(p + names.key(), x));
        String v = heads(linear(p + names.value(), x));
        String kT = g.op("Transpose", List.of(k), intsAttr("perm", 0, 1, 3, 2));
        String scores = g.op("Mul", List.of(g.op("MatMul", List.of(q, kT)), g.scalar((float) (1 / Math.sqrt(headDim)))));
        String masked = g.op("Where", List.of(realKeys, scores, g.scalar(TransformerGraph.MASKED)));   // (B, H, S, S)
        String probs = g.op("Softmax", List.of(masked), intAttr("axis", -1));
        String context = g.op("Reshape", List.of(ops.transposeHeads(g.op("MatMul", List.of(probs, v))),
                g.ints(0, 0, c.hiddenSize())));                                                          // (B, S, C)
        String h = layerNorm(g.op("Add", List.of(linear(p + names.attentionOutput(), context), x)), p + names.attentionNorm());
        String inner = ops.activation(c.hiddenAct(), linear(p + names.intermediate(), h));
        return layerNorm(g.op("Add", List.of(linear(p + names.output(), inner), h)), p + names.outputNorm());
    }

    /** (B, S, H*D) -> (B, H, S, D). */
    private String heads(String x) {
        return ops.transposeHeads(g.op("Reshape", List.of(x, g.ints(0, 0, c.numAttentionHeads(), headDim))));
    }

    private String layerNorm(String x, String module) throws IOException {
        return ops.layerNorm(x, w.asStored(module + ".weight"), w.asStored(module + ".bias"), c.layerNormEps());
    }

    private String linear(String module, String x) throws IOException {
        return ops.linear(x, w.linear(module + ".weight"), w.asStored(module + ".bias"));
    }
}
