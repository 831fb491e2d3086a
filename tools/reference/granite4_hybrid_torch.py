"""Granite 4.0 H (transformers 5.17's granitemoehybrid with Mamba-2 layers: granite-4.0-h-micro / h-1b / h-350m
dense, granite-4.0-h-tiny / h-small with a mixture of experts beside the shared MLP) in plain PyTorch (float32, CPU,
eager), for the golden folders references/granite4_h and references/granite4_h_moe (weights drawn, rounded to bfloat16
values and stored as bfloat16: families_torch.bf16_values).

Run through families_torch.py (it checks its decoder against transformers' folders first and writes
families_versions.json); it runs with Debian's /usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tools/reference/families_torch.py --write --only granite4_h granite4_h_moe

Every rule below was read from transformers 5.17.0's wheel (families_torch.TRANSFORMERS_517_WHEEL):
models/granitemoehybrid/{configuration,modular,modeling}_granitemoehybrid.py, conversion_mapping.py,
configuration_utils.py, masking_utils.py and cache_utils.py. The class GraniteHybridLM extends
families_torch.CausalLM, whose Granite rules (embedding_multiplier, attention_multiplier as the attention scale,
residual_multiplier, logits_scaling, the shared MLP, position_embedding_type) the granite4 folders already test.

Configuration (GraniteMoeHybridConfig, configuration_granitemoehybrid.py):
- layer_types (alias layers_block_type through attribute_map): __post_init__ maps the published names through
  configuration_utils.remap_legacy_layer_types ("mamba" -> "linear_attention", "attention" -> "full_attention"), so
  save_pretrained writes the new names; without layer_types every layer is linear_attention.
- mamba_d_head "auto" becomes mamba_expand * hidden_size // mamba_n_heads; validate_architecture requires
  mamba_n_heads * mamba_d_head == mamba_expand * hidden_size. time_step_limit defaults to (0.0, inf) and is written
  as [0.0, {"__float__": "Infinity"}] (configuration_utils._encode_special_floats).
- position_embedding_type: GraniteMoeHybridModel builds its rotary only when it is "rope"; the published H models
  say "nope", which (like null) means no rotary at all.

Decoder layer (GraniteMoeHybridDecoderLayer.forward):
- h = h + mixer(input_layernorm(h)) * residual_multiplier, the mixer being `mamba` (layer type linear_attention) or
  `self_attn` (full_attention); then x = post_attention_layernorm(h) and
  h = h + (block_sparse_moe(x) + shared_mlp(x)) * residual_multiplier, block_sparse_moe only when
  num_local_experts > 0 (has_experts). Embeddings times embedding_multiplier, model.norm, an lm_head, logits divided
  by logits_scaling (GraniteMoeHybridModel, GraniteMoeHybridForCausalLM).
- RMSNorms (GraniteMoeHybridRMSNorm): float32 x * rsqrt(mean(x^2) + rms_norm_eps), cast back, times w (not 1 + w).
- Attention (GraniteMoeHybridAttention): q/k/v/o projections (bias attention_bias), head_dim = hidden_size /
  num_attention_heads, rotate-half rope only with position_embedding_type "rope", GQA by repeat_kv, scores times
  attention_multiplier (not head_dim ** -0.5), float32 softmax. families_torch.CausalLM.attention.
- shared_mlp (GraniteMoeHybridMLP): input_linear (2 * shared_intermediate_size, C) chunked on its output: the first
  half is the gate, the second the up; output_linear(silu(gate) * up). No biases.

Mamba-2 mixer (GraniteMoeHybridMambaLayer.forward, the torch path that runs without the mamba_ssm and causal_conv1d
kernels; its sizes: intermediate = int(mamba_expand * hidden_size) = mamba_n_heads * mamba_d_head,
conv_dim = intermediate + 2 * mamba_n_groups * mamba_d_state):
- The 2-D padding mask multiplies the hidden states first (apply_mask_to_padding_states). The mask is
  masking_utils.create_recurrent_attention_mask's: None for a single-token forward and for an all-ones mask,
  otherwise attention_mask's last T columns.
- in_proj (bias mamba_proj_bias) -> split [intermediate, conv_dim, mamba_n_heads] = (gate z, xBC, dt).
- xBC: depthwise causal conv1d (conv1d.weight (conv_dim, 1, mamba_d_conv), conv1d.bias when mamba_conv_bias, zero
  left padding: causal_conv1d_fn), then hidden_act (silu); the padding mask multiplies again; split into
  x (intermediate), B, C (mamba_n_groups * mamba_d_state each).
- A = -exp(A_log); dt = softplus(dt + dt_bias), clamped to time_step_limit (mamba2_chunk_scan; the one-token step
  mamba2_selective_state_update does not clamp, which changes nothing for the default (0, inf) after a softplus).
- Head h reads group h // (mamba_n_heads / mamba_n_groups) of B and C (repeat_interleave in mamba2_chunk_scan, the
  same expand/reshape in mamba2_selective_state_update): consecutive heads share a group.
- Per head h, state S (mamba_d_head x mamba_d_state) from zero; per token
  S = exp(dt_h A_h) S + dt_h x_h B^T,  y_h = S C + D_h x_h. Prefill runs the same recurrence in chunks of
  mamba_chunk_size (mamba2_chunk_scan), single-token steps token by token (mamba2_selective_state_update); this file
  runs it token by token, and check_chunked_scan measures an independent chunked form against it.
- norm (GraniteMoeHybridRMSNormGated, Bamba's): in float32, y * silu(z) FIRST, then y * rsqrt(mean(y^2) + eps) over
  the whole intermediate width (one group, whatever mamba_n_groups is), cast back, times norm.weight. NOTE:
  mamba_ssm's Mamba2 module normalises each of the mamba_n_groups groups separately (RMSNormGated group_size) and so
  does llama.cpp; the published Granite 4.0 H checkpoints have mamba_n_groups 1, where the two agree. These fixtures
  use 2 groups and follow transformers.
- out_proj (bias mamba_proj_bias).
- Cache (cache_utils.LinearAttentionLayer, GraniteMoeHybridMambaLayer): the last mamba_d_conv xBC columns before
  the conv (the next step reads the last mamba_d_conv - 1 of them beside the new one: causal_conv1d_update) and S.

Mixture of experts (GraniteMoeHybridMoE, GraniteMoeHybridTopKRouter, GraniteMoeHybridExperts; Granite 3's
granitemoe computes the same, and families_torch.SparseMoe.granite_moe computes it for both):
- Router: logits = router weight x in float32; top-k (num_experts_per_tok) of the LOGITS; softmax over those k.
- Expert e: gate_up_proj[e] (2 * intermediate_size, C) chunked on its output (gate first), silu(gate) * up,
  down_proj[e] (C, intermediate_size), times its routing weight, summed over the token's experts (index_add_).
- Load balancing: output_router_logits does nothing in 5.17: GraniteMoeHybridModel records no router logits
  (_can_record_outputs has none), so load_balancing_loss_func returns 0, and with labels the forward fails on
  `0.to(...)`; these folders hold no aux_loss.

Names (conversion_mapping.py: granitemoehybrid uses the "granitemoe" renamings, reversed by save_pretrained):
  hub / save_pretrained                                 -> parameter 5.17 loads it into
  model.layers.N.block_sparse_moe.input_linear.weight   -> model.layers.N.block_sparse_moe.experts.gate_up_proj
    (E, 2I, C)
  model.layers.N.block_sparse_moe.output_linear.weight  -> model.layers.N.block_sparse_moe.experts.down_proj (E, C, I)
  model.layers.N.block_sparse_moe.router.layer.weight   -> model.layers.N.block_sparse_moe.router.weight (E, C)
  every other name unchanged: model.embed_tokens.weight, model.layers.N.{input_layernorm,post_attention_layernorm}
  .weight, model.layers.N.mamba.{in_proj.weight, conv1d.weight, conv1d.bias, A_log, D, dt_bias, norm.weight,
  out_proj.weight}, model.layers.N.self_attn.{q,k,v,o}_proj.weight, model.layers.N.shared_mlp.{input_linear,
  output_linear}.weight, model.norm.weight, lm_head.weight.
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import families_torch as ft  # noqa: E402

LINEAR, FULL = "linear_attention", "full_attention"
LAYER_TYPES = [LINEAR, FULL, LINEAR, LINEAR]  # what save_pretrained writes for ["mamba", "attention", "mamba", "mamba"]
LONG_LENGTH = 150  # crosses 64-token boundaries twice (where the Java side keeps states), and many 8-token chunks
SEED = 1083  # picked among 1000..1199: the clearest greedy margin with ten different generated tokens
MOE_SEED = 1295  # picked among 1200..1399 likewise, every expert chosen in every layer, routing gap above 1e-3


# ----------------------------------------------------------------------------------------------------------
# Configuration: what GraniteMoeHybridConfig.save_pretrained writes.
# ----------------------------------------------------------------------------------------------------------
MAMBA_FIELDS = {"mamba_n_heads": 8, "mamba_d_head": 8, "mamba_n_groups": 2, "mamba_d_state": 8,
                "mamba_d_conv": 4, "mamba_expand": 2, "mamba_chunk_size": 8, "mamba_conv_bias": True,
                "mamba_proj_bias": False}


def dense_config():
    """granite-4.0-h-micro's shape, tiny: granite4's fields and scalars (families_torch.granite4_config), 4 layers
    [mamba, attention, mamba, mamba], no rotary ("nope", as the published H models), no experts; intermediate_size
    (the experts' width, unused here) differs from shared_intermediate_size."""
    return dict(ft.granite4_config(position_embedding_type="nope"), **ft.GRANITE_MOE_SIZES, **MAMBA_FIELDS,
                num_hidden_layers=4, layer_types=list(LAYER_TYPES), max_position_embeddings=256,
                shared_intermediate_size=48, intermediate_size=64, num_local_experts=0)


def moe_config():
    """granite-4.0-h-tiny's shape, tiny: the dense one plus 4 experts of width 16, 2 per token."""
    return dict(dense_config(), intermediate_size=16, num_local_experts=4, num_experts_per_tok=2)


def decoded_float(value):
    """A config float as json.load leaves it: save_pretrained writes inf and nan as {"__float__": "Infinity"}."""
    return float(value["__float__"]) if isinstance(value, dict) else float(value)


def mamba_sizes(config):
    """(heads, head dim, groups, state size, intermediate, conv_dim) of a Mamba layer."""
    heads, groups, state = config["mamba_n_heads"], config["mamba_n_groups"], config["mamba_d_state"]
    intermediate = int(config["mamba_expand"] * config["hidden_size"])
    return heads, intermediate // heads, groups, state, intermediate, intermediate + 2 * groups * state


# ----------------------------------------------------------------------------------------------------------
# The SSD recurrence, token by token, and an independent chunked form that checks it.
# ----------------------------------------------------------------------------------------------------------
def recurrent_scan(x, dt, a, b, c, state):
    """x [B, T, H, P], dt [B, T, H] (after softplus), a [H] (= -exp(A_log)), b, c [B, T, H, N] (each head's group),
    state [B, H, P, N] -> y [B, T, H, P] (without the D term), final state. Per token S = exp(dt A) S + dt x b^T,
    y = S c."""
    outputs = []
    for t in range(x.shape[1]):
        decay = torch.exp(dt[:, t] * a)[..., None, None]
        state = state * decay + (dt[:, t, :, None] * x[:, t])[..., None] * b[:, t, :, None, :]
        outputs.append((state * c[:, t, :, None, :]).sum(-1))
    return torch.stack(outputs, dim=1), state


def chunked_scan(x, dt, a, b, c, chunk):
    """The same recurrence chunk by chunk, as the SSD block decomposition computes it: within a chunk, with
    L_t = sum_{s<=t} dt_s A the cumulative log decay and S0 the state entering it,
    y_t = exp(L_t) S0 c_t + sum_{s<=t} exp(L_t - L_s) (c_t . b_s) dt_s x_s, and the state leaving it is
    exp(L_end) S0 + sum_s exp(L_end - L_s) dt_s x_s b_s^T. Same shapes as recurrent_scan; returns y."""
    state = x.new_zeros(x.shape[0], x.shape[2], x.shape[3], b.shape[3])
    outputs = []
    for start in range(0, x.shape[1], chunk):
        cx, cdt = x[:, start:start + chunk], dt[:, start:start + chunk]
        cb, cc = b[:, start:start + chunk], c[:, start:start + chunk]
        log_decay = (cdt * a).cumsum(1)  # [B, n, H]
        n = cx.shape[1]
        pairwise = log_decay[:, :, None] - log_decay[:, None, :]  # [B, t, s, H]
        causal = torch.ones(n, n, dtype=torch.bool).tril()[None, :, :, None]
        weights = torch.where(causal, pairwise, torch.tensor(-math.inf, dtype=x.dtype)).exp()
        weights = weights * torch.einsum("bthn,bshn->btsh", cc, cb) * cdt[:, None]
        within = torch.einsum("btsh,bshp->bthp", weights, cx)
        carried = torch.einsum("bhpn,bthn->bthp", state, cc) * log_decay.exp()[..., None]
        outputs.append(within + carried)
        tail = (log_decay[:, -1:] - log_decay).exp() * cdt  # [B, n, H]
        state = (log_decay[:, -1].exp()[..., None, None] * state
                 + torch.einsum("bsh,bshp,bshn->bhpn", tail, cx, cb))
    return torch.cat(outputs, dim=1)


def check_chunked_scan(model, ids):
    """Runs ids through the model, then compares, for every Mamba layer's scan inputs, the float32 recurrent form
    (the fixture's) and an independent float32 chunked form (mamba_chunk_size, like transformers' prefill) with the
    recurrent form in float64. Returns the largest |difference| over the largest |output|."""
    model.forward(ids)
    worst = {"recurrent": 0.0, "chunked": 0.0}
    for x, dt, a, b, c in model.scan_inputs.values():
        exact, _ = recurrent_scan(*(t.double() for t in (x, dt, a, b, c)),
                                  x.new_zeros(x.shape[0], x.shape[2], x.shape[3], b.shape[3]).double())
        ours, _ = recurrent_scan(x, dt, a, b, c, x.new_zeros(x.shape[0], x.shape[2], x.shape[3], b.shape[3]))
        chunked = chunked_scan(x, dt, a, b, c, model.c["mamba_chunk_size"])
        scale = exact.abs().max().item()
        worst["recurrent"] = max(worst["recurrent"], (ours.double() - exact).abs().max().item() / scale)
        worst["chunked"] = max(worst["chunked"], (chunked.double() - exact).abs().max().item() / scale)
    print(f"  SSD scan over {ids.shape[1]} tokens (chunks of {model.c['mamba_chunk_size']}), against float64 "
          f"recurrent: float32 recurrent {worst['recurrent']:.1e}, float32 chunked {worst['chunked']:.1e} (relative)")
    if max(worst.values()) > 1e-5:
        sys.exit("the chunked and recurrent SSD scans disagree beyond 1e-5")
    return worst


# ----------------------------------------------------------------------------------------------------------
# The model.
# ----------------------------------------------------------------------------------------------------------
class GraniteHybridLM(ft.CausalLM):
    """GraniteMoeHybridForCausalLM with Mamba-2 layers (and experts when num_local_experts > 0). The attention
    layers, norms, shared MLP, experts, multipliers and greedy decoding are families_torch.CausalLM's; the
    attributes set after the sizes are rules that bites() flips."""

    MIXERS = ft.CausalLM.MIXERS + (LINEAR,)

    def __init__(self, config, weights):
        super().__init__(config, weights)
        (self.ssm_heads, self.ssm_head_dim, self.groups, self.state_size, self.intermediate,
         self.conv_dim) = mamba_sizes(config)
        self.kernel = config["mamba_d_conv"]
        self.dt_min, self.dt_max = (decoded_float(limit) for limit in config["time_step_limit"])
        self.conv_silu = True  # hidden_act after the conv
        self.softplus = True  # dt = softplus(dt + dt_bias); off: dt + dt_bias
        self.groups_consecutive = True  # head h reads group h // (heads / groups); off: group h % groups
        self.gate_before_norm = True  # y * silu(z), then the RMS; off: RMS, then * silu(z)
        self.norm_groups = 1  # the gated RMS over the whole width; mamba_ssm's: mamba_n_groups
        self.zero_padding = True  # apply_mask_to_padding_states, before in_proj and after the conv
        self.scan_inputs = {}  # layer -> (x, dt, A, B, C) of the last forward, for check_chunked_scan

    def attention(self, i, x, positions, cache, key_mask, causal):
        """The token mixer of layer i: Mamba-2 on linear_attention layers, CausalLM's attention otherwise."""
        if self.layer_types[i] == LINEAR:
            return self.mamba(i, x, cache, key_mask)
        return super().attention(i, x, positions, cache, key_mask, causal)

    def mamba(self, i, x, cache, key_mask):
        """x [B, T, C] -> [B, T, C]. key_mask [B, start + T] (1 = token) or None; cache[i] = {"conv": the last
        mamba_d_conv - 1 xBC inputs [B, conv_dim, K - 1], "state": [B, H, P, N]}, replaced here."""
        p = f"model.layers.{i}.mamba."
        b, t, _ = x.shape
        # create_recurrent_attention_mask: none for one token (never padding), the last T columns otherwise
        mask = key_mask[:, -t:, None].to(x.dtype) if key_mask is not None and t > 1 and self.zero_padding else None
        if mask is not None:
            x = x * mask
        z, xbc, dt = self.linear(x, p + "in_proj").split([self.intermediate, self.conv_dim, self.ssm_heads], dim=-1)
        cached = cache is not None and i in cache
        history = cache[i]["conv"] if cached else x.new_zeros(b, self.conv_dim, self.kernel - 1)
        padded = torch.cat((history, xbc.transpose(1, 2)), dim=-1)
        xbc = F.conv1d(padded, self.w[p + "conv1d.weight"], self.w.get(p + "conv1d.bias"), groups=self.conv_dim)
        xbc = xbc.transpose(1, 2)
        if self.conv_silu:
            xbc = self.act(xbc)
        if mask is not None:
            xbc = xbc * mask
        xs, bs, cs = xbc.split([self.intermediate, self.groups * self.state_size, self.groups * self.state_size],
                               dim=-1)
        a = -torch.exp(self.w[p + "A_log"].float())
        dt = dt + self.w[p + "dt_bias"]
        if self.softplus:
            dt = F.softplus(dt)
        dt = dt.clamp(self.dt_min, self.dt_max)
        xs = xs.reshape(b, t, self.ssm_heads, self.ssm_head_dim)
        bs, cs = self.per_head(bs.reshape(b, t, self.groups, -1)), self.per_head(cs.reshape(b, t, self.groups, -1))
        self.scan_inputs[i] = (xs, dt, a, bs, cs)
        state = cache[i]["state"] if cached else x.new_zeros(b, self.ssm_heads, self.ssm_head_dim, self.state_size)
        y, state = recurrent_scan(xs, dt, a, bs, cs, state)
        y = y + self.w[p + "D"][:, None] * xs
        if cache is not None:
            cache[i] = {"conv": padded[:, :, padded.shape[-1] - (self.kernel - 1):], "state": state}
        y = self.gated_norm(y.reshape(b, t, -1), z, self.w[p + "norm.weight"])
        return self.linear(y, p + "out_proj")

    def per_head(self, grouped):
        """[B, T, G, N] -> [B, T, H, N]: consecutive heads share a group (repeat_interleave), or (a check) tiled."""
        repeat = self.ssm_heads // self.groups
        if self.groups_consecutive:
            return grouped.repeat_interleave(repeat, dim=2)
        return grouped.repeat(1, 1, repeat, 1)

    def gated_norm(self, y, z, weight):
        """GraniteMoeHybridRMSNormGated: y, z [B, T, intermediate]; float32 y * silu(z), RMS over the whole width."""
        y, gate = y.float(), F.silu(z.float())
        if self.gate_before_norm:
            y = y * gate
        split = y.reshape(*y.shape[:-1], self.norm_groups, -1)
        y = (split * torch.rsqrt(split.pow(2).mean(-1, keepdim=True) + self.eps)).reshape(y.shape)
        if not self.gate_before_norm:
            y = y * gate
        return weight * y.to(z.dtype)


# ----------------------------------------------------------------------------------------------------------
# Weights, reference tensors and the evidence that each rule matters.
# ----------------------------------------------------------------------------------------------------------
# exp(A_log) per head before the per-layer jitter: with dt around 0.5..1, per-token decays exp(-dt A) from about
# 0.98 (remembers across the long input's 64-token boundaries) down to about 0.3
A_PER_HEAD = torch.tensor([0.02, 0.05, 0.1, 0.2, 0.35, 0.6, 1.0, 1.6])


def random_weights(config, seed):
    """Published names (model.safetensors), float32 (write rounds them to bfloat16 values: ft.bf16_values)."""
    g = torch.Generator().manual_seed(seed)

    def normal(std, *shape):
        return torch.randn(*shape, generator=g) * std

    hidden, vocab = config["hidden_size"], config["vocab_size"]
    heads, _, _, _, intermediate, conv_dim = mamba_sizes(config)
    head_dim = hidden // config["num_attention_heads"]
    kv_size = config["num_key_value_heads"] * head_dim
    w = {"model.embed_tokens.weight": normal(0.1, vocab, hidden)}
    for i, kind in enumerate(config["layer_types"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1.0 + normal(0.1, hidden)
        w[p + "post_attention_layernorm.weight"] = 1.0 + normal(0.1, hidden)
        if kind == LINEAR:
            m = p + "mamba."
            w[m + "in_proj.weight"] = torch.cat((normal(0.1, intermediate + conv_dim, hidden),
                                                 normal(0.05, heads, hidden)))  # z | xBC | dt rows
            w[m + "conv1d.weight"] = normal(0.5, conv_dim, 1, config["mamba_d_conv"])
            w[m + "conv1d.bias"] = normal(0.3, conv_dim)
            w[m + "A_log"] = A_PER_HEAD.log() + normal(0.2, heads)
            w[m + "dt_bias"] = normal(0.5, heads)
            w[m + "D"] = 1.0 + normal(0.5, heads)
            w[m + "norm.weight"] = 1.0 + normal(0.1, intermediate)
            w[m + "out_proj.weight"] = normal(0.1, hidden, intermediate)
        else:
            s = p + "self_attn."
            # q/k std 0.3, as granite4: attention_multiplier 1/16 flattens std-0.1 scores
            w[s + "q_proj.weight"], w[s + "k_proj.weight"] = normal(0.3, hidden, hidden), normal(0.3, kv_size, hidden)
            w[s + "v_proj.weight"], w[s + "o_proj.weight"] = normal(0.1, kv_size, hidden), normal(0.1, hidden, hidden)
        width = config["shared_intermediate_size"]
        w[p + "shared_mlp.input_linear.weight"] = normal(0.1, 2 * width, hidden)  # gate rows, then up rows
        w[p + "shared_mlp.output_linear.weight"] = normal(0.1, hidden, width)
        if config["num_local_experts"]:
            w.update(ft.granite_expert_weights(config, i, normal))
    w["model.norm.weight"] = 1.0 + normal(0.1, hidden)
    w["lm_head.weight"] = normal(0.5, vocab, hidden)  # logits_scaling 16 would leave std-0.1 logits near 0.2
    return w


MAMBA0, ATTENTION1 = "model.layers.0.mamba.", "model.layers.1.self_attn."
GRADIENT_NAMES = [MAMBA0 + n for n in ("in_proj.weight", "conv1d.weight", "conv1d.bias", "A_log", "dt_bias", "D",
                                       "norm.weight", "out_proj.weight")] + [
    ATTENTION1 + "q_proj.weight", "model.layers.0.shared_mlp.input_linear.weight", "model.norm.weight",
    "model.layers.0.input_layernorm.weight"]
LONG_GRADIENT_NAMES = [MAMBA0 + n for n in ("in_proj.weight", "A_log", "dt_bias", "D")]


def reference_for(model, seed):
    """input_ids (2, 16), attention_mask (row 1's last 4 zero), left_attention_mask (row 1's first 4 zero), logits,
    logits_masked, logits_left_padded, loss, greedy_prompt (1, 6), greedy_output (1, 16), grad.NAME, long_input_ids
    (1, 150), long_logits, grad_long.NAME."""
    g = torch.Generator().manual_seed(seed + 1)
    ids = torch.randint(0, model.c["vocab_size"], (2, 16), generator=g)
    right, left = torch.ones_like(ids), torch.ones_like(ids)
    right[1, -4:] = 0
    left[1, :4] = 0
    long_ids = torch.randint(0, model.c["vocab_size"], (1, LONG_LENGTH), generator=g)
    names = GRADIENT_NAMES + (ft.GRANITE_MOE_GRADIENT_NAMES if model.granite_experts else [])
    logits, grads = ft.loss_gradients(model, ids, names)
    ref = {"input_ids": ids, "attention_mask": right, "left_attention_mask": left, "logits": logits,
           "loss": ft.hf_loss(logits, ids).reshape(1),
           "logits_masked": model.forward(ids, attention_mask=right),
           "logits_left_padded": model.forward(ids, attention_mask=left),
           "greedy_prompt": ids[:1, :6].clone(), "long_input_ids": long_ids}
    ref["greedy_output"] = model.greedy(ref["greedy_prompt"], 10)
    ref.update({f"grad.{name}": grad for name, grad in grads.items()})
    long_logits, long_grads = ft.loss_gradients(model, long_ids, LONG_GRADIENT_NAMES)
    ref["long_logits"] = long_logits
    ref.update({f"grad_long.{name}": grad for name, grad in long_grads.items()})
    return ref


def attention_first(weights):
    """The token mixers of layers 0 and 1 swapped (norms and MLPs stay): weights for layer types shifted so that
    layer 0 is the attention one."""
    def move(name):
        for a, b in (("0", "1"), ("1", "0")):
            for mixer in ("mamba.", "self_attn."):
                if name.startswith(f"model.layers.{a}.{mixer}"):
                    return f"model.layers.{b}." + name[len(f"model.layers.{a}."):]
        return name
    return {move(name): t for name, t in weights.items()}


def with_tensors(weights, change, suffix):
    """weights with change(t) for every tensor whose name ends with suffix (None: the tensor left out)."""
    out = {}
    for name, t in weights.items():
        if not name.endswith(suffix):
            out[name] = t
        elif change(t) is not None:
            out[name] = change(t)
    return out


def kept_error(ours, expected, mask):
    """relative_error over the positions mask keeps."""
    keep = mask.bool()
    return ft.relative_error(ours[keep], expected[keep])


def bites(name, model, ref):
    """How far the logits move when one rule is changed; fails when one moves them by less than 1e-3 (relative)."""
    ids, logits, c, w = ref["input_ids"], ref["logits"], model.c, model.w
    evidence = {}

    def moved(config=c, weights=w, **rules):
        variant = GraniteHybridLM(config, weights)
        vars(variant).update(rules)
        return ft.relative_error(variant.forward(ids), logits)

    intermediate = model.intermediate
    for what, weights in (
            ("conv bias dropped", with_tensors(w, lambda t: None, "mamba.conv1d.bias")),
            ("D dropped", with_tensors(w, torch.zeros_like, "mamba.D")),
            ("dt_bias dropped", with_tensors(w, torch.zeros_like, "mamba.dt_bias")),
            ("decay dropped (A = 0)", with_tensors(w, lambda t: torch.full_like(t, -math.inf), "mamba.A_log")),
            ("z and x halves of in_proj swapped", with_tensors(
                w, lambda t: torch.cat((t[intermediate:2 * intermediate], t[:intermediate], t[2 * intermediate:])),
                "mamba.in_proj.weight"))):
        evidence[what] = moved(weights=weights)
    for what, rule in (("SiLU after the conv dropped", {"conv_silu": False}), ("softplus dropped", {"softplus": False}),
                       ("B/C groups tiled over the heads, not consecutive", {"groups_consecutive": False}),
                       ("gated norm: RMS before the gate", {"gate_before_norm": False}),
                       ("gated norm per group (mamba_ssm), not whole width", {"norm_groups": model.groups})):
        evidence[what] = moved(**rule)
    shifted = dict(c, layer_types=[FULL, LINEAR] + c["layer_types"][2:])
    evidence["layer order shifted (attention at layer 0)"] = moved(shifted, attention_first(w))
    left = ref["left_attention_mask"]
    unzeroed = GraniteHybridLM(c, w)
    unzeroed.zero_padding = False
    evidence["padding not zeroed (logits_left_padded, kept positions)"] = kept_error(
        unzeroed.forward(ids, attention_mask=left), ref["logits_left_padded"], left)
    evidence.update(ft.family_rule_bites(model, ref))  # the four scalars, rope, the shared MLP's and experts' rules
    check_left_padding(model, ref)
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


def check_left_padding(model, ref):
    """Without rotary, a left-padded row's kept positions equal its tokens run alone: the padded positions' zeroed
    inputs leave the Mamba states at zero and the attention masks them."""
    left, padded = ref["left_attention_mask"][1].bool(), ref["logits_left_padded"][1]
    alone = model.forward(ref["input_ids"][1:, left])[0]
    diff = ft.relative_error(padded[left], alone)
    print(f"  left-padded row 1 against its 12 tokens run alone: {diff:.1e} (relative)")
    if diff > 1e-5:
        sys.exit("the left-padded row does not reproduce its tokens run alone")


def print_decays(name, model, ids):
    model.forward(ids)
    for i, (_, dt, a, _, _) in sorted(model.scan_inputs.items()):
        decay = torch.exp(dt * a).mean((0, 1))
        print(f"  {name}: layer {i}: per-token decay exp(dt A) per head (mean) {[round(x, 3) for x in decay.tolist()]}")


# folder -> (its config, its seed)
FOLDERS = {"granite4_h": (dense_config, SEED), "granite4_h_moe": (moe_config, MOE_SEED)}


def write(names, folder_of):
    """Writes the named folders (families_torch.HYBRID_FIXTURES); folder_of(name) is the folder's path."""
    for name in names:
        make_config, seed = FOLDERS[name]
        config = make_config()
        weights = ft.bf16_values(random_weights(config, seed))
        model = GraniteHybridLM(config, weights)
        ref = reference_for(model, seed)
        folder = folder_of(name)
        ft.write_model_folder(folder, config, weights)
        ft.write_safetensors(os.path.join(folder, "reference.safetensors"), ref)
        print(f"wrote {name}: loss {ref['loss'].item():.4f}, max|logit| {ref['logits'].abs().max().item():.3f}, "
              f"max|long logit| {ref['long_logits'].abs().max().item():.3f}, greedy {ref['greedy_output'].tolist()}")
        print_decays(name, model, ref["input_ids"])
        if model.granite_experts:
            ft.print_routing(name, model, ref["input_ids"])
        check_chunked_scan(model, ref["long_input_ids"])
        bites(name, GraniteHybridLM(config, weights), ref)
