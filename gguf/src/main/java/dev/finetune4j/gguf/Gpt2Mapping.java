package dev.finetune4j.gguf;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.models.gpt2.Gpt2Config;
import dev.finetune4j.core.models.gpt2.Gpt2Model;

import java.util.ArrayList;
import java.util.List;

/**
 * GPT-2 as llama.cpp's {@code gpt2} architecture: learned positions ({@code position_embd}, kept float32 as the
 * converter keeps it), LayerNorms with biases, the fused {@code c_attn} as {@code attn_qkv}, and the Conv1D weights,
 * stored (in, out), written (out, in) as convert_hf_to_gguf.py transposes them. The output head is the token
 * embedding, as in GPT-2.
 */
final class Gpt2Mapping implements ModelMapping {
    private final Gpt2Model model;
    private final Gpt2Config config;

    Gpt2Mapping(Gpt2Model model) {
        this.model = model;
        this.config = model.config();
        if (config.activationFunction() != Activations.Kind.GELU_TANH) {
            throw new IllegalArgumentException("GGUF's gpt2 architecture computes GELU's tanh form (gelu_new), not "
                    + config.activationFunction() + " of this model, so llama.cpp would compute a different model; "
                    + "export it to ONNX instead (OnnxExporter, finetune4j export-onnx)");
        }
    }

    @Override
    public String architecture() {
        return "gpt2";
    }

    @Override
    public void putHyperparameters(GgufMetadata meta) {
        meta.putUint32("gpt2.context_length", config.nPositions())
                .putUint32("gpt2.embedding_length", config.nEmbd())
                .putUint32("gpt2.feed_forward_length", config.nInner())
                .putUint32("gpt2.block_count", config.nLayer())
                .putUint32("gpt2.attention.head_count", config.nHead())
                .putFloat32("gpt2.attention.layer_norm_epsilon", config.layerNormEpsilon());
    }

    /** GPT-2's head is its token embedding: the file has no {@code output.weight}. */
    @Override
    public ModelLayout layout() {
        return new ModelLayout(architecture(), config.nLayer(), config.nHead(), config.nHead(), true);
    }

    @Override
    public List<GgufTensor> tensors(GgufType type, boolean importanceMatrix) {
        return Placement.takeAll(model.stateDict(), placements(), type,
                layout().withImportanceMatrix(importanceMatrix));
    }

    @Override
    public List<Placement> placements() {
        List<Placement> placements = new ArrayList<>();
        placements.add(Placement.plain("transformer.wte.weight", "token_embd.weight"));
        placements.add(Placement.plain("transformer.wpe.weight", "position_embd.weight"));
        for (int i = 0; i < config.nLayer(); i++) {
            String hf = "transformer.h." + i + ".";
            String blk = "blk." + i + ".";
            placements.addAll(Placement.weightAndBias(hf + "ln_1", blk + "attn_norm", false));
            placements.addAll(Placement.weightAndBias(hf + "attn.c_attn", blk + "attn_qkv", true));
            placements.addAll(Placement.weightAndBias(hf + "attn.c_proj", blk + "attn_output", true));
            placements.addAll(Placement.weightAndBias(hf + "ln_2", blk + "ffn_norm", false));
            placements.addAll(Placement.weightAndBias(hf + "mlp.c_fc", blk + "ffn_up", true));
            placements.addAll(Placement.weightAndBias(hf + "mlp.c_proj", blk + "ffn_down", true));
        }
        placements.addAll(Placement.weightAndBias("transformer.ln_f", "output_norm", false));
        return placements;
    }

}
