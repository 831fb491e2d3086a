package dev.finetune4j.gguf;

import dev.finetune4j.core.models.decoder.Gemma4Config;

import java.util.List;

/**
 * Where Gemma 4's own weights go in llama.cpp's {@code gemma4}, as convert_hf_to_gguf.py's {@code Gemma4Model} maps
 * them (its norms as they are: Gemma 4's RMSNorms scale by the weight itself, not {@code 1 + w}):
 * <ul>
 *   <li>the per-layer inputs' tables beside {@code embed_tokens}: {@code embed_tokens_per_layer} as
 *       {@code per_layer_token_embd} (ggml dims [L P, vocab]), {@code per_layer_model_projection} as
 *       {@code per_layer_model_proj} ([C, L P]) and {@code per_layer_projection_norm} as {@code per_layer_proj_norm};</li>
 *   <li>in each layer, after its MLP, the per-layer input's branch: {@code per_layer_input_gate} as {@code inp_gate},
 *       {@code per_layer_projection} as {@code proj}, {@code post_per_layer_input_norm} as {@code post_norm}; and
 *       {@code layer_scalar} as {@code layer_output_scale} ([1]);</li>
 * </ul>
 * and the mixture beside the MLP ({@code enable_moe_block}, gemma-4-26B-A4B), whose router the graph computes as
 * {@code ffn_gate_inp (rms(h) / sqrt(C) * ffn_gate_inp.scale)} and whose chosen experts' outputs it multiplies by
 * {@code ffn_down_exps.scale} ([E]) after renormalising their weights, as finetune4j multiplies the weights
 * ({@code per_expert_scale} after the renormalisation: the same product):
 * <ul>
 *   <li>{@code router.proj} as {@code ffn_gate_inp}, {@code router.scale} as {@code ffn_gate_inp.scale} and
 *       {@code router.per_expert_scale} as {@code ffn_down_exps.scale};</li>
 *   <li>the norms after the MLP, before and after the experts: {@code post_feedforward_layernorm_1} as
 *       {@code post_ffw_norm_1}, {@code pre_feedforward_layernorm_2} as {@code pre_ffw_norm_2},
 *       {@code post_feedforward_layernorm_2} as {@code post_ffw_norm_2} (the MLP's input norm and the norm of the
 *       sum are the dense layer's {@code ffn_norm} and {@code post_ffw_norm}).</li>
 * </ul>
 * The attention's projections and norms are every family's ({@link DecoderMapping}); a kv-shared layer has no
 * {@code k_proj}, {@code v_proj} or {@code k_norm}, a full layer with {@code attention_k_eq_v} no {@code v_proj}, and
 * the file none of them either (llama.cpp's graph then reads the earlier layer's cache, or the keys as values).
 */
final class Gemma4Placements {
    private Gemma4Placements() {
    }

    /** The per-layer inputs' tables of the backbone at {@code backbone} ({@code model.}); none without them. */
    static void addPerLayerInputTables(List<Placement> out, String backbone, Gemma4Config g) {
        if (g.perLayerInputSize() == 0) {
            return;
        }
        out.add(Placement.plain(backbone + "embed_tokens_per_layer.weight", "per_layer_token_embd.weight"));
        out.add(Placement.plain(backbone + "per_layer_model_projection.weight", "per_layer_model_proj.weight"));
        out.add(Placement.plain(backbone + "per_layer_projection_norm.weight", "per_layer_proj_norm.weight"));
    }

    /** Layer {@code hf}'s ({@code model.layers.N.}) per-layer input branch and its output scale. */
    static void addLayerOutput(List<Placement> out, String hf, String blk, Gemma4Config g) {
        if (g.perLayerInputSize() > 0) {
            out.add(Placement.plain(hf + "per_layer_input_gate.weight", blk + "inp_gate.weight"));
            out.add(Placement.plain(hf + "per_layer_projection.weight", blk + "proj.weight"));
            out.add(Placement.plain(hf + "post_per_layer_input_norm.weight", blk + "post_norm.weight"));
        }
        out.add(Placement.plain(hf + "layer_scalar", blk + "layer_output_scale.weight"));
    }

    /** Gemma 4's router at {@code router} ({@code model.layers.N.router.}): projection, scale, per-expert scale. */
    static void addRouter(List<Placement> out, String router, String blk) {
        out.add(Placement.plain(router + "proj.weight", blk + "ffn_gate_inp.weight"));
        out.add(Placement.plain(router + "scale", blk + "ffn_gate_inp.scale"));
        out.add(Placement.plain(router + "per_expert_scale", blk + "ffn_down_exps.scale"));
    }

    /** Layer {@code hf}'s norms around its mixture beside the MLP: after the MLP, before and after the experts. */
    static void addMixtureNorms(List<Placement> out, String hf, String blk) {
        out.add(Placement.plain(hf + "post_feedforward_layernorm_1.weight", blk + "post_ffw_norm_1.weight"));
        out.add(Placement.plain(hf + "pre_feedforward_layernorm_2.weight", blk + "pre_ffw_norm_2.weight"));
        out.add(Placement.plain(hf + "post_feedforward_layernorm_2.weight", blk + "post_ffw_norm_2.weight"));
    }
}
