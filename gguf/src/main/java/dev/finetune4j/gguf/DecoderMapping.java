package dev.finetune4j.gguf;

import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.DecoderLayout;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.models.decoder.RopeConfig;
import dev.finetune4j.core.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntUnaryOperator;

/**
 * The decoder family in llama.cpp's terms: which GGUF architecture a {@link DecoderModel} is, its hyperparameter
 * keys, and its Hugging Face tensors under GGUF names ({@code blk.N.attn_q.weight} for
 * {@code model.layers.N.self_attn.q_proj.weight}), as llama.cpp's convert_hf_to_gguf.py maps them:
 * <ul>
 *   <li>{@code llama} and {@code mistral} become architecture {@code llama}, whose rotary embedding rotates
 *       adjacent pairs: the rows of q_proj and k_proj are permuted within each head from Hugging Face's halves
 *       layout to that order; Llama 3's rope scaling becomes the {@code rope_freqs.weight} tensor;</li>
 *   <li>{@code qwen2} and {@code qwen3} keep their names as architectures and their rows as they are (llama.cpp
 *       rotates halves for them), Qwen2's q/k/v biases and Qwen3's q/k norms included.</li>
 * </ul>
 * Every tensor of the model is taken exactly once: one left over (an adapter that was not merged) fails the export.
 * The same placements name a LoRA adapter's tensors ({@link LoraMapping}).
 */
final class DecoderMapping {
    private static final Logger LOG = LoggerFactory.getLogger(DecoderMapping.class);
    /** The model_type values exported, each with its GGUF architecture. */
    static final Map<String, String> ARCHITECTURES = Map.of("llama", "llama", "mistral", "llama", "qwen2", "qwen2",
            "qwen3", "qwen3");
    private static final String MERGE_HINT = "export the plain model: merge an adapter first with "
            + "PeftModel.mergeAndUnload() (the CLI's export-gguf --adapter does), or export the adapter alone as a "
            + "LoRA GGUF";

    private final DecoderModel model;
    private final DecoderConfig config;
    private final String architecture;

    DecoderMapping(DecoderModel model) {
        this.model = model;
        this.config = model.config();
        String type = config.modelType();
        if (model.layout() != DecoderLayout.CAUSAL_LM) {
            throw new IllegalArgumentException("the model is the language model of a vision-language checkpoint "
                    + "(model_type '" + model.spec().modelType() + "') without its vision tower; GGUF export writes "
                    + "text-only decoders: convert the whole checkpoint with llama.cpp's convert_hf_to_gguf.py");
        }
        this.architecture = ARCHITECTURES.get(type);
        if (architecture == null) {
            throw new IllegalArgumentException("GGUF export supports model_type " + supported() + ", not '" + type
                    + "'; save the model (merged) as a Hugging Face folder and convert it with llama.cpp's "
                    + "convert_hf_to_gguf.py");
        }
        refuseWhatGgufCannotSay();
    }

    private static String supported() {
        return String.join(", ", ARCHITECTURES.keySet().stream().sorted().toList());
    }

