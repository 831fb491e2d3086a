"""Qwen3.5's language model (transformers 5.17's qwen3_5_text, also inside qwen3_5's Qwen3_5ForConditionalGeneration)
and its mixture of experts (qwen3_5_moe_text, inside qwen3_5_moe's Qwen3_5MoeForConditionalGeneration) in plain
PyTorch (float32, CPU, eager), for the golden folders references/qwen3_5, qwen3_5_vl, qwen3_5_moe and qwen3_5_moe_vl
(weights drawn, rounded to bfloat16 values and stored as bfloat16: families_torch.bf16_values).

Run through families_torch.py (it checks its decoder against transformers' folders first and writes
families_versions.json):

    /usr/bin/python3 tools/reference/families_torch.py --write --only qwen3_5 qwen3_5_vl qwen3_5_moe qwen3_5_moe_vl

Every rule below was read from transformers 5.17.0's wheel (families_torch.TRANSFORMERS_517_WHEEL):
models/qwen3_5/{configuration,modeling,modular}_qwen3_5.py, models/qwen3_next/modeling_qwen3_next.py (the classes the
modular file inherits), models/qwen3_vl/modeling_qwen3_vl.py (the text rotary), masking_utils.py,
configuration_utils.py, modeling_rope_utils.py, conversion_mapping.py and cache_utils.py.

- Layer types (Qwen3_5TextConfig.__post_init__): layer_types as written, else layer i is linear_attention when
  (i + 1) % full_attention_interval != 0 (default 4), full_attention otherwise. save_pretrained writes layer_types.
- Decoder layer (Qwen3_5DecoderLayer): h += mixer(input_layernorm(h)); h += mlp(post_attention_layernorm(h)); the
  mixer is linear_attn (Qwen3_5GatedDeltaNet) or self_attn (Qwen3_5Attention). MLP: down(silu(gate(x)) * up(x)).
  Then model.norm and an untied lm_head (no embedding scale, no logit scale).
- Qwen3_5RMSNorm (input/post-attention norms, model.norm, q_norm, k_norm): zero-centred, in float32,
  x * rsqrt(mean(x^2) + eps) * (1 + w), cast back after the product.
- Qwen3_5RMSNormGated (linear_attn.norm, over each value head): float32 x * rsqrt(mean(x^2) + eps), cast back, times
  w (not 1 + w), then times silu(z) computed in float32; eps is rms_norm_eps.
- Full attention (Qwen3_5Attention): q_proj gives 2 * head_dim per head, viewed (B, T, H, 2 * head_dim) and chunked
  on the last axis, so each head's rows are its query then its gate; q_norm / k_norm per head over head_dim, before
  the rotary; rotate-half rotary on the first int(head_dim * partial_rotary_factor) channels (apply_rotary_pos_emb);
  GQA by repeat_kv (each kv head serves consecutive query heads); scale head_dim ** -0.5; softmax in float32; the
  heads' concatenated output times sigmoid(gate) (same (B, T, H * head_dim) layout) before o_proj. No biases
  (attention_bias false).
- Text rotary (Qwen3_5TextRotaryEmbedding = Qwen3-VL's): default inverse frequencies over rotary_dim =
  int(head_dim * partial_rotary_factor) (compute_default_rope_parameters); position_ids (3, B, T) for the t/h/w
  axes, the frequency table built per axis and recomposed interleaved: channel j takes axis h when j % 3 == 1 and
  j < 3 * mrope_section[1], axis w when j % 3 == 2 and j < 3 * mrope_section[2], else axis t
  (recomposition_frequencies; mrope_interleaved is never read: the text rotary always interleaves). Text-only input
  gives all three axes the positions 0..T-1 (+ the cache length) (Qwen3_5TextModel.forward, and
  Qwen3_5Model.compute_3d_position_ids returns None without image/video grids), so the table is plain 1-D rope:
  check_mrope_is_plain_rope asserts it on the fixture's positions.
- Linear attention (Qwen3_5GatedDeltaNet.forward): apply_mask_to_padding_states first multiplies the hidden states by
  the 2-D padding mask (create_recurrent_attention_mask: only for a multi-token forward whose mask has a zero);
  in_proj_qkv -> (key_dim, key_dim, value_dim) channels, in_proj_z -> value_dim, in_proj_b / in_proj_a -> one per
  value head; a depthwise causal conv1d over the qkv channels (weight (conv_dim, 1, K), no bias, zero left padding)
  then SiLU (hidden_act); split into q, k, v by heads; beta = sigmoid(b); g = -exp(A_log) * softplus(a + dt_bias)
  (float32); q and k repeat_interleave'd from linear_num_key_heads to linear_num_value_heads; in the rule
  (torch_chunk_gated_delta_rule / torch_recurrent_gated_delta_rule, use_qk_l2norm_in_kernel=True): q, k
  l2-normalised (x * rsqrt(sum(x^2) + 1e-6)), q times head_k_dim ** -0.5, then per token
  S = S * exp(g); S += k (beta (v - S^T k))^T; o = S^T q, with S (head_k_dim x head_v_dim) per value head starting
  at zero; the gated norm with z per value head; out_proj.
- Cache (generate): the full-attention layer keeps keys (after norm and rotary) and values; a linear layer keeps its
  conv input history (transformers keeps the last K columns, of which the next step reads K - 1) and the state S.
  Prefill runs the chunked rule, single-token steps the recurrent one: the same arithmetic up to rounding
  (check_chunked_rule measures it).
- Names (state dict of Qwen3_5ForCausalLM): model.embed_tokens, model.layers.N.{input_layernorm,
  post_attention_layernorm}, model.layers.N.linear_attn.{in_proj_qkv,in_proj_z,in_proj_b,in_proj_a,out_proj}.weight,
  .conv1d.weight, .A_log, .dt_bias, .norm.weight, model.layers.N.self_attn.{q,k,v,o}_proj.weight,
  .{q_norm,k_norm}.weight, model.layers.N.mlp.{gate,up,down}_proj.weight, model.norm.weight, lm_head.weight.
  Qwen3_5ForConditionalGeneration holds the same under model.language_model.* beside model.visual.* and lm_head;
  conversion_mapping's qwen3_5_text PrefixChange drops "language_model" when Qwen3_5ForCausalLM loads such a
  checkpoint, which also ignores ^model.visual.*; every Qwen3_5PreTrainedModel ignores ^mtp.*
  (_keys_to_ignore_on_load_unexpected), the published multi-token-prediction head.

Qwen3.5-MoE, read from models/qwen3_5_moe/{configuration,modular,modeling}_qwen3_5_moe.py, the classes the modular
file takes from models/qwen3_next/modeling_qwen3_next.py (Qwen3NextSparseMoeBlock, Qwen3NextExperts) and
models/qwen3_vl_moe/modeling_qwen3_vl_moe.py (Qwen3VLMoeTextTopKRouter), and conversion_mapping.py:
- Everything above, except that every layer's MLP is Qwen3_5MoeSparseMoeBlock (Qwen3_5MoeDecoderLayer: no dense
  layer, no mlp_only_layers or decoder_sparse_step).
- Qwen3_5MoeTextConfig: Qwen3_5TextConfig's fields without intermediate_size (the modular file turns
  intermediate_size, decoder_sparse_step, norm_topk_prob and mlp_only_layers into AttributeError()s, so the
  generated class has none of them), plus moe_intermediate_size, shared_expert_intermediate_size, num_experts,
  num_experts_per_tok, output_router_logits (False) and router_aux_loss_coef (0.001); the same __post_init__
  (layer_types, the partial_rotary_factor default). Qwen3_5MoeConfig: Qwen3_5Config's fields, model_type
  qwen3_5_moe, its text_config qwen3_5_moe_text and vision_config qwen3_5_moe_vision (Qwen3_5VisionConfig's fields).
- Router (Qwen3_5MoeTopKRouter = Qwen3VLMoeTextTopKRouter): logits = mlp.gate.weight x, softmax in float32, top-k
  of the probabilities, which are always divided by their sum (no norm_topk_prob switch), cast back.
- Experts (Qwen3_5MoeExperts): each expert down(silu(gate(x)) * up(x)), times its routing weight, summed in
  ascending expert order (index_add_); transformers stacks them (gate_up_proj [E, 2I, C], gate rows first;
  down_proj [E, C, I]), while checkpoints store experts.N.{gate,up,down}_proj.weight: conversion_mapping's
  qwen3_5_moe_text is qwen3_5_text's mapping plus qwen2_moe's (MergeModulelist, then Concatenate gate | up).
- Shared expert (Qwen3_5MoeSparseMoeBlock): mlp.shared_expert.{gate,up,down}_proj (shared_expert_intermediate_size
  wide) times sigmoid(mlp.shared_expert_gate(x)) (one output, no bias), added to the experts' sum.
- Load balancing (load_balancing_loss_func, Qwen3_5MoeForCausalLM): only with output_router_logits; the router
  logits of every layer, softmaxed, top-k counted per expert and probabilities summed over the tokens the 2-D
  attention mask keeps (over all layers), both divided by layers x kept tokens; aux_loss = num_experts x
  sum_e(count_e x prob_e) (not divided by top_k); the loss adds router_aux_loss_coef x aux_loss only then, so the
  default loss is the plain next-token cross-entropy. The same as modeling_mixtral's function
  (families_torch.load_balancing_loss), written as running sums.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import families_torch as ft  # noqa: E402

LINEAR, FULL = "linear_attention", "full_attention"
L2NORM_EPS = 1e-6  # l2norm's default in the gated delta rule, not rms_norm_eps
CHUNK = 64  # torch_chunk_gated_delta_rule's chunk_size
SEED = 607  # picked among 600..639: the clearest greedy margin, ten different generated tokens
# qwen3_5_moe's, picked among 700..999: routing gap 2.8e-3 (of the widest), greedy margin 0.055, and of the
# largest moves of aux_loss when padding is counted (6e-3; the loss of this near-balanced router stays close to 2)
MOE_SEED = 961


# ----------------------------------------------------------------------------------------------------------
# Configuration: what Qwen3_5TextConfig / Qwen3_5Config's save_pretrained write.
# ----------------------------------------------------------------------------------------------------------
def text_config():
    """Qwen3_5TextConfig's fields, plus partial_rotary_factor: __post_init__ puts its default (0.25) into the kwargs,
    which PreTrainedConfig.__post_init__ sets as an attribute, so to_diff_dict writes it beside rope_parameters."""
    rope = {"rope_type": "default", "rope_theta": 10000000.0, "partial_rotary_factor": 0.25,
            "mrope_section": [2, 1, 1], "mrope_interleaved": True}  # the sections sum to rotary_dim / 2
    return {"architectures": ["Qwen3_5ForCausalLM"], "model_type": "qwen3_5_text", "dtype": "float32",
            "vocab_size": 256, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 4,
            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32, "hidden_act": "silu",
            "max_position_embeddings": 256, "initializer_range": 0.1, "rms_norm_eps": 1e-6, "use_cache": True,
            "tie_word_embeddings": False, "rope_parameters": rope, "partial_rotary_factor": 0.25,
            "attention_bias": False, "attention_dropout": 0.0, "linear_conv_kernel_dim": 4,
            "linear_key_head_dim": 16, "linear_value_head_dim": 16, "linear_num_key_heads": 2,
            "linear_num_value_heads": 4, "layer_types": layer_types_of({"num_hidden_layers": 4}),
            "pad_token_id": None, "bos_token_id": None, "eos_token_id": None}


# Qwen3_5VisionConfig: every field (none is PreTrainedConfig's), rope_parameters as convert_rope_params_to_dict
# fills it (rope_theta default_theta, rope_type "default" forced to the class's default_rope_type "axial"), and the
# dtype that from_pretrained / save_pretrained set on every sub-config. Tiny, so its tensors stay small.
VISION_CONFIG = {"model_type": "qwen3_5_vision", "dtype": "float32", "depth": 1, "hidden_size": 16,
                 "hidden_act": "gelu_pytorch_tanh", "intermediate_size": 32, "num_heads": 2, "in_channels": 3,
                 "patch_size": 2, "spatial_merge_size": 2, "temporal_patch_size": 2, "out_hidden_size": 64,
                 "num_position_embeddings": 16, "initializer_range": 0.02,
                 "rope_parameters": {"rope_theta": 10000.0, "rope_type": "axial"}}
# what the published Qwen3.5 text_configs also carry (transformers keeps unknown keys as attributes and writes them
# back): the multi-token-prediction head's size, which transformers does not build
HUB_MTP_KEYS = {"mtp_num_hidden_layers": 1, "mtp_use_dedicated_embeddings": False}


def moe_text_config():
    """Qwen3_5MoeTextConfig's fields: qwen3_5_text's without intermediate_size, plus the mixture's."""
    config = {k: v for k, v in text_config().items() if k != "intermediate_size"}
    config.update({"architectures": ["Qwen3_5MoeForCausalLM"], "model_type": "qwen3_5_moe_text",
                   "moe_intermediate_size": 32, "shared_expert_intermediate_size": 48, "num_experts": 4,
                   "num_experts_per_tok": 2, "output_router_logits": False, "router_aux_loss_coef": 0.001})
    return config