    /** Settings the architecture's GGUF keys cannot carry, which llama.cpp would silently compute otherwise. */
    private void refuseWhatGgufCannotSay() {
        String type = config.modelType();
        if (config.rotaryDim() != config.headDim()) {
            cannot("a partial rotary embedding (" + config.rotaryDim() + " of " + config.headDim() + " dimensions)");
        }
        String rope = config.rope().ropeType();
        Set<String> ropes = architecture.equals("llama") ? Set.of("default", "linear", "llama3") : Set.of("default", "linear");
        if (!ropes.contains(rope)) {
            cannot("rope_type '" + rope + "' (supported here: " + String.join(", ", ropes.stream().sorted().toList()) + ")");
        }
        if (config.mlpBias()) {
            cannot("MLP biases (mlp_bias)");
        }
        if (config.attentionBias() && !type.equals("qwen2")) {
            cannot("attention biases (attention_bias)");
        }
        if (config.finalLogitSoftcapping() != 0 || config.attnLogitSoftcapping() != 0) {
            cannot("soft caps");
        }
        if (Math.abs(config.attentionScale() * Math.sqrt(config.headDim()) - 1) > 1e-6) {
            cannot("an attention scale other than 1/sqrt(head_dim)");
        }
        boolean sliding = false;
        for (boolean s : config.slidingLayers()) {
            sliding |= s;
        }
        if (sliding && !architecture.equals("llama")) {
            cannot("sliding-window layers (use_sliding_window)");
        }
        if (sliding && config.slidingWindow() < config.maxPositionEmbeddings()) {
            // NOTE: llama.cpp's llama architecture has no sliding window (convert_hf_to_gguf.py drops Mistral's)
            LOG.warn("{}'s sliding window of {} tokens is not part of GGUF's llama architecture: llama.cpp attends to "
                    + "the whole context, which differs from this model on sequences longer than the window",
                    type, config.slidingWindow());
        }
    }

    private void cannot(String what) {
        throw new IllegalArgumentException("GGUF's " + architecture + " architecture cannot express " + what
                + " of this " + config.modelType() + " model, so llama.cpp would compute a different model; export "
                + "it to ONNX instead (OnnxExporter, finetune4j export-onnx)");
    }

    /** The GGUF architecture ({@code general.architecture}). */
    String architecture() {
        return architecture;
    }

    /** The architecture's hyperparameters, keyed {@code <arch>.*}. */
    void putHyperparameters(GgufMetadata meta) {
        String a = architecture + ".";
        if (architecture.equals("llama")) {
            meta.putUint32(a + "vocab_size", config.vocabSize());
        }
        meta.putUint32(a + "context_length", config.maxPositionEmbeddings())
                .putUint32(a + "embedding_length", config.hiddenSize())
                .putUint32(a + "block_count", config.numHiddenLayers())
                .putUint32(a + "feed_forward_length", config.intermediateSize())
                .putUint32(a + "attention.head_count", config.numAttentionHeads())
                .putUint32(a + "attention.head_count_kv", config.numKeyValueHeads())
                .putUint32(a + "attention.key_length", config.headDim())
                .putUint32(a + "attention.value_length", config.headDim())
                .putFloat32(a + "attention.layer_norm_rms_epsilon", config.rmsNormEps())
                .putFloat32(a + "rope.freq_base", config.rope().ropeTheta())
                .putUint32(a + "rope.dimension_count", config.rotaryDim());
        if (config.rope().ropeType().equals("linear")) {
            meta.putString(a + "rope.scaling.type", "linear").putFloat32(a + "rope.scaling.factor", config.rope().factor());
        }
    }

    /**
     * Where one Hugging Face weight goes.
     *
     * @param hfName   its name in the model's state dict
     * @param ggufName its GGUF name
     * @param rowOrder file row r is the weight's row {@code rowOrder(r)}; null keeps the order
     */
    record Placement(String hfName, String ggufName, IntUnaryOperator rowOrder) {
    }

    /** Every weight's placement, in llama.cpp's order (rope_freqs, computed, is not among them). */
    List<Placement> placements() {
        List<Placement> out = new ArrayList<>();
        out.add(new Placement("model.embed_tokens.weight", "token_embd.weight", null));
        boolean permute = architecture.equals("llama");
        IntUnaryOperator q = permute ? halvesToPairs(config.numAttentionHeads()) : null;
        IntUnaryOperator k = permute ? halvesToPairs(config.numKeyValueHeads()) : null;
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            String hf = "model.layers." + i + ".";
            String blk = "blk." + i + ".";
            out.add(new Placement(hf + "input_layernorm.weight", blk + "attn_norm.weight", null));
            out.add(new Placement(hf + "self_attn.q_proj.weight", blk + "attn_q.weight", q));
            out.add(new Placement(hf + "self_attn.k_proj.weight", blk + "attn_k.weight", k));
            out.add(new Placement(hf + "self_attn.v_proj.weight", blk + "attn_v.weight", null));
            if (config.attentionBias()) {
                for (String p : List.of("q", "k", "v")) {
                    out.add(new Placement(hf + "self_attn." + p + "_proj.bias", blk + "attn_" + p + ".bias", null));
                }
            }
            if (config.qkNorm()) {
                out.add(new Placement(hf + "self_attn.q_norm.weight", blk + "attn_q_norm.weight", null));
                out.add(new Placement(hf + "self_attn.k_norm.weight", blk + "attn_k_norm.weight", null));
            }
            out.add(new Placement(hf + "self_attn.o_proj.weight", blk + "attn_output.weight", null));
            out.add(new Placement(hf + "post_attention_layernorm.weight", blk + "ffn_norm.weight", null));
            out.add(new Placement(hf + "mlp.gate_proj.weight", blk + "ffn_gate.weight", null));
            out.add(new Placement(hf + "mlp.up_proj.weight", blk + "ffn_up.weight", null));
            out.add(new Placement(hf + "mlp.down_proj.weight", blk + "ffn_down.weight", null));
        }
        out.add(new Placement("model.norm.weight", "output_norm.weight", null));
        if (!config.tieWordEmbeddings()) {
            out.add(new Placement("lm_head.weight", "output.weight", null)); // absent: llama.cpp reuses token_embd
        }
        return out;
    }

    /** The tensors under their GGUF names, in llama.cpp's order, stored as {@code type} decides. */
    List<GgufTensor> tensors(GgufType type) {
        Map<String, Tensor> remaining = new LinkedHashMap<>(model.stateDict());
        List<GgufTensor> out = new ArrayList<>();
        if (config.rope().ropeType().equals("llama3")) {
            float[] factors = Llama3RopeFactors.of(config.rope(), config.headDim());
            out.add(new GgufTensor("rope_freqs.weight", new long[] {factors.length}, GgmlType.F32, TensorRows.of(factors)));
        }
        for (Placement p : placements()) {
            Tensor t = remaining.remove(p.hfName());
            if (t == null) {
                throw new IllegalArgumentException("the model has no tensor '" + p.hfName() + "', which GGUF's "
                        + p.ggufName() + " needs; " + MERGE_HINT);
            }
            out.add(tensor(p.ggufName(), t, p.rowOrder(), type));
        }
        if (!remaining.isEmpty()) {
            throw new IllegalArgumentException("the model holds " + remaining.size() + " tensors that GGUF's "
                    + architecture + " architecture has no place for, such as "
                    + remaining.keySet().stream().limit(5).toList() + "; " + MERGE_HINT);
        }
        return out;
    }

    /** {@code t} under {@code name}, its rows in {@code rowOrder} (null: as they are), stored as {@code type} decides. */
    static GgufTensor tensor(String name, Tensor t, IntUnaryOperator rowOrder, GgufType type) {
        long[] dims = TensorRows.ggmlDims(t);
        return new GgufTensor(name, dims, type.storageOf(name, dims),
                rowOrder == null ? TensorRows.of(t) : TensorRows.reordered(t, rowOrder));
    }

    /**
     * File row r of a q or k projection of {@code heads} heads of size D, for llama.cpp's rotation of adjacent pairs:
     * within each head, row 2i is Hugging Face's row i (the first half) and row 2i + 1 its row D/2 + i (the second
     * half), as convert_hf_to_gguf.py's {@code permute} reorders them.
     */
    private IntUnaryOperator halvesToPairs(int heads) {
        int d = config.headDim();
        return r -> {
            int head = r / d;
            int within = r % d;
            return head * d + (within % 2) * (d / 2) + within / 2;
        };
    }
}