# text model_type -> (its ...ForConditionalGeneration, that config's model_type)
CONDITIONAL_GENERATION = {"qwen3_5_text": ("Qwen3_5ForConditionalGeneration", "qwen3_5"),
                          "qwen3_5_moe_text": ("Qwen3_5MoeForConditionalGeneration", "qwen3_5_moe")}


def conditional_generation_config(text):
    """Qwen3_5Config.to_diff_dict (Qwen3_5MoeConfig's is the same): its own fields at the top (tie_word_embeddings
    too), each sub-config nested with its model_type and its fields (architectures only at the top). Image/video ids
    inside the tiny vocabulary."""
    architecture, model_type = CONDITIONAL_GENERATION[text["model_type"]]
    nested = {k: v for k, v in text.items() if k != "architectures"}
    return {"architectures": [architecture], "model_type": model_type, "dtype": "float32",
            "tie_word_embeddings": False, "image_token_id": 252, "video_token_id": 253,
            "vision_start_token_id": 250, "vision_end_token_id": 251,
            "text_config": dict(nested, **HUB_MTP_KEYS),
            "vision_config": dict(VISION_CONFIG, model_type=model_type + "_vision")}


def layer_types_of(config):
    """layer_types as written, else Qwen3_5TextConfig.__post_init__'s rule (which save_pretrained then writes)."""
    if config.get("layer_types"):
        return list(config["layer_types"])
    interval = config.get("full_attention_interval", 4)
    return [LINEAR if (i + 1) % interval else FULL for i in range(config["num_hidden_layers"])]


def rotary_dim_of(config):
    return int(config["head_dim"] * config["rope_parameters"].get("partial_rotary_factor", 1.0))


# ----------------------------------------------------------------------------------------------------------
# Rotary: the interleaved multimodal table and the plain one it reduces to for text.
# ----------------------------------------------------------------------------------------------------------
def inverse_frequencies(config):
    dim = rotary_dim_of(config)
    return 1.0 / (config["rope_parameters"]["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))


def plain_rope(config, positions):
    """positions [T] -> cos, sin [1, T, rotary_dim] (rotate-half layout)."""
    freqs = positions.float()[:, None] * inverse_frequencies(config)[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)[None]
    return emb.cos(), emb.sin()


def interleaved_mrope(config, position_ids):
    """position_ids [3, T] (t, h, w) -> cos, sin [1, T, rotary_dim]: per frequency channel j, axis h where
    j % 3 == 1 and j < 3 * sections[1], axis w where j % 3 == 2 and j < 3 * sections[2], otherwise axis t."""
    sections = config["rope_parameters"]["mrope_section"]
    per_axis = position_ids.float()[:, :, None] * inverse_frequencies(config)[None, None, :]  # [3, T, dim/2]
    channel = torch.arange(per_axis.shape[-1])
    axis = torch.zeros_like(channel)
    axis[(channel % 3 == 1) & (channel < 3 * sections[1])] = 1
    axis[(channel % 3 == 2) & (channel < 3 * sections[2])] = 2
    freqs = per_axis.gather(0, axis[None, None, :].expand(1, per_axis.shape[1], -1))[0]
    emb = torch.cat((freqs, freqs), dim=-1)[None]
    return emb.cos(), emb.sin()


def check_mrope_is_plain_rope(config, length):
    """The text rotary with three equal position rows equals plain rope; with the h row moved it does not (so the
    comparison can fail). Returns the largest difference of the equal case."""
    positions = torch.arange(length)
    plain = torch.cat(plain_rope(config, positions), dim=-1)
    same = torch.cat(interleaved_mrope(config, positions.expand(3, -1)), dim=-1)
    moved = torch.cat(interleaved_mrope(config, torch.stack((positions, positions + 1, positions))), dim=-1)
    diff, moved_diff = (same - plain).abs().max().item(), (moved - plain).abs().max().item()
    print(f"  qwen3_5: interleaved mrope (t = h = w) vs plain rope over {length} positions: max|diff| {diff:.1e}; "
          f"with h shifted by one: {moved_diff:.3f}")
    if diff != 0.0 or moved_diff < 1e-3:
        sys.exit("qwen3_5: the text rotary does not reduce to plain rope as expected")
    return diff


# ----------------------------------------------------------------------------------------------------------
# The gated delta rule: the recurrent form the model uses, and an independent chunked form that checks it.
# ----------------------------------------------------------------------------------------------------------
def l2norm(x):
    return x * torch.rsqrt((x * x).sum(-1, keepdim=True) + L2NORM_EPS)


def zero_state(q, v):
    """The state before the first token: [B, Hv, Dk, Dv] zeros, for q [B, T, Hv, Dk] and v [B, T, Hv, Dv]."""
    return q.new_zeros(q.shape[0], q.shape[2], q.shape[3], v.shape[3])


def recurrent_delta_rule(q, k, v, g, beta, state):
    """q, k [B, T, Hv, Dk] (normalised, q scaled), v [B, T, Hv, Dv], g, beta [B, T, Hv], state [B, Hv, Dk, Dv]
    -> outputs [B, T, Hv, Dv], final state. Per token: S = S * exp(g); S += k (beta (v - S^T k))^T; o = S^T q."""
    outputs = []
    for t in range(q.shape[1]):
        state = state * g[:, t, :, None, None].exp()
        remembered = (state * k[:, t, :, :, None]).sum(-2)  # S^T k: [B, Hv, Dv]
        delta = (v[:, t] - remembered) * beta[:, t, :, None]
        state = state + k[:, t, :, :, None] * delta[:, :, None, :]
        outputs.append((state * q[:, t, :, :, None]).sum(-2))
    return torch.stack(outputs, dim=1), state


def chunked_delta_rule(q, k, v, g, beta, chunk):
    """The same rule, chunk by chunk (heads first: q, k [B, H, T, Dk]). Within a chunk, with G_t the cumulative log
    decay and S0 the state entering it, the updates u_t = beta_t (v_t - S_{t-1}' ^T k_t) solve the unit lower-
    triangular system u_t + beta_t sum_{s<t} exp(G_t - G_s) (k_t . k_s) u_s = beta_t (v_t - exp(G_t) S0^T k_t);
    then o_t = exp(G_t) S0^T q_t + sum_{s<=t} exp(G_t - G_s) (q_t . k_s) u_s and the state leaving the chunk is
    exp(G_C) S0 + sum_s exp(G_C - G_s) k_s u_s^T."""
    b, h, length, dk = k.shape
    state = q.new_zeros(b, h, dk, v.shape[-1])
    outputs = []
    for start in range(0, length, chunk):
        cq, ck, cv = q[:, :, start:start + chunk], k[:, :, start:start + chunk], v[:, :, start:start + chunk]
        cb, cg = beta[:, :, start:start + chunk], g[:, :, start:start + chunk].cumsum(-1)
        n = ck.shape[2]
        decay = (cg[..., :, None] - cg[..., None, :]).masked_fill(~torch.ones(n, n).tril().bool(), -math.inf).exp()
        system = torch.eye(n) + (cb[..., None] * (ck @ ck.transpose(-1, -2)) * decay).tril(-1)
        rhs = cb[..., None] * (cv - cg.exp()[..., None] * (ck @ state))
        u = torch.linalg.solve_triangular(system, rhs, upper=False, unitriangular=True)
        outputs.append(cg.exp()[..., None] * (cq @ state) + ((cq @ ck.transpose(-1, -2)) * decay) @ u)
        tail = (cg[..., -1:] - cg).exp()[..., None]
        state = cg[..., -1].exp()[..., None, None] * state + (ck * tail).transpose(-1, -2) @ u
    return torch.cat(outputs, dim=2)


def check_chunked_rule(model, ids):
    """Runs ids through the model, then compares, for every linear layer's rule inputs, the float32 recurrent form
    (the fixture's) and an independent float32 chunked form (chunk 64, like the prefill of transformers) with the
    recurrent form in float64. Returns the largest |difference| over the largest |output|."""
    model.forward(ids)
    worst = {"recurrent": 0.0, "chunked": 0.0}
    for i, (q, k, v, g, beta) in sorted(model.rule_inputs.items()):
        exact, _ = recurrent_delta_rule(*(x.double() for x in (q, k, v, g, beta)), zero_state(q, v).double())
        ours, _ = recurrent_delta_rule(q, k, v, g, beta, zero_state(q, v))
        chunked = chunked_delta_rule(*(x.transpose(1, 2) for x in (q, k, v, g, beta)), CHUNK).transpose(1, 2)
        scale = exact.abs().max().item()
        worst["recurrent"] = max(worst["recurrent"], (ours.double() - exact).abs().max().item() / scale)
        worst["chunked"] = max(worst["chunked"], (chunked.double() - exact).abs().max().item() / scale)
    print(f"  qwen3_5: gated delta rule over {ids.shape[1]} tokens (chunks of {CHUNK}), against float64 recurrent: "
          f"float32 recurrent {worst['recurrent']:.1e}, float32 chunked {worst['chunked']:.1e} (relative)")
    if max(worst.values()) > 1e-5:
        sys.exit("qwen3_5: the chunked and recurrent gated delta rules disagree beyond 1e-5")
    return worst


# ----------------------------------------------------------------------------------------------------------
# The model.
# ----------------------------------------------------------------------------------------------------------
class Qwen35LM(ft.SparseMoe):
    """Qwen3_5ForCausalLM's forward, or Qwen3_5MoeForCausalLM's (model_type qwen3_5_moe_text: every MLP the sparse
    block of families_torch.SparseMoe). The attributes after the sizes are the rules; bites() flips each one."""

    def __init__(self, config, weights):
        self.c, self.w = config, weights
        self.family = config["model_type"]
        self.act = F.silu  # hidden_act
        self.layer_types = layer_types_of(config)
        self.eps = config["rms_norm_eps"]
        self.heads, self.kv_heads, self.head_dim = (config["num_attention_heads"], config["num_key_value_heads"],
                                                    config["head_dim"])
        self.k_heads, self.v_heads = config["linear_num_key_heads"], config["linear_num_value_heads"]
        self.dk, self.dv = config["linear_key_head_dim"], config["linear_value_head_dim"]
        self.kernel = config["linear_conv_kernel_dim"]
        self.zero_centred_norms = True  # (1 + w), not w
        self.query_then_gate = True  # each head's q_proj rows: query, then gate
        self.attention_gate = True  # output * sigmoid(gate) before o_proj
        self.conv = True
        self.conv_silu = True
        self.qk_l2norm = True
        self.query_scale = True  # q * head_k_dim ** -0.5
        self.decay = True  # exp(g); off: g = 0
        self.learned_beta = True  # sigmoid(b); off: beta = 1
        self.heads_interleaved = True  # k heads repeat_interleave'd to v heads; off: tiled
        self.norm_gate = True  # the gated norm's silu(z)
        self.zero_padding = True  # apply_mask_to_padding_states
        self.rule_inputs = {}  # layer -> (q, k, v, g, beta) of the last forward, for check_chunked_rule
        self.init_routing(config)

    def norm(self, x, weight):
        y = x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + self.eps)
        scale = 1.0 + weight.float() if self.zero_centred_norms else weight.float()
        return (y * scale).type_as(x)

    def linear(self, x, name):
        return F.linear(x, self.w[name + ".weight"])

    def dense_mlp(self, x, p):
        """Qwen3_5MLP: down(silu(gate(x)) * up(x)), the dense MLP and the MoE's shared expert."""
        return self.linear(self.act(self.linear(x, p + "gate_proj")) * self.linear(x, p + "up_proj"), p + "down_proj")

    def attention(self, i, x, positions, cache, key_mask):
        """x [B, T, C]; positions [T]; cache[i] = (keys, values) after norm and rotary, grown here."""
        p = f"model.layers.{i}.self_attn."
        b, t, _ = x.shape
        query, gate = self.linear(x, p + "q_proj").view(b, t, self.heads, 2 * self.head_dim).chunk(2, dim=-1)
        if not self.query_then_gate:
            query, gate = gate, query
        gate = gate.reshape(b, t, -1)
        q = self.norm(query, self.w[p + "q_norm.weight"]).transpose(1, 2)
        k = self.norm(self.linear(x, p + "k_proj").view(b, t, self.kv_heads, -1), self.w[p + "k_norm.weight"])
        k = k.transpose(1, 2)
        v = self.linear(x, p + "v_proj").view(b, t, self.kv_heads, -1).transpose(1, 2)
        cos, sin = plain_rope(self.c, positions)
        q, k = ft.rotate(q, cos, sin), ft.rotate(k, cos, sin)
        if cache is not None:
            if i in cache:
                k, v = torch.cat((cache[i][0], k), dim=2), torch.cat((cache[i][1], v), dim=2)
            cache[i] = (k, v)
        groups = self.heads // self.kv_heads
        k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
        scores = q @ k.transpose(2, 3) * self.head_dim ** -0.5
        allowed = torch.arange(k.shape[2])[None, :] <= positions[:, None]
        allowed = allowed[None, None]
        if key_mask is not None:
            allowed = allowed & key_mask[:, None, None, :k.shape[2]].bool()
        scores = scores + torch.where(allowed, torch.tensor(0.0), torch.tensor(torch.finfo(torch.float32).min))
        weights = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = (weights @ v).transpose(1, 2).reshape(b, t, -1)
        if self.attention_gate:
            out = out * torch.sigmoid(gate)
        return self.linear(out, p + "o_proj")

    def delta_net(self, i, x, cache, padding_mask):
        """x [B, T, C]; cache[i] = {"conv": [B, conv_dim, K - 1] last conv inputs, "state": [B, Hv, Dk, Dv]}."""
        p = f"model.layers.{i}.linear_attn."
        b, t, _ = x.shape
        if padding_mask is not None and self.zero_padding:
            x = x * padding_mask[:, -t:, None].to(x.dtype)
        qkv = self.linear(x, p + "in_proj_qkv").transpose(1, 2)  # [B, conv_dim, T]
        z = self.linear(x, p + "in_proj_z").view(b, t, self.v_heads, self.dv)
        beta = torch.sigmoid(self.linear(x, p + "in_proj_b")) if self.learned_beta else x.new_ones(b, t, self.v_heads)
        a = self.linear(x, p + "in_proj_a")
        g = -self.w[p + "A_log"].float().exp() * F.softplus(a.float() + self.w[p + "dt_bias"])
        if not self.decay:
            g = torch.zeros_like(g)
        cached = cache is not None and i in cache
        history = cache[i]["conv"] if cached else qkv.new_zeros(b, qkv.shape[1], self.kernel - 1)
        padded = torch.cat((history, qkv), dim=-1)  # zero left padding, or the previous inputs
        if self.conv:
            qkv = F.conv1d(padded, self.w[p + "conv1d.weight"], groups=qkv.shape[1])
        if self.conv_silu:
            qkv = F.silu(qkv)
        q, k, v = qkv.transpose(1, 2).split([self.k_heads * self.dk, self.k_heads * self.dk, self.v_heads * self.dv],
                                            dim=-1)
        q, k = q.reshape(b, t, self.k_heads, self.dk), k.reshape(b, t, self.k_heads, self.dk)
        v = v.reshape(b, t, self.v_heads, self.dv)
        repeat = self.v_heads // self.k_heads
        if self.heads_interleaved:
            q, k = q.repeat_interleave(repeat, dim=2), k.repeat_interleave(repeat, dim=2)
        else:
            q, k = q.repeat(1, 1, repeat, 1), k.repeat(1, 1, repeat, 1)
        if self.qk_l2norm:
            q, k = l2norm(q), l2norm(k)
        if self.query_scale:
            q = q * self.dk ** -0.5
        self.rule_inputs[i] = (q, k, v, g, beta)
        out, state = recurrent_delta_rule(q, k, v, g, beta, cache[i]["state"] if cached else zero_state(q, v))
        if cache is not None:
            cache[i] = {"conv": padded[:, :, padded.shape[-1] - (self.kernel - 1):], "state": state}
        out = self.gated_norm(out, z, self.w[p + "norm.weight"])
        return self.linear(out.reshape(b, t, -1), p + "out_proj")

    def gated_norm(self, x, z, weight):
        y = (x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x)
        y = weight * y
        if self.norm_gate:
            y = y * F.silu(z.float())
        return y.type_as(x)

    def forward(self, input_ids, attention_mask=None, start=0, cache=None):
        """Logits [B, T, V] for input_ids at positions start..start+T-1; attention_mask [B, start+T] (1 = token)."""
        positions = torch.arange(start, start + input_ids.shape[1])
        self.router_logits = []
        h = F.embedding(input_ids, self.w["model.embed_tokens.weight"])
        for i, kind in enumerate(self.layer_types):
            p = f"model.layers.{i}."
            x = self.norm(h, self.w[p + "input_layernorm.weight"])
            if kind == LINEAR:
                h = h + self.delta_net(i, x, cache, attention_mask)
            else:
                h = h + self.attention(i, x, positions, cache, attention_mask)
            x = self.norm(h, self.w[p + "post_attention_layernorm.weight"])
            h = h + (self.sparse_moe(i, x) if ft.is_sparse_layer(self.c, i) else self.dense_mlp(x, p + "mlp."))
        return F.linear(self.norm(h, self.w["model.norm.weight"]), self.w["lm_head.weight"])

    def greedy(self, prompt, new_tokens):
        """generate(do_sample=False, use_cache=True): the prompt once, then one token at a time from the caches."""
        cache = {}
        tokens = prompt.clone()
        logits = self.forward(tokens, cache=cache)
        for step in range(new_tokens):
            tokens = torch.cat((tokens, logits[:, -1:].argmax(-1)), dim=1)
            if step < new_tokens - 1:
                logits = self.forward(tokens[:, -1:], start=tokens.shape[1] - 1, cache=cache)
        return tokens


# ----------------------------------------------------------------------------------------------------------
# Weights, reference tensors and the evidence that each rule matters.
# ----------------------------------------------------------------------------------------------------------
# A per value head before the per-layer jitter: decays exp(g) from about 0.97 (remembers across the long input's
# chunk boundaries) down to about 0.1
A_PER_HEAD = torch.tensor([0.05, 0.3, 1.0, 3.0])


def random_weights(config, seed):
    g = torch.Generator().manual_seed(seed)

    def normal(std, *shape):
        return torch.randn(*shape, generator=g) * std

    hidden, vocab = config["hidden_size"], config["vocab_size"]
    heads, kv_heads, head_dim = config["num_attention_heads"], config["num_key_value_heads"], config["head_dim"]
    key_dim = config["linear_num_key_heads"] * config["linear_key_head_dim"]
    value_dim = config["linear_num_value_heads"] * config["linear_value_head_dim"]
    v_heads = config["linear_num_value_heads"]
    w = {"model.embed_tokens.weight": normal(0.1, vocab, hidden)}
    for i, kind in enumerate(layer_types_of(config)):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = normal(0.2, hidden)  # zero-centred: 1 + w scales
        w[p + "post_attention_layernorm.weight"] = normal(0.2, hidden)
        if kind == LINEAR:
            a = p + "linear_attn."
            w[a + "in_proj_qkv.weight"] = normal(0.1, 2 * key_dim + value_dim, hidden)
            w[a + "in_proj_z.weight"] = normal(0.1, value_dim, hidden)
            w[a + "in_proj_b.weight"] = normal(0.2, v_heads, hidden)  # betas spread over (0, 1)
            w[a + "in_proj_a.weight"] = normal(0.1, v_heads, hidden)
            w[a + "conv1d.weight"] = normal(0.5, 2 * key_dim + value_dim, 1, config["linear_conv_kernel_dim"])
            w[a + "A_log"] = A_PER_HEAD.log() + normal(0.2, v_heads)
            w[a + "dt_bias"] = normal(0.5, v_heads)
            w[a + "norm.weight"] = 1.0 + normal(0.1, config["linear_value_head_dim"])  # plain w
            w[a + "out_proj.weight"] = normal(0.1, hidden, value_dim)
        else:
            s = p + "self_attn."
            w[s + "q_proj.weight"] = normal(0.1, 2 * heads * head_dim, hidden)
            w[s + "k_proj.weight"] = normal(0.1, kv_heads * head_dim, hidden)
            w[s + "v_proj.weight"] = normal(0.1, kv_heads * head_dim, hidden)
            w[s + "o_proj.weight"] = normal(0.1, hidden, heads * head_dim)
            w[s + "q_norm.weight"], w[s + "k_norm.weight"] = normal(0.2, head_dim), normal(0.2, head_dim)
        if ft.is_sparse_layer(config, i):  # router, per-expert names, shared expert and its gate
            w.update(ft.expert_weights(config, i, normal))
        else:
            m, inter = p + "mlp.", config["intermediate_size"]
            w[m + "gate_proj.weight"], w[m + "up_proj.weight"] = normal(0.1, inter, hidden), normal(0.1, inter, hidden)
            w[m + "down_proj.weight"] = normal(0.1, hidden, inter)
    w["model.norm.weight"] = normal(0.2, hidden)
    w["lm_head.weight"] = normal(0.1, vocab, hidden)
    return w


LAYER0, LAYER3 = "model.layers.0.linear_attn.", "model.layers.3.self_attn."
GRADIENT_NAMES = [LAYER0 + n for n in ("in_proj_qkv.weight", "in_proj_z.weight", "in_proj_b.weight",
                                       "in_proj_a.weight", "conv1d.weight", "A_log", "dt_bias", "norm.weight",
                                       "out_proj.weight")] + [
    LAYER3 + n for n in ("q_proj.weight", "q_norm.weight", "k_norm.weight")] + [
    "model.norm.weight", "model.layers.0.input_layernorm.weight"]
LONG_GRADIENT_NAMES = [LAYER0 + n for n in ("in_proj_qkv.weight", "A_log", "dt_bias", "in_proj_b.weight")]
LONG_LENGTH = 150  # crosses the 64-token chunk (and state checkpoint) boundaries twice


def gradients(model, ids, names):
    """d hf_loss(forward(ids), ids) / d each named weight, and the logits."""
    leaves = {name: model.w[name].clone().requires_grad_(True) for name in names}
    with torch.enable_grad():
        differentiable = Qwen35LM(model.c, dict(model.w, **leaves))
        logits = differentiable.forward(ids)
        grads = torch.autograd.grad(ft.hf_loss(logits, ids), [leaves[name] for name in names])
    return logits.detach(), dict(zip(names, grads))


def inputs_for(model, seed):
    """(the generator, left after drawing them; input_ids (2, 16), attention_mask with row 1 ending in 4 padding
    positions, greedy_prompt: the first 6 ids of row 0)."""
    g = torch.Generator().manual_seed(seed + 1)
    ids = torch.randint(0, model.c["vocab_size"], (2, 16), generator=g)
    mask = torch.ones_like(ids)
    mask[1, -4:] = 0
    return g, {"input_ids": ids, "attention_mask": mask, "greedy_prompt": ids[:1, :6].clone()}


def masked_and_greedy(model, ref):
    """logits_masked (the batch with its attention mask) and greedy_output (10 tokens decoded with the caches)."""
    return {"logits_masked": model.forward(ref["input_ids"], attention_mask=ref["attention_mask"]),
            "greedy_output": model.greedy(ref["greedy_prompt"], 10)}


def reference_for(model, seed):
    """qwen3_5's reference: the usual tensors, grad.NAME and the long input's logits and grad_long.NAME."""
    g, ref = inputs_for(model, seed)
    ids = ref["input_ids"]
    long_ids = torch.randint(0, model.c["vocab_size"], (1, LONG_LENGTH), generator=g)
    ref["long_input_ids"] = long_ids
    logits, grads = gradients(model, ids, GRADIENT_NAMES)
    ref.update({"logits": logits, "loss": ft.hf_loss(logits, ids).reshape(1)})
    ref.update({f"grad.{name}": grad for name, grad in grads.items()})
    ref.update(masked_and_greedy(model, ref))
    long_logits, long_grads = gradients(model, long_ids, LONG_GRADIENT_NAMES)
    ref["long_logits"] = long_logits
    ref.update({f"grad_long.{name}": grad for name, grad in long_grads.items()})
    return ref


def moe_reference_for(model, seed):
    """qwen3_5_moe's reference: the usual tensors plus what every MoE folder holds (families_torch.moe_outputs:
    aux_loss, grad.NAME, aux_grad.NAME)."""
    _, ref = inputs_for(model, seed)
    ids = ref["input_ids"]
    ref["logits"] = model.forward(ids)
    ref["loss"] = ft.hf_loss(ref["logits"], ids).reshape(1)
    ref.update(masked_and_greedy(model, ref))
    ref.update(ft.moe_outputs(model, ids, ref["attention_mask"]))
    return ref


def full_attention_first(weights):
    """The token mixers of layers 0 and 3 swapped (norms and MLPs stay): weights for layer types shifted so that
    layer 0 is the full-attention one."""
    def move(name):
        for kind, mixer in ((LINEAR, "linear_attn."), (FULL, "self_attn.")):
            for a, b in (("0", "3"), ("3", "0")):
                if name.startswith(f"model.layers.{a}.{mixer}"):
                    return f"model.layers.{b}." + name[len(f"model.layers.{a}."):]
        return name
    return {move(name): t for name, t in weights.items()}


def bites(name, model, ref):
    """How far the logits move when one rule is changed (for the MoE also the routing rules of
    families_torch.moe_bites); fails when one moves them by less than 1e-3 (relative)."""
    ids, logits, evidence = ref["input_ids"], ref["logits"], {}

    def moved(config=model.c, weights=model.w, mask=None, expected=logits, **rules):
        variant = Qwen35LM(config, weights)
        vars(variant).update(rules)
        return ft.relative_error(variant.forward(ids, attention_mask=mask), expected)

    for what, rule in (("l2norm of q/k dropped", "qk_l2norm"), ("conv dropped (identity)", "conv"),
                       ("SiLU after the conv dropped", "conv_silu"), ("decay dropped (g = 0)", "decay"),
                       ("beta = 1", "learned_beta"), ("k->v heads tiled, not repeat_interleave'd", "heads_interleaved"),
                       ("gated norm's silu(z) dropped", "norm_gate"),
                       ("attention output gate dropped", "attention_gate"),
                       ("q/gate halves swapped", "query_then_gate"), ("(1 + w) norms as w", "zero_centred_norms"),
                       ("q not scaled by head_k_dim ** -0.5", "query_scale")):
        evidence[what] = moved(**{rule: False})
    rope = model.c["rope_parameters"]
    evidence["rotary on all head dims, not 25%"] = moved(
        dict(model.c, rope_parameters=dict(rope, partial_rotary_factor=1.0)))
    evidence["rope_theta 10000, not 1e7"] = moved(dict(model.c, rope_parameters=dict(rope, rope_theta=10000.0)))
    shifted = [FULL] + [LINEAR] * (model.c["num_hidden_layers"] - 1)
    evidence["layer types shifted (full attention at layer 0)"] = moved(dict(model.c, layer_types=shifted),
                                                                        full_attention_first(model.w))
    evidence["padding not zeroed before the DeltaNet (logits_masked)"] = moved(
        mask=ref["attention_mask"], expected=ref["logits_masked"], zero_padding=False)
    if model.family in ft.MOE_FAMILIES:
        evidence.update(ft.moe_bites(model, ref))
    # greedy tokens must not hinge on rounding, and the cached decoding must match one uncached forward
    recomputed = model.forward(ref["greedy_output"])[0, 5:-1]
    top2 = recomputed.topk(2, dim=-1).values
    evidence["smallest greedy margin"] = (top2[:, 0] - top2[:, 1]).min().item()
    if not torch.equal(recomputed.argmax(-1), ref["greedy_output"][0, 6:]):
        sys.exit(f"{name}: cached greedy decoding disagrees with an uncached forward")
    for what, value in evidence.items():
        print(f"  {name}: {what}: {value:.3f}")
        if value < 1e-3:
            sys.exit(f"{name}: {what} does not bite ({value})")
    return evidence


def print_decay_and_beta(model, ids):
    model.forward(ids)
    for i, (_, _, _, g, beta) in sorted(model.rule_inputs.items()):
        decay = g.exp()
        print(f"  qwen3_5: layer {i}: exp(g) per head (mean) {[round(x, 3) for x in decay.mean((0, 1)).tolist()]}, "
              f"beta range {beta.min().item():.2f}..{beta.max().item():.2f}")


# ----------------------------------------------------------------------------------------------------------
# The folders.
# ----------------------------------------------------------------------------------------------------------
VISUAL_AND_MTP_SHAPES = {  # Qwen3_5VisionModel's names at VISION_CONFIG's sizes, and two of the published mtp.* tensors
    "model.visual.patch_embed.proj.weight": (16, 3, 2, 2, 2),  # Conv3d(in_channels, hidden, (temporal, patch, patch))
    "model.visual.blocks.0.attn.qkv.weight": (48, 16),  # (3 * hidden, hidden)
    "model.visual.merger.linear_fc1.weight": (64, 64),  # (hidden * merge^2, hidden * merge^2)
    "mtp.fc.weight": (64, 128),  # (hidden, 2 * hidden)
    "mtp.norm.weight": (64,),
}
# the MoE checkpoints' mtp layer is itself a sparse block: an expert's name a loader must not take for the model's
MOE_MTP_SHAPES = {"mtp.layers.0.mlp.experts.0.down_proj.weight": (64, 32)}  # (hidden, moe_intermediate_size)
LANGUAGE_MODEL = "model.language_model."


def conditional_generation_weights(config, weights, seed):
    """Qwen3_5(Moe)ForConditionalGeneration's names: model.* -> model.language_model.*, lm_head stays; plus small
    vision and mtp tensors."""
    g = torch.Generator().manual_seed(seed + 2)
    extra = dict(VISUAL_AND_MTP_SHAPES, **(MOE_MTP_SHAPES if config["model_type"] in ft.MOE_FAMILIES else {}))
    out = {(LANGUAGE_MODEL + n[len("model."):] if n.startswith("model.") else n): t for n, t in weights.items()}
    out.update({n: torch.randn(*shape, generator=g) * 0.02 for n, shape in extra.items()})
    return out


def language_model_of(weights):
    """What Qwen3_5(Moe)ForCausalLM loads from a conditional-generation checkpoint: language_model's prefix dropped,
    ^model.visual.* and ^mtp.* ignored."""
    return {"model." + n[len(LANGUAGE_MODEL):] if n.startswith(LANGUAGE_MODEL) else n: t for n, t in weights.items()
            if not n.startswith(("model.visual.", "mtp."))}


# text folder -> (its config, its seed); each has a twin NAME_vl, the same model as ...ForConditionalGeneration
TEXT_FOLDERS = {"qwen3_5": (text_config, SEED), "qwen3_5_moe": (moe_text_config, MOE_SEED)}


def write(names, folder_of):
    """Writes the named folders (families_torch.HYBRID_FIXTURES); folder_of(name) is the folder's path."""
    for name, (make_config, seed) in TEXT_FOLDERS.items():
        config = make_config()
        weights = ft.bf16_values(random_weights(config, seed))
        if name in names:
            write_text_folder(name, config, weights, seed, folder_of(name))
        if name + "_vl" in names:
            write_conditional_generation_twin(name, config, weights, seed, folder_of)


def write_text_folder(name, config, weights, seed, folder):
    model = Qwen35LM(config, weights)
    moe = model.family in ft.MOE_FAMILIES
    ref = moe_reference_for(model, seed) if moe else reference_for(model, seed)
    ft.write_model_folder(folder, config, weights)
    ft.write_safetensors(os.path.join(folder, "reference.safetensors"), ref)
    print(f"wrote {name}: loss {ref['loss'].item():.4f}, max|logit| {ref['logits'].abs().max().item():.3f}, "
          f"greedy {ref['greedy_output'].tolist()}")
    if moe:
        print(f"  {name}: aux_loss {ref['aux_loss'].item():.6f}")
        ft.check_routing_gap(name, model)
    else:
        print(f"  {name}: max|long logit| {ref['long_logits'].abs().max().item():.3f}")
        print_decay_and_beta(model, ref["input_ids"])
        check_mrope_is_plain_rope(config, LONG_LENGTH)
        check_chunked_rule(model, ref["long_input_ids"])
    bites(name, Qwen35LM(config, weights), ref)


def write_conditional_generation_twin(name, config, weights, seed, folder_of):
    """NAME_vl: NAME's model as ...ForConditionalGeneration. Only its config.json is written: its weights are NAME's
    renamed (conditional_generation_weights), which the tests and verify_with_transformers.py derive from NAME's
    model.safetensors rather than store twice. Checks that the language model of those weights is NAME's tensor for
    tensor and gives NAME's logits exactly."""
    twin = name + "_vl"
    folder = folder_of(twin)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(json.dumps(conditional_generation_config(config), indent=2, sort_keys=True) + "\n")
    loaded = language_model_of(conditional_generation_weights(config, weights, seed))
    text = ft.read_safetensors(os.path.join(folder_of(name), "model.safetensors"))
    if loaded.keys() != text.keys() or any(not torch.equal(loaded[n], text[n]) for n in text):
        sys.exit(f"{twin}: its language model's tensors are not {name}'s")
    nested = json.load(open(os.path.join(folder, "config.json")))["text_config"]
    ids = torch.randint(0, config["vocab_size"], (2, 16), generator=torch.Generator().manual_seed(seed + 1))
    if not torch.equal(Qwen35LM(nested, loaded).forward(ids), Qwen35LM(config, text).forward(ids)):
        sys.exit(f"{twin} does not load to {name}'s logits")
    print(f"wrote {twin}: its language model is {name}'s tensor for tensor, and gives its logits exactly")
