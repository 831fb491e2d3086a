"""Golden references made by transformers itself: glm, glm4, ernie4_5, cohere, cohere_qk_norm (Command R+'s LayerNorm of
each query and key head) and cohere2 (whose rotary embedding
turns ADJACENT pairs (x[2i], x[2i+1])), exaone4, seed_oss, hunyuan_v1_dense, starcoder2, arcee and apertus (Llama's
halves (x[i], x[i + d/2]), with their own norms, biases, MLPs and rotary frequencies; apertus's xIELU with two
learned scalars per layer), lfm2 (gated
short-convolution layers beside attention layers, 6 layers), lfm2_moe (lfm2's layers, a mixture of experts with a
sigmoid router after the first two), glm4_moe (GLM-4.5: a grouped sigmoid router with a selection bias and shared
experts after one dense layer), ernie4_5_moe (ERNIE-4.5-MoE: a softmax router with a selection bias and shared
experts after one dense layer), qwen3_vl (a Qwen3VLForConditionalGeneration, built through
AutoModelForImageTextToText: Qwen3's language model with interleaved M-RoPE beside a tiny vision tower, text inputs
only; its tensor names, gradients' included, are the whole class's model.language_model.*), qwen3_vl_moe
(Qwen3-VL-MoE: qwen3_vl's language model with a softmax-routed mixture, every expert of a layer stored in two fused
3-D tensors in the hub's orientation, which transformers transposes on load), deepseek_v3 /
deepseek_v3_lite (DeepSeek-V3: multi-head latent attention, with YaRN and a low-rank query, or Moonlight's plain
query and default rope; GLM-4.5's router), qwen3_next (Qwen3-Next: Qwen3.5-MoE's gated DeltaNet and gated attention
layers with the DeltaNet's projections fused per key head, a dense layer among the sparse ones) and deepseek_v2 /
deepseek_v2_lite (DeepSeek-V2: DeepSeek-V3's latent attention rotated as complex numbers, a softmax router without
a selection bias, group-limited by each group's best probability or plain greedy, never renormalised), ministral3
(Ministral 3: Mistral's layer with YaRN and Llama 4's query temperature 1 + beta ln(1 + floor(p / original)) over 4
original positions), mistral3 (a Mistral3ForConditionalGeneration around ministral3's language model, a one-layer
pixtral tower; save_pretrained writes transformers 4's names) and ministral (Ministral: layer_types with sliding and
full layers; these three have 3 layers, an MLP of 32 and 64 tokens (vocab=64), to stay under 150 KB), mistral4
(Mistral 4: deepseek_v3's latent attention whose whole query heads, no-rope dims included, take Llama 4's
temperature over 4 original positions, a softmax router over 4 groups scored by their two best probabilities, fused
experts in transformers' own orientation, which save_pretrained writes and the hub stores; 2 layers, vocab 64,
built by Mistral4ForCausalLM itself: transformers 5.17 maps mistral4 to no AutoModelForCausalLM), nemotron_h
(Nemotron-H: layers of one block each, a Mamba-2 mixer with its time steps clamped at time_step_min, attention without
rotary or a squared-ReLU MLP; the checkpoint's backbone.* names, an unloaded mtp.* tensor), nemotron_h_moe (its
mixture layers: GLM-4.5's grouped sigmoid router over gateless squared-ReLU experts, a shared expert), gemma4_text
(Gemma 4's dense language model) and gemma4_text_moe (Gemma 4 with enable_moe_block: a mixture beside each layer's
MLP, its router reading the residual stream through a weightless RMS norm, router.scale and per_expert_scale, fused
GeGLU experts in transformers' orientation; the layer is the Routing's block, Gemma4Routing).

    cd /tmp && /tmp/tfvenv/bin/python <repo>/tools/reference/transformers_families.py --write [--only NAME ...]

(run it from outside the repository: its peft/ folder would shadow the peft package). Needs torch and
transformers 5.17 (torch 2.13 CPU was used), no network. For each family it builds a tiny model with
transformers' own config class, sets every weight from a fixed seed (norm weights 1 + 0.1 N(0,1), biases
0.05 N(0,1), projections 0.08 N(0,1), embeddings N(0,1), the head sized so that the logits are O(1); lfm2 then
rescales its conv kernels and in_proj biases, lfm2_wider_conv_weights; lfm2_moe, glm4_moe, ernie4_5_moe and
deepseek_v3 draw their routing biases too and rescale their routers and biases, rescale_routers (qwen3_next and
qwen3_vl_moe their routers); deepseek_v3 and deepseek_v2 also widen their query and key/value projections,
mla_weights; qwen3_next zero-centres the norms it reads as 1 + w, qwen3_next_weights), and writes
core/src/test/resources/references/NAME/:

- config.json and model.safetensors from save_pretrained (config's dtype float32, without transformers_version, no
  generation_config.json), model.safetensors in bfloat16 (half float32's bytes): build rounds every drawn weight and
  routing bias to a bfloat16 value, so the float32 references below come from exactly the stored values; another
  buffer that is no bfloat16 value (apertus's xIELU eps, gemma4_text's layer_scalar) stays float32 (as_stored_dtype),
  and FLOAT32_FAMILIES stay float32 throughout; qwen3_vl_moe's fused experts rewritten in the hub's orientation
  (Family.hub_orientation: save_pretrained writes transformers' own), as are their gradients;
- reference.safetensors, computed by that model in float32 with attn_implementation="eager": input_ids (2, 16),
  logits (2, 16, 128), loss (1) (model(input_ids, labels=input_ids).loss), attention_mask (2, 16) (row 1's last 4
  positions 0), logits_masked, greedy_prompt (1, 6), greedy_output (1, 16) (generate with the KV cache, checked
  against the argmax of uncached forwards) and grad.NAME (d loss / d NAME) for a few of layer 0's weights and
  model.norm.weight (and model.norm.bias where the norms are LayerNorms with a bias); lfm2 names its own list
  (LFM2_GRADIENTS: its layer 0 is a convolution layer) and adds left_attention_mask (row 1's first 4 positions 0)
  and logits_left_padded; the mixtures likewise (*_MOE_GRADIENTS, an expert's gradient under its hub name);
  glm4_moe's, deepseek_v3's and qwen3_next's model.safetensors also hold tensors of a multi-token-prediction layer
  (mtp_tensors, unloaded_tensors); qwen3_next's and qwen3_vl_moe's references add aux_loss and its router
  gradients; qwen3_vl adds the left-padded pair too.

The script checks each family's rotation (pairing, frequencies and scale) against transformers' rotary module and
apply_rotary_pos_emb (deepseek_v3 and deepseek_v2: their whole attention, rotation included, against mla_by_hand;
qwen3_next: its fused DeltaNet rows against fix_query_key_value_ordering and Qwen3.5's DeltaNet; qwen3_vl_moe: its
fused experts against fused_block_by_hand and a reload of the hub-oriented file), and fails unless
the greedy tokens lead their runner-up by at least MIN_MARGIN (it tries the next seed otherwise; the mixtures also
try the next seed unless every token's k-th and (k+1)-th router selection scores, and the grouped routers'
topk_group-th and next group scores, are MIN_ROUTING_GAP apart in every forward of the reference, every expert is
chosen in every layer and the selection bias, where there is one, changes some token's experts; the routers' rule,
RouterRule, is checked against every router call) and unless each family rule "bites": with the rule switched off
(transformers' module functions or attributes patched on a copy of the model) the logits move by more than BITE
relative to max |logit|.
The same command gives the same bytes on the same machine; each folder's README.md (written by hand) explains it.
"""
import argparse
import copy
import dataclasses
import json
import math
import os
import re
import sys
import tempfile
from unittest import mock

import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import load_file, save_file
from transformers.models.apertus import modeling_apertus
from transformers.models.arcee import modeling_arcee
from transformers.models.cohere import modeling_cohere
from transformers.models.cohere2 import modeling_cohere2
from transformers.models.deepseek_v2 import modeling_deepseek_v2
from transformers.models.deepseek_v3 import modeling_deepseek_v3
from transformers.models.ernie4_5 import modeling_ernie4_5
from transformers.models.ernie4_5_moe import modeling_ernie4_5_moe
from transformers.models.exaone4 import modeling_exaone4
from transformers.models.gemma4 import modeling_gemma4
from transformers.models.falcon_h1 import modeling_falcon_h1
from transformers.models.glm import modeling_glm
from transformers.models.glm4 import modeling_glm4
from transformers.models.glm4_moe import modeling_glm4_moe
from transformers.models.hunyuan_v1_dense import modeling_hunyuan_v1_dense
from transformers.models.lfm2 import modeling_lfm2
from transformers.models.lfm2_moe import modeling_lfm2_moe
from transformers.models.ministral import modeling_ministral
from transformers.models.ministral3 import modeling_ministral3
from transformers.models.mistral4 import modeling_mistral4
from transformers.models.nemotron_h import modeling_nemotron_h
from transformers.models.qwen3_5 import modeling_qwen3_5
from transformers.models.qwen3_next import modeling_qwen3_next
from transformers.models.qwen3_vl import modeling_qwen3_vl
from transformers.models.qwen3_vl_moe import modeling_qwen3_vl_moe
from transformers.models.seed_oss import modeling_seed_oss
from transformers.models.starcoder2 import modeling_starcoder2

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
REFERENCES = os.path.join(ROOT, "core", "src", "test", "resources", "references")
MIN_MARGIN = 1e-3  # smallest top-1 / top-2 logit gap allowed along the greedy path
BITE = 1e-3  # a rule switched off must move the logits by more than this, relative to max |logit|
# Families whose weights stay float32 draws, stored as float32: rounded to bfloat16 at their seed, their routing or
# greedy margins fall under MIN_ROUTING_GAP or MIN_MARGIN, and the next passing seed would be another model
FLOAT32_FAMILIES = ("lfm2_moe", "glm4_moe", "ernie4_5_moe", "deepseek_v2", "gemma4_text_moe")
SEQ, PADDED, PROMPT, NEW_TOKENS = 16, 4, 6, 10  # PADDED: right padding at the end of row 1
VOCAB, HIDDEN, HEAD_DIM = 128, 32, 8  # 4 query heads and 2 kv heads of HEAD_DIM in every family
NO_SPECIAL_TOKENS = dict(bos_token_id=None, eos_token_id=None)  # GlmConfig/Glm4Config refill eos, so not for them


DEFAULT_ROPE = {"rope_type": "default", "rope_theta": 10000.0}
# Hunyuan's published rope: "dynamic" with an NTK alpha (the base becomes theta * alpha^(d / (d - 2))); "factor" is
# a key transformers' validation requires for "dynamic"
HUNYUAN_ROPE = {"rope_type": "dynamic", "rope_theta": 10000.0, "alpha": 1000.0, "factor": 1.0}
# YaRN that interpolates 8x; beta_fast/beta_slow put the ramp between the kept and the interpolated frequencies on
# frequencies 1..3 of the 4 (0 and 1 kept, 2 half interpolated, 3 interpolated; with the defaults 32/1 and 8 dims
# every frequency but the first would be interpolated)
ARCEE_ROPE = {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 8.0, "original_max_position_embeddings": 8,
              "beta_fast": 0.1, "beta_slow": 0.01}
THREE_SLIDING_ONE_FULL = ["sliding_attention"] * 3 + ["full_attention"]
# Apertus's published llama3 rope (factor 8, frequency factors 1 and 4) over 16 original positions instead of 8,192, so
# that at 16 tokens its rule bites: of the 4 frequencies the first is blended, the other three divided by 8
APERTUS_ROPE = {"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "original_max_position_embeddings": 16,
                "low_freq_factor": 1.0, "high_freq_factor": 4.0}


def tiny(rope_parameters=None):
    """The sizes every folder shares; a fresh dict each time, since GlmConfig writes partial_rotary_factor into the
    rope_parameters it is given."""
    return dict(vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=48, num_hidden_layers=4, num_attention_heads=4,
                num_key_value_heads=2, max_position_embeddings=64, tie_word_embeddings=False, pad_token_id=None,
                rope_parameters=dict(rope_parameters or DEFAULT_ROPE))


# ---- the tiny configs ----

def glm_config(config_class):
    # partial_rotary_factor keeps the class default 0.5 (GlmConfig.__post_init__): 4 of 8 dims rotate
    return config_class(head_dim=HEAD_DIM, attention_bias=True, **tiny())


def ernie4_5_config():
    return transformers.Ernie4_5Config(head_dim=HEAD_DIM, use_bias=True, **tiny(), **NO_SPECIAL_TOKENS)


def cohere_config():
    return transformers.CohereConfig(logit_scale=0.25, use_qk_norm=False, **tiny(), **NO_SPECIAL_TOKENS)


def cohere_qk_norm_config():
    # Command R+: a LayerNorm of each query and key head, its weight (heads, head_dim)
    config = cohere_config()
    config.use_qk_norm = True
    return config


def cohere_qk_norm_bites(model, ids):
    moved = cohere_bites(modeling_cohere, modeling_cohere.CohereLayerNorm, modeling_cohere.CohereDecoderLayer)(
        model, ids)
    copied = copy.deepcopy(model)
    for layer in copied.model.layers:
        layer.self_attn.use_qk_norm = False
    moved["no q/k norm"] = logits_of(copied, ids)
    copied = copy.deepcopy(model)
    with torch.no_grad():
        for layer in copied.model.layers:  # one weight row for every head: a (head_dim) norm shared by the heads
            for norm in (layer.self_attn.q_norm, layer.self_attn.k_norm):
                norm.weight.copy_(norm.weight[:1].expand_as(norm.weight))
    moved["one norm weight shared by the heads"] = logits_of(copied, ids)
    return moved


def cohere2_config():
    # Cohere2Config sets head_dim = hidden_size // num_attention_heads = 8 itself
    return transformers.Cohere2Config(logit_scale=0.25, sliding_window=6, layer_types=THREE_SLIDING_ONE_FULL,
                                      **tiny(), **NO_SPECIAL_TOKENS)


def exaone4_config():
    # head_dim is not an Exaone4Config field: hidden_size / num_attention_heads = 8
    return transformers.Exaone4Config(sliding_window=6, layer_types=THREE_SLIDING_ONE_FULL, **tiny(),
                                      **NO_SPECIAL_TOKENS)


def seed_oss_config():
    # the published q/k/v bias and o_proj without one; mlp_bias on (published off) so that its flag is exercised;
    # dropouts 0 (the class defaults 0.1 act only in training)
    return transformers.SeedOssConfig(head_dim=HEAD_DIM, attention_bias=True, attention_out_bias=False, mlp_bias=True,
                                      attention_dropout=0.0, residual_dropout=0.0, **tiny(), **NO_SPECIAL_TOKENS)


def hunyuan_v1_dense_config():
    # head_dim must be given: the class default None breaks the rotary module
    return transformers.HunYuanDenseV1Config(head_dim=HEAD_DIM, attention_bias=True, eod_token_id=None,
                                             **tiny(HUNYUAN_ROPE), **NO_SPECIAL_TOKENS)


def starcoder2_config():
    return transformers.Starcoder2Config(sliding_window=6, use_bias=True, attention_dropout=0.0, residual_dropout=0.0,
                                         embedding_dropout=0.0, **tiny(), **NO_SPECIAL_TOKENS)


def arcee_config():
    return transformers.ArceeConfig(head_dim=HEAD_DIM, **tiny(ARCEE_ROPE), **NO_SPECIAL_TOKENS)


def apertus_config():
    # head_dim is not an ApertusConfig field: hidden_size / num_attention_heads = 8
    return transformers.ApertusConfig(**tiny(APERTUS_ROPE), **NO_SPECIAL_TOKENS)


# ---- weights ----

def drawn_buffers(model):
    """The routing bias buffers set_weights draws: lfm2_moe's expert_bias, glm4_moe's e_score_correction_bias."""
    return [(name, b) for name, b in model.named_buffers() if name.endswith(("expert_bias", "e_score_correction_bias"))]


def set_weights(model, seed, head_std):
    """Every parameter drawn from one generator in name order, so that a misplaced norm or bias shows; a routing
    bias buffer (lfm2_moe's expert_bias, glm4_moe's e_score_correction_bias, stored in the checkpoint) is drawn as a
    projection."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted([*model.named_parameters(), *drawn_buffers(model)]):
            noise = torch.randn(p.shape, generator=g)
            if name.endswith(".bias"):
                p.copy_(0.05 * noise)
            elif "norm" in name:
                p.copy_(1 + 0.1 * noise)
            elif name in ("model.embed_tokens.weight", "model.language_model.embed_tokens.weight"):
                p.copy_(noise)
            elif name == "lm_head.weight":
                p.copy_(head_std * noise)
            else:
                p.copy_(0.08 * noise)


# ---- rules switched off (each returns the logits of input_ids with one rule off) ----

def logits_of(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits


def patched_logits(model, ids, target, attribute, value):
    with mock.patch.object(target, attribute, value):
        return logits_of(model, ids)


def rotate_halves_instead(first_frequencies):
    """An apply_rotary_pos_emb that rotates Llama's halves (x[i], x[i + R/2]) over the same R dims and
    frequencies; first_frequencies(cos) gives the (B, T, R/2) table of distinct angles."""
    def apply(q, k, cos, sin, unsqueeze_dim=1):
        c, s = first_frequencies(cos), first_frequencies(sin)
        c = torch.cat((c, c), dim=-1).unsqueeze(unsqueeze_dim)
        s = torch.cat((s, s), dim=-1).unsqueeze(unsqueeze_dim)
        rotary = c.shape[-1]

        def rotate(x):
            x_rot, x_pass = x[..., :rotary], x[..., rotary:]
            half = torch.cat((-x_rot[..., rotary // 2:], x_rot[..., :rotary // 2]), dim=-1)
            return torch.cat((x_rot * c + half * s, x_pass), dim=-1)
        return rotate(q), rotate(k)
    return apply


def first_half(table):  # glm, glm4, ernie4_5: the rotary module returns cat(freqs, freqs)
    return table[..., :table.shape[-1] // 2]


def even_entries(table):  # cohere, cohere2: the rotary module returns repeat_interleave(freqs, 2)
    return table[..., ::2]


def language_model(model):
    """The decoder stack: model.model, or a vision-language model's model.model.language_model."""
    return getattr(model.model, "language_model", model.model)


def without_module(model, ids, *paths):
    """Each decoder layer's modules at `paths` (e.g. "self_attn.q_norm") replaced by the identity (norms removed)."""
    copied = copy.deepcopy(model)
    for layer in language_model(copied).layers:
        for path in paths:
            *owners, attribute = path.split(".")
            owner = layer
            for name in owners:
                owner = getattr(owner, name)
            setattr(owner, attribute, torch.nn.Identity())
    return logits_of(copied, ids)


def gate_up_swapped(model, ids):
    copied = copy.deepcopy(model)
    with torch.no_grad():
        for layer in copied.model.layers:
            w = layer.mlp.gate_up_proj.weight
            w.copy_(torch.cat(w.chunk(2, dim=0)[::-1], dim=0))
    return logits_of(copied, ids)


def rotary_with(model, ids, rope_parameters):
    """The model's own rotary module class, rebuilt from a config with other rope_parameters."""
    copied = copy.deepcopy(model)
    text = language_model(copied)
    config = copy.deepcopy(text.config)
    config.rope_parameters = rope_parameters
    text.rotary_emb = type(text.rotary_emb)(config)
    return logits_of(copied, ids)


def glm_bites(module):
    def bites(model, ids):
        return {"halves rotated instead of adjacent pairs":
                    patched_logits(model, ids, module, "apply_rotary_pos_emb", rotate_halves_instead(first_half)),
                "rotary over all 8 dims instead of 4 (partial_rotary_factor 1)":
                    rotary_with(model, ids, {**model.config.rope_parameters, "partial_rotary_factor": 1.0}),
                "gate_up_proj read as up then gate": gate_up_swapped(model, ids)}
    return bites


def glm4_bites(model, ids):
    moved = glm_bites(modeling_glm4)(model, ids)
    moved["post_self_attn_layernorm removed"] = without_module(model, ids, "post_self_attn_layernorm")
    moved["post_mlp_layernorm removed"] = without_module(model, ids, "post_mlp_layernorm")
    return moved


def biases_zeroed(model, ids, suffixes):
    copied = copy.deepcopy(model)
    with torch.no_grad():
        for name, p in copied.named_parameters():
            if name.endswith(suffixes):
                p.zero_()
    return logits_of(copied, ids)


def ernie4_5_bites(model, ids):
    return {"halves rotated instead of adjacent pairs":
                patched_logits(model, ids, modeling_ernie4_5, "apply_rotary_pos_emb",
                               rotate_halves_instead(first_half)),
            "q/k/v_proj biases zeroed": biases_zeroed(model, ids, ("q_proj.bias", "k_proj.bias", "v_proj.bias")),
            "o_proj biases zeroed": biases_zeroed(model, ids, ("o_proj.bias",)),
            "MLP biases zeroed": biases_zeroed(model, ids, ("gate_proj.bias", "up_proj.bias", "down_proj.bias"))}


def rms_norm_forward(self, hidden_states):
    """CohereLayerNorm without the mean subtracted (an RMSNorm with the same weight)."""
    x = hidden_states.float()
    return (self.weight.float() * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.variance_epsilon)
            ).to(hidden_states.dtype)


def sequential_forward(self, hidden_states, attention_mask=None, position_ids=None, past_key_values=None,
                       use_cache=False, position_embeddings=None, **kwargs):
    """The Cohere block made sequential: attention's output added before the same norm feeds the MLP."""
    attention, _ = self.self_attn(hidden_states=self.input_layernorm(hidden_states), attention_mask=attention_mask,
                                  position_ids=position_ids, past_key_values=past_key_values, use_cache=use_cache,
                                  position_embeddings=position_embeddings, **kwargs)
    hidden_states = hidden_states + attention
    return hidden_states + self.mlp(self.input_layernorm(hidden_states))


def scale_one(model, ids):
    copied = copy.deepcopy(model)
    copied.logit_scale = 1.0
    return logits_of(copied, ids)


def cohere_bites(module, norm_class, layer_class):
    def bites(model, ids):
        return {"halves rotated instead of adjacent pairs":
                    patched_logits(model, ids, module, "apply_rotary_pos_emb", rotate_halves_instead(even_entries)),
                "logit_scale 1": scale_one(model, ids),
                "LayerNorm without the mean subtracted": patched_logits(model, ids, norm_class, "forward",
                                                                         rms_norm_forward),
                "attention and MLP sequential instead of parallel":
                    patched_logits(model, ids, layer_class, "forward", sequential_forward)}
    return bites


def window_as_wide_as_the_sequence(model, ids):
    """The sliding layers see everything (the masks read config.sliding_window)."""
    copied = copy.deepcopy(model)
    copied.config.sliding_window = SEQ
    return logits_of(copied, ids)


def full_layers_rotating(model, ids, attribute, value):
    """The full-attention layers' attention given the attribute value that makes the sliding ones rotate."""
    copied = copy.deepcopy(model)
    for i, kind in enumerate(copied.config.layer_types):
        if kind == "full_attention":
            setattr(copied.model.layers[i].self_attn, attribute, value)
    return logits_of(copied, ids)


def cohere2_bites(model, ids):
    moved = cohere_bites(modeling_cohere2, modeling_cohere2.Cohere2LayerNorm,
                         modeling_cohere2.Cohere2DecoderLayer)(model, ids)
    moved["sliding window off"] = window_as_wide_as_the_sequence(model, ids)
    # Cohere2Attention rotates where its sliding_window is set
    moved["rotary on the full-attention layer too"] = full_layers_rotating(model, ids, "sliding_window",
                                                                           model.config.sliding_window)
    return moved


def post_norms_as_pre_norms(self, hidden_states, attention_mask=None, position_ids=None, past_key_values=None,
                            use_cache=False, position_embeddings=None, **kwargs):
    """The EXAONE 4 block with its two norms moved from the attention and MLP outputs onto their inputs (Llama's
    pre-norm order, the same weights)."""
    attention, _ = self.self_attn(hidden_states=self.post_attention_layernorm(hidden_states),
                                  attention_mask=attention_mask, position_ids=position_ids,
                                  past_key_values=past_key_values, use_cache=use_cache,
                                  position_embeddings=position_embeddings, **kwargs)
    hidden_states = hidden_states + attention
    return hidden_states + self.mlp(self.post_feedforward_layernorm(hidden_states))


def attention_with_qk_norms(module, norm_names, norms_first, rotates, output="o_proj"):
    """An attention forward that applies the per-head q and k norms (the attributes norm_names) before or after the
    rotation (norms_first), rotating where rotates(attention) holds; otherwise as the families' attention (biases in
    the projections, eager attention without dropout, the output projection named `output`). Ignores the KV cache:
    for single forwards only."""
    def forward(self, hidden_states, position_embeddings, attention_mask=None, **kwargs):
        shape = (*hidden_states.shape[:-1], -1, self.head_dim)
        q, k, v = (projection(hidden_states).view(shape).transpose(1, 2)
                   for projection in (self.q_proj, self.k_proj, self.v_proj))
        q_norm, k_norm = (getattr(self, name) for name in norm_names)
        if norms_first:
            q, k = q_norm(q), k_norm(k)
        if rotates(self):
            q, k = module.apply_rotary_pos_emb(q, k, *position_embeddings)
        if not norms_first:
            q, k = q_norm(q), k_norm(k)
        out, _ = module.eager_attention_forward(self, q, k, v, attention_mask, scaling=self.scaling)
        return getattr(self, output)(out.reshape(*hidden_states.shape[:-1], -1)), None
    return forward


def qk_norms_moved(model, ids, module, attention_class, norm_names, norms_first, rotates=lambda attention: True,
                   output="o_proj"):
    """Logits with the q/k norms on the other side of the rotation; the re-written attention must first give the
    model's own logits with the family's order (norms_first), so that the order is the only change."""
    def logits_with(first):
        forward = attention_with_qk_norms(module, norm_names, first, rotates, output)
        return patched_logits(model, ids, attention_class, "forward", forward)
    own = logits_with(norms_first)
    if not torch.allclose(own, logits_of(model, ids), rtol=0, atol=1e-5):
        sys.exit(f"{attention_class.__name__} re-written does not give the model's logits: off by "
                 f"{(own - logits_of(model, ids)).abs().max().item()}")
    return logits_with(not norms_first)


def exaone4_bites(model, ids):
    def rotates(attention):  # Exaone4Attention.forward: every layer without a window, else the sliding ones
        return attention.sliding_window is None or attention.is_sliding
    return {"norms on the attention/MLP inputs (pre-norm) instead of their outputs":
                patched_logits(model, ids, modeling_exaone4.Exaone4DecoderLayer, "forward", post_norms_as_pre_norms),
            "q_norm and k_norm removed": without_module(model, ids, "self_attn.q_norm", "self_attn.k_norm"),
            "q/k norms after the rotation instead of before":
                qk_norms_moved(model, ids, modeling_exaone4, modeling_exaone4.Exaone4Attention, ("q_norm", "k_norm"),
                               norms_first=True, rotates=rotates),
            "sliding window off": window_as_wide_as_the_sequence(model, ids),
            "rotary on the full-attention layer too": full_layers_rotating(model, ids, "is_sliding", True)}


ATTENTION_BIASES = ("q_proj.bias", "k_proj.bias", "v_proj.bias")
GATED_MLP_BIASES = ("gate_proj.bias", "up_proj.bias", "down_proj.bias")


def seed_oss_bites(model, ids):
    return {"q/k/v_proj biases zeroed": biases_zeroed(model, ids, ATTENTION_BIASES),
            "MLP biases zeroed": biases_zeroed(model, ids, GATED_MLP_BIASES)}


def hunyuan_v1_dense_bites(model, ids):
    return {"alpha off (theta 10000 as is)": rotary_with(model, ids, DEFAULT_ROPE),
            "q/k norms before the rotation instead of after":
                qk_norms_moved(model, ids, modeling_hunyuan_v1_dense,
                               modeling_hunyuan_v1_dense.HunYuanDenseV1Attention,
                               ("query_layernorm", "key_layernorm"), norms_first=False),
            "query_layernorm and key_layernorm removed":
                without_module(model, ids, "self_attn.query_layernorm", "self_attn.key_layernorm"),
            "q/k/v/o_proj biases zeroed": biases_zeroed(model, ids, ATTENTION_BIASES + ("o_proj.bias",))}


def activation_replaced(model, ids, attribute, function):
    """Every layer's MLP activation (the module mlp.<attribute>) replaced by `function`."""
    copied = copy.deepcopy(model)
    for layer in copied.model.layers:
        setattr(layer.mlp, attribute, function)
    return logits_of(copied, ids)


def layer_norm_without_mean(self, x):
    """nn.LayerNorm without the mean subtracted (an RMSNorm with the same weight and bias)."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight + self.bias


def starcoder2_bites(model, ids):
    return {"LayerNorm biases zeroed": biases_zeroed(model, ids, ("norm.bias",)),
            "LayerNorm without the mean subtracted":
                patched_logits(model, ids, torch.nn.LayerNorm, "forward", layer_norm_without_mean),
            # (the exact erf gelu instead of the tanh approximation moves them by only 7.3e-5: below BITE)
            "silu instead of gelu_pytorch_tanh": activation_replaced(model, ids, "act", torch.nn.SiLU()),
            "q/k/v/o_proj biases zeroed": biases_zeroed(model, ids, ATTENTION_BIASES + ("o_proj.bias",)),
            "c_fc/c_proj biases zeroed": biases_zeroed(model, ids, ("c_fc.bias", "c_proj.bias")),
            "sliding window off": window_as_wide_as_the_sequence(model, ids)}


def arcee_bites(model, ids):
    return {"relu instead of relu squared": activation_replaced(model, ids, "act_fn", torch.nn.ReLU()),
            "YaRN off (theta 10000 as is)": rotary_with(model, ids, DEFAULT_ROPE),
            "YaRN frequencies without its attention factor":
                rotary_with(model, ids, {**ARCEE_ROPE, "attention_factor": 1.0})}


# ---- Apertus: xIELU's learned scalars ----

APERTUS_GRADIENTS = ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
                     "model.layers.0.self_attn.q_norm.weight", "model.layers.0.self_attn.k_norm.weight",
                     "model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.down_proj.weight",
                     "model.layers.0.mlp.act_fn.alpha_p", "model.layers.0.mlp.act_fn.alpha_n",
                     "model.layers.3.mlp.act_fn.alpha_p", "model.layers.3.mlp.act_fn.alpha_n",
                     "model.layers.0.attention_layernorm.weight", "model.layers.0.feedforward_layernorm.weight",
                     "model.norm.weight"]


def inverse_softplus(y):
    return math.log(math.expm1(y))


def apertus_scalars(model):
    """Each layer's raw alpha_p and alpha_n drawn around transformers' initial ap = an = 0.8 (set_weights' 0.08 N(0,1)
    would leave every layer near ap = 0.69), so that a layer reading another's scalars shows."""
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for layer in model.model.layers:
            act = layer.mlp.act_fn
            act.alpha_p.copy_(inverse_softplus(0.8) + 0.5 * torch.randn(1, generator=g))
            act.alpha_n.copy_(inverse_softplus(0.8 - 0.5) + 0.5 * torch.randn(1, generator=g))


def check_apertus(model):
    """xIELU as the README states it, against the module: ap = softplus(alpha_p), an = 0.5 + softplus(alpha_n),
    ap x^2 + x / 2 above 0, (expm1(min(x, -1e-6)) - x) an + x / 2 elsewhere; beta and eps are the fixed buffers."""
    act = model.model.layers[0].mlp.act_fn
    if act.beta.item() != 0.5 or act.eps.item() != torch.tensor(-1e-6).item():
        sys.exit(f"xIELU's buffers are beta {act.beta.item()}, eps {act.eps.item()}, not 0.5 and -1e-6")
    x = torch.cat((torch.linspace(-6, 6, 241), torch.tensor([-5e-7, -1e-6, 0.0])))
    ap, an = F.softplus(act.alpha_p), 0.5 + F.softplus(act.alpha_n)
    expected = torch.where(x > 0, ap * x * x + 0.5 * x, (torch.expm1(x.clamp(max=-1e-6)) - x) * an + 0.5 * x)
    with torch.no_grad():
        if not torch.allclose(act(x), expected, rtol=0, atol=1e-6):
            sys.exit("xIELU is not the rule the README states")


def scalars_of_layer_zero_everywhere(model):
    def change(copied):
        first = copied.model.layers[0].mlp.act_fn
        for layer in copied.model.layers:
            layer.mlp.act_fn.alpha_p.copy_(first.alpha_p)
            layer.mlp.act_fn.alpha_n.copy_(first.alpha_n)
    return change


def swap_scalars(act):
    p = act.alpha_p.clone()
    act.alpha_p.copy_(act.alpha_n)
    act.alpha_n.copy_(p)


def apertus_bites(model, ids):
    return {"every layer with layer 0's scalars": changed_copy(model, ids, scalars_of_layer_zero_everywhere(model)),
            "alpha_p and alpha_n swapped": changed_copy(model, ids, lambda copied: [
                swap_scalars(layer.mlp.act_fn) for layer in copied.model.layers]),
            "squared ReLU instead of xIELU": activation_replaced(model, ids, "act_fn",
                                                                   transformers.activations.ACT2FN["relu2"]),
            "q_norm and k_norm removed": without_module(model, ids, "self_attn.q_norm", "self_attn.k_norm"),
            "llama3 rope off (theta 10000 as is)": rotary_with(model, ids, DEFAULT_ROPE)}


# ---- LFM2: gated short-convolution layers beside attention layers ----

LFM2_ROPE = {"rope_type": "default", "rope_theta": 1000000.0}  # the published base (Lfm2Config.default_theta)
# block_auto_adjust_ff_dim makes the raw intermediate_size 54 an MLP 48 wide (lfm2_mlp_width): 36, 46, 48; without
# the multiplier 40, without the rounding 46, without the 2/3 72
LFM2_FFN = dict(intermediate_size=54, block_ffn_dim_multiplier=1.3, block_multiple_of=8)
LFM2_ATTENTION_LAYERS = [2, 5]
LFM2_KERNEL_STD = 0.5  # the depthwise kernels have 3 taps each (fan-in 3): at 0.08 the conv layers would barely act
# a padded position's B * x is the product of two in_proj biases: at 0.05 each, where the padding is zeroed (before
# in_proj or after it) would barely show
LFM2_IN_PROJ_BIAS_STD = 0.3
LFM2_GRADIENTS = ["model.layers.0.conv.in_proj.weight", "model.layers.0.conv.in_proj.bias",
                  "model.layers.0.conv.conv.weight", "model.layers.0.conv.conv.bias",
                  "model.layers.0.conv.out_proj.weight", "model.layers.2.self_attn.q_proj.weight",
                  "model.layers.2.self_attn.q_layernorm.weight", "model.layers.0.feed_forward.w1.weight",
                  "model.layers.0.operator_norm.weight", "model.embedding_norm.weight"]


def lfm2_config():
    # full_attn_idxs makes layer_types (Lfm2Config.__post_init__), so config.json carries both; conv_bias gives
    # in_proj and out_proj their biases too (Lfm2ShortConv.__init__)
    settings = {**tiny(LFM2_ROPE), "num_hidden_layers": 6, **LFM2_FFN}
    return transformers.Lfm2Config(full_attn_idxs=LFM2_ATTENTION_LAYERS, conv_bias=True, conv_L_cache=3,
                                   block_auto_adjust_ff_dim=True, **settings, **NO_SPECIAL_TOKENS)


def lfm2_mlp_width(intermediate_size, block_ffn_dim_multiplier, block_multiple_of):
    """Lfm2MLP.__init__ with block_auto_adjust_ff_dim: int(2/3 of it), int(that times the multiplier), rounded up
    to a multiple of block_multiple_of."""
    width = int(block_ffn_dim_multiplier * int(2 * intermediate_size / 3))
    return block_multiple_of * ((width + block_multiple_of - 1) // block_multiple_of)


def conv_layers(model):
    return [layer.conv for layer in model.model.layers if not layer.is_attention_layer]


def attention_layers(model):
    return [layer.self_attn for layer in model.model.layers if layer.is_attention_layer]


def lfm2_wider_conv_weights(model):
    """The kernels and in_proj biases set_weights drew, rescaled to LFM2_KERNEL_STD and LFM2_IN_PROJ_BIAS_STD."""
    with torch.no_grad():
        for conv in conv_layers(model):
            conv.conv.weight.mul_(LFM2_KERNEL_STD / 0.08)
            conv.in_proj.bias.mul_(LFM2_IN_PROJ_BIAS_STD / 0.05)


def check_short_conv(model):
    """Lfm2ShortConv.forward (Lfm2MoeShortConv's is the same; no cache, no mask) against the rule the README
    states: B, C, x = output features 0..H-1, H..2H-1, 2H..3H-1 of in_proj; u = B * x; conv[t] = bias +
    sum_k w[k] u[t - 2 + k] per channel (zeros before the start, no activation); out_proj(C * conv)."""
    conv, steps = conv_layers(model)[0], 7
    h = torch.randn((1, steps, HIDDEN), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        b, c, x = conv.in_proj(h).split(HIDDEN, dim=-1)
        u = F.pad(b * x, (0, 0, 2, 0))
        w = conv.conv.weight[:, 0, :]
        bias = 0 if conv.conv.bias is None else conv.conv.bias
        expected = conv.out_proj(c * (bias + sum(w[:, k] * u[:, k:k + steps] for k in range(3))))
        got = conv(h)
    if not torch.allclose(got, expected, atol=1e-6):
        sys.exit(f"{type(conv).__name__} is not the stated rule: off by {(got - expected).abs().max().item()}")


def check_lfm2(model):
    """check_short_conv, and the MLP width against lfm2_mlp_width."""
    check_short_conv(model)
    width, formula = model.model.layers[0].feed_forward.w1.weight.shape[0], lfm2_mlp_width(**LFM2_FFN)
    if width != formula or width == LFM2_FFN["intermediate_size"]:
        sys.exit(f"the MLP is {width} wide, not the formula's {formula} (or the formula does not bite)")


def changed_copy(model, ids, change):
    """The logits of a copy whose parameters change(copy) edited in place."""
    copied = copy.deepcopy(model)
    with torch.no_grad():
        change(copied)
    return logits_of(copied, ids)


def in_proj_blocks(change):
    """Each in_proj's weight and bias as the row blocks [B, C, x], replaced by change(blocks, is_bias)."""
    def edit(model):
        for conv in conv_layers(model):
            for p in (conv.in_proj.weight, conv.in_proj.bias):
                p.copy_(torch.cat(change(list(p.chunk(3, dim=0)), p is conv.in_proj.bias), dim=0))
    return edit


def swapped(i, j):
    def change(blocks, is_bias):
        blocks[i], blocks[j] = blocks[j], blocks[i]
        return blocks
    return change


def made_one(i):
    """Block i's rows 0 and bias 1: its output is 1 everywhere (B * x becomes x, C * conv becomes conv)."""
    def change(blocks, is_bias):
        blocks[i] = torch.ones_like(blocks[i]) if is_bias else torch.zeros_like(blocks[i])
        return blocks
    return change


def each_conv(change):
    def edit(model):
        for conv in conv_layers(model):
            change(conv)
    return edit


def qk_layernorms_removed(model):
    for attention in attention_layers(model):
        attention.q_layernorm, attention.k_layernorm = torch.nn.Identity(), torch.nn.Identity()


def mlp_narrowed_to(width):
    """Only the MLP's first `width` units act (w2's other columns zeroed)."""
    def edit(model):
        for layer in model.model.layers:
            layer.feed_forward.w2.weight[:, width:] = 0
    return edit


def w1_w3_swapped(model):
    for layer in model.model.layers:
        mlp = layer.feed_forward
        mlp.w1.weight, mlp.w3.weight = mlp.w3.weight, mlp.w1.weight


def embedding_norm_removed(model):
    model.model.embedding_norm = torch.nn.Identity()


def embedding_norm_on_the_embeddings(model):
    model.model.embed_tokens = torch.nn.Sequential(model.model.embed_tokens, model.model.embedding_norm)
    embedding_norm_removed(model)


def right_padding_mask(ids):
    mask = torch.ones_like(ids)
    mask[1, SEQ - PADDED:] = 0
    return mask


def left_padding_mask(ids):
    mask = torch.ones_like(ids)
    mask[1, :PADDED] = 0
    return mask


def masked_logits(model, ids, mask):
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask).logits


def short_conv_zeroing(where):
    """An Lfm2ShortConv forward for single uncached forwards that zeroes the padded positions' inputs ("inputs", as
    transformers' apply_mask_to_padding_states does), their products B * x ("products", the conv's inputs) or
    nothing ("nothing")."""
    def forward(self, hidden_states, past_key_values=None, attention_mask=None, seq_idx=None):
        keep = 1 if attention_mask is None else attention_mask[:, :, None]
        b, c, x = self.in_proj(hidden_states * keep if where == "inputs" else hidden_states).chunk(3, dim=-1)
        products = b * x * keep if where == "products" else b * x
        convolved = modeling_lfm2.causal_conv1d_fn(products.transpose(1, 2), self.conv.weight.squeeze(1),
                                                   self.conv.bias)
        return self.out_proj(c * convolved.transpose(1, 2))
    return forward


def padding_zeroed(model, ids, mask, positions, where):
    """(masked logits with the conv layers zeroing `where` (short_conv_zeroing), transformers' own masked logits)
    at `positions`; the re-written forward zeroing the inputs must first give transformers' own."""
    def logits_with(zeroed):
        with mock.patch.object(modeling_lfm2.Lfm2ShortConv, "forward", short_conv_zeroing(zeroed)):
            return masked_logits(model, ids, mask)
    own = masked_logits(model, ids, mask)
    if not torch.allclose(logits_with("inputs"), own, rtol=0, atol=1e-5):
        sys.exit(f"Lfm2ShortConv re-written does not give the model's logits: off by "
                 f"{(logits_with('inputs') - own).abs().max().item()}")
    return logits_with(where)[positions], own[positions]


def lfm2_bites(model, ids):
    """A value is the logits of ids with the rule off, or a pair (logits with it off, transformers' own) where a
    padding mask is involved."""
    right, left = right_padding_mask(ids), left_padding_mask(ids)
    no_multiplier = lfm2_mlp_width(**{**LFM2_FFN, "block_ffn_dim_multiplier": 1.0})
    return {"in_proj's B and C blocks swapped": changed_copy(model, ids, in_proj_blocks(swapped(0, 1))),
            "in_proj's C and x blocks swapped": changed_copy(model, ids, in_proj_blocks(swapped(1, 2))),
            "B * x replaced by x": changed_copy(model, ids, in_proj_blocks(made_one(0))),
            "C * conv replaced by conv": changed_copy(model, ids, in_proj_blocks(made_one(1))),
            "conv.conv.bias zeroed": changed_copy(model, ids, each_conv(lambda conv: conv.conv.bias.zero_())),
            "in_proj and out_proj biases zeroed":
                changed_copy(model, ids, each_conv(lambda conv: (conv.in_proj.bias.zero_(),
                                                                 conv.out_proj.bias.zero_()))),
            "kernel taps reversed (a flipped convolution)":
                changed_copy(model, ids, each_conv(lambda conv: conv.conv.weight.copy_(conv.conv.weight.flip(-1)))),
            "kernel 2 taps wide (the oldest of the 3 dropped)":
                changed_copy(model, ids, each_conv(lambda conv: conv.conv.weight[..., 0].zero_())),
            "q_layernorm and k_layernorm removed": changed_copy(model, ids, qk_layernorms_removed),
            "q/k norms after the rotation instead of before":
                qk_norms_moved(model, ids, modeling_lfm2, modeling_lfm2.Lfm2Attention, ("q_layernorm", "k_layernorm"),
                               norms_first=True, output="out_proj"),
            "rope_theta 10000 instead of 1000000": rotary_with(model, ids, DEFAULT_ROPE),
            f"MLP {no_multiplier} wide (the formula without block_ffn_dim_multiplier)":
                changed_copy(model, ids, mlp_narrowed_to(no_multiplier)),
            "w1 and w3 swapped": changed_copy(model, ids, w1_w3_swapped),
            "embedding_norm removed": changed_copy(model, ids, embedding_norm_removed),
            "embedding_norm on the embeddings instead of after the last layer":
                changed_copy(model, ids, embedding_norm_on_the_embeddings),
            "padding not zeroed (logits_masked, padded positions)":
                padding_zeroed(model, ids, right, right == 0, "nothing"),
            "padding not zeroed (logits_left_padded, kept positions)":
                padding_zeroed(model, ids, left, left == 1, "nothing"),
            "B * x zeroed instead of in_proj's input (logits_left_padded, kept positions)":
                padding_zeroed(model, ids, left, left == 1, "products")}


# ---- mixtures of experts: what lfm2_moe, glm4_moe and ernie4_5_moe share ----

MIN_ROUTING_GAP = 1e-3  # smallest gap allowed between ranked selection scores a choice depends on, in any forward
# an expert's projection under its hub name, and which part of the fused tensor transformers loads it into
# (conversion_mapping's "lfm2_moe" and "qwen2_moe": the experts stacked, the gate's rows before the up's in
# gate_up_proj)
HUB_EXPERT = re.compile(r"(.*\.experts)\.(\d+)\.(w1|w3|w2|gate_proj|up_proj|down_proj)\.weight")
FUSED_EXPERT = {"w1": ("gate_up_proj", 0), "w3": ("gate_up_proj", 1), "w2": ("down_proj", None),
                "gate_proj": ("gate_up_proj", 0), "up_proj": ("gate_up_proj", 1), "down_proj": ("down_proj", None)}
EXPERT_GAP, GROUP_GAP = "k-th / (k+1)-th selection score", "topk_group-th / next group score"


@dataclasses.dataclass(frozen=True)
class RouterRule:
    """A router as its folder's README states it, from the router logits (tokens, E) and the per-expert selection bias
    (E): scores = activation(logits); the top_k experts of scores + bias (bias_in_selection), taken among the
    topk_group best of n_group equal groups of experts where n_group > 1 (a group ranked by the sum of its
    group_top best biased scores: two for GLM-4.5 and DeepSeek-V3, its best alone for DeepSeek-V2); weights =
    the chosen scores (plus the bias where bias_in_weights), divided by max(their sum, norm_min) + epsilon where
    renormalise, times scaling. A rule switched off is a dataclasses.replace of it."""

    activation: object
    top_k: int
    scaling: float = 1.0
    epsilon: float = 0.0
    norm_min: float = 0.0
    n_group: int = 1
    topk_group: int = 1
    group_top: int = 2
    bias_in_selection: bool = True
    bias_in_weights: bool = False
    renormalise: bool = True

    def route(self, logits, bias):
        """(chosen experts (tokens, top_k) in ascending order, their weights, {gap name: each token's gap between
        the ranked scores its choice depends on})."""
        scores = self.activation(logits)
        ranked = scores + bias if self.bias_in_selection else scores
        gaps = {}
        if self.n_group > 1:
            groups = ranked.view(len(ranked), self.n_group, -1).topk(self.group_top, dim=-1).values.sum(dim=-1).sort(
                dim=-1, descending=True)
            if self.topk_group < self.n_group:
                gaps[GROUP_GAP] = groups.values[:, self.topk_group - 1] - groups.values[:, self.topk_group]
            kept = torch.zeros_like(groups.values, dtype=torch.bool).scatter(1, groups.indices[:, :self.topk_group],
                                                                             True)
            ranked = ranked.masked_fill(~kept.repeat_interleave(ranked.shape[-1] // self.n_group, dim=-1), -math.inf)
        order = ranked.sort(dim=-1, descending=True)
        gaps[EXPERT_GAP] = order.values[:, self.top_k - 1] - order.values[:, self.top_k]
        chosen = order.indices[:, :self.top_k].sort(dim=-1).values
        weights = (scores + bias if self.bias_in_weights else scores).gather(-1, chosen)
        if self.renormalise:
            weights = weights / (weights.sum(dim=-1, keepdim=True).clamp(min=self.norm_min) + self.epsilon)
        return chosen, weights * self.scaling, gaps


class Routing:
    """A family's mixture: its sparse blocks are the decoder layers' `mlp_name` modules of block_class, each with
    its router (block.gate, of router_class), experts (block.experts, the hub's per-expert projections named
    expert_names: gate, up, down) and maybe shared experts (block.<shared>, an MLP with the same names, its output
    times sigmoid(block.<shared_gate>(x)) where shared_gate is set); bias_of(block) is the block's selection bias
    (E), hub_bias its name under the block in model.safetensors (None: the router has no selection bias, bias_of
    gives zeros); rule the RouterRule; remarks(model, ref) extra lines for routing_summary."""

    def __init__(self, block_class, router_class, mlp_name, expert_names, bias_of, hub_bias, rule, remarks=None,
                 shared="shared_experts", shared_gate=None):
        self.block_class, self.router_class, self.mlp_name = block_class, router_class, mlp_name
        self.expert_names, self.bias_of, self.hub_bias, self.rule = expert_names, bias_of, hub_bias, rule
        self.remarks, self.shared, self.shared_gate = remarks, shared, shared_gate

    def mlps(self, model):
        return [getattr(layer, self.mlp_name) for layer in language_model(model).layers]

    def sparse_layers(self, model):
        return [i for i, mlp in enumerate(self.mlps(model)) if isinstance(mlp, self.block_class)]

    def blocks(self, model):
        return [mlp for mlp in self.mlps(model) if isinstance(mlp, self.block_class)]

    def router(self, block):
        """The block's router module, whose forward hook sees (router logits, weights, chosen experts)."""
        return block.gate

    def router_weight(self, block):
        return block.gate.weight

    def bias_by_router(self, model):
        """Each router (by id) -> its block's selection bias."""
        return {id(block.gate): self.bias_of(block) for block in self.blocks(model)}

    def dense_mlps(self, model):
        return [mlp for mlp in self.mlps(model) if not isinstance(mlp, self.block_class)]


def hub_tensors(model):
    """The tensors save_pretrained writes (the hub's names)."""
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        return load_file(os.path.join(folder, "model.safetensors"))


def fused_slice(parameters, name):
    """The parameter slice a stored tensor loads into: itself, or an expert's part of experts.gate_up_proj /
    experts.down_proj (HUB_EXPERT)."""
    expert = HUB_EXPERT.fullmatch(name)
    if not expert:
        return parameters[name]
    own = f"{expert[1]}.{expert[3]}"  # Nemotron-H's experts: up_proj and down_proj stacked apart, no gate
    if own in parameters:
        return parameters[own][int(expert[2])]
    fused, half = FUSED_EXPERT[expert[3]]
    stacked = parameters[f"{expert[1]}.{fused}"][int(expert[2])]
    return stacked if half is None else stacked.chunk(2, dim=0)[half]


def linear_by_hand(hub, name, x):
    bias = hub.get(name + ".bias")
    return x @ hub[name + ".weight"].T + (0 if bias is None else bias)


def swiglu_by_hand(hub, prefix, names, x):
    """down(silu(gate x) * up x) from the hub tensors prefix + name (their biases where stored)."""
    gate, up, down = (prefix + name for name in names)
    return linear_by_hand(hub, down, F.silu(linear_by_hand(hub, gate, x)) * linear_by_hand(hub, up, x))


def sparse_block_by_hand(routing, hub, prefix, h):
    """A sparse block as the READMEs state it, from the hub's tensors under prefix: routing.rule on h gate^T and
    the stored bias (zeros where there is none); the sum of weight * swiglu over each token's chosen experts; plus
    the shared experts' swiglu where the block has them, times sigmoid(h shared_gate^T) where there is that gate."""
    router = h @ hub[prefix + "gate.weight"].T
    bias = hub[prefix + routing.hub_bias].view(-1) if routing.hub_bias else torch.zeros(router.shape[-1])
    chosen, weights, _ = routing.rule.route(router, bias)
    out = torch.zeros_like(h)
    for token in range(len(h)):
        for weight, expert in zip(weights[token], chosen[token].tolist()):
            out[token] += weight * swiglu_by_hand(hub, f"{prefix}experts.{expert}.", routing.expert_names, h[token])
    if f"{prefix}{routing.shared}.{routing.expert_names[0]}.weight" in hub:
        shared = swiglu_by_hand(hub, f"{prefix}{routing.shared}.", routing.expert_names, h)
        if routing.shared_gate:
            shared = torch.sigmoid(linear_by_hand(hub, prefix + routing.shared_gate, h)) * shared
        out += shared
    return out


def check_mixture(model, routing, dense_layers, dense_width):
    """The layers dense_layers dense (their MLP dense_width wide), the others sparse; save_pretrained writing each
    expert's projections under its hub name, equal to its slice of the fused tensors; the first sparse block
    against sparse_block_by_hand."""
    dense = [i for i in range(len(model.model.layers)) if i not in routing.sparse_layers(model)]
    widths = {getattr(mlp, routing.expert_names[0]).weight.shape[0] for mlp in routing.dense_mlps(model)}
    if dense != dense_layers or widths != {dense_width}:
        sys.exit(f"dense layers {dense} of widths {widths}, not {dense_layers} of {dense_width}")
    hub = hub_tensors(model)
    fused = [name for name in hub if name.endswith(("experts.gate_up_proj", "experts.down_proj"))]
    parameters = dict(model.named_parameters())
    experts = [name for name in hub if HUB_EXPERT.fullmatch(name)]
    stored = sum(block.experts.gate_up_proj.shape[0] for block in routing.blocks(model)) * 3
    if fused or len(experts) != stored or any(not torch.equal(hub[name], fused_slice(parameters, name))
                                                 for name in experts):
        sys.exit(f"save_pretrained does not write each expert's projections as conversion_mapping reads them: {fused}")
    layer = routing.sparse_layers(model)[0]
    h = torch.randn((9, HIDDEN), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = routing.mlps(model)[layer](h[None])[0]
    expected = sparse_block_by_hand(routing, hub, f"model.layers.{layer}.{routing.mlp_name}.", h)
    if not torch.allclose(got, expected, atol=1e-5):
        sys.exit(f"{routing.block_class.__name__} is not the stated rule: off by {(got - expected).abs().max().item()}")


class RouterCalls:
    """Forward hooks on a routing's routers while the context is open: each call's router number, router logits,
    chosen experts and gaps (RouterRule.route); fails when the router's choices are not the rule's."""

    def __init__(self, model, routing):
        self.routing, self.calls, self.handles = routing, [], []
        self.blocks = routing.blocks(model) if routing else []

    def __enter__(self):
        for number, block in enumerate(self.blocks):
            self.handles.append(self.routing.router(block).register_forward_hook(self.recorder(number)))
        return self

    def __exit__(self, *exception):
        for handle in self.handles:
            handle.remove()

    def recorder(self, number):
        def record(router, args, output):
            router_logits, _, chosen = output
            bias = self.routing.bias_of(self.blocks[number])
            stated, _, gaps = self.routing.rule.route(router_logits.detach(), bias)
            if not torch.equal(chosen.sort(dim=-1).values, stated):
                sys.exit(f"{type(router).__name__}'s choices are not the stated rule's")
            self.calls.append((number, router_logits.detach(), bias, stated, gaps))
        return record

    def smallest_gaps(self):
        """Over every call and token, per kind of gap: the smallest."""
        kinds = {kind for *_, gaps in self.calls for kind in gaps}
        return {kind: min(gaps[kind].min().item() for *_, gaps in self.calls) for kind in sorted(kinds)}


def routing_of(model, ids, routing):
    """Per sparse layer: (its index, how many tokens of ids chose each expert, how many tokens' experts differ from
    the rule's choice without the selection bias, i.e. what the bias changes; without a bias, from the rule's choice
    without groups, i.e. what the group limit changes)."""
    with RouterCalls(model, routing) as recorded:
        logits_of(model, ids)
    layers = routing.sparse_layers(model)
    unbiased_rule = (dataclasses.replace(routing.rule, bias_in_selection=False) if routing.hub_bias else
                     dataclasses.replace(routing.rule, n_group=1, topk_group=1))
    result = []
    for number, router_logits, bias, chosen, _ in recorded.calls:
        unbiased, _, _ = unbiased_rule.route(router_logits, bias)
        result.append((layers[number], torch.bincount(chosen.reshape(-1), minlength=len(bias)).tolist(),
                       (chosen != unbiased).any(dim=-1).sum().item()))
    return result


def rule_forward(bias_by_router, rule):
    """A router forward computing the router logits in float32 and routing them by `rule` with the router's
    selection bias (bias_by_router: Routing.bias_by_router)."""
    def forward(self, hidden_states, *ignored):  # Lfm2MoeTopKRouter's second argument: its block's expert_bias
        router_logits = F.linear(hidden_states.reshape(-1, hidden_states.shape[-1]).float(), self.weight.float())
        chosen, weights, _ = rule.route(router_logits, bias_by_router[id(self)])
        return router_logits, weights.to(hidden_states.dtype), chosen
    return forward


def routed_logits(model, ids, routing, **changes):
    """Logits with every router routing by its rule with `changes`; the rule unchanged must first give the model's
    own logits."""
    def logits_with(rule):
        return patched_logits(model, ids, routing.router_class, "forward",
                              rule_forward(routing.bias_by_router(model), rule))
    stated = logits_with(routing.rule)
    if not torch.allclose(stated, logits_of(model, ids), rtol=0, atol=1e-5):
        sys.exit(f"{routing.router_class.__name__} as the stated rule does not give the model's logits: off by "
                 f"{(stated - logits_of(model, ids)).abs().max().item()}")
    return logits_with(dataclasses.replace(routing.rule, **changes))


def down_projections_zeroed(mlps_of, routing):
    """An edit zeroing the down projection (weight and bias) of each MLP mlps_of(model) lists: their output is 0."""
    def edit(model):
        for mlp in mlps_of(model):
            for p in getattr(mlp, routing.expert_names[2]).parameters():
                p.zero_()
    return edit


def experts_dropped(routing):
    def edit(model):
        for block in routing.blocks(model):
            block.experts.down_proj.zero_()
    return edit


def experts_gate_up_swapped(routing):
    def edit(model):
        for block in routing.blocks(model):
            gate_up = block.experts.gate_up_proj
            gate_up.copy_(torch.cat(gate_up.chunk(2, dim=1)[::-1], dim=1))
    return edit


def routing_bites(routing, model, ids):
    """The edits every mixture's logits must show: each dense layer's MLP dropped (what a loader that took it for
    sparse computes, the mixture tensors it looks for being absent), the routed experts dropped, each expert's
    gate and up projections swapped, the shared experts dropped (where there are some)."""
    moved = {"the dense layers' MLP dropped (taken for sparse, no mixture tensors)":
                 changed_copy(model, ids, down_projections_zeroed(routing.dense_mlps, routing)),
             "the experts dropped (sparse layers without their routed experts)":
                 changed_copy(model, ids, experts_dropped(routing)),
             "each expert's gate and up projections swapped":
                 changed_copy(model, ids, experts_gate_up_swapped(routing))}
    if getattr(routing.blocks(model)[0], routing.shared, None) is not None:
        shared = down_projections_zeroed(lambda copied: [getattr(block, routing.shared)
                                                         for block in routing.blocks(copied)], routing)
        moved["no shared experts"] = changed_copy(model, ids, shared)
    return moved


def rescale_routers(routing, router_std, bias_std):
    """The routers and selection biases (where the routing has some) set_weights drew (0.08 N(0,1)) rescaled to
    router_std and bias_std."""
    def adjust(model):
        with torch.no_grad():
            for block in routing.blocks(model):
                routing.router_weight(block).mul_(router_std / 0.08)
                if routing.hub_bias:
                    routing.bias_of(block).mul_(bias_std / 0.08)
    return adjust


def routing_refusal(model, ref, calls, routing):
    """Why a seed's routing is refused (None: accepted): a gap below MIN_ROUTING_GAP in any forward of the
    reference (calls), an expert no token of input_ids chooses in some layer, or the selection bias (where there is
    one) changing nothing."""
    small = [f"{kind} gap {gap:.2e}" for kind, gap in calls.smallest_gaps().items() if gap < MIN_ROUTING_GAP]
    if small:
        return f"smallest {', '.join(small)} < {MIN_ROUTING_GAP}"
    layers = routing_of(model, ref["input_ids"], routing)
    if any(0 in counts for _, counts, _ in layers):
        return f"an expert no token chooses {[counts for _, counts, _ in layers]}"
    if routing.hub_bias and sum(changed for _, _, changed in layers) == 0:
        return "the selection bias changes no token's experts"
    return None


def routing_summary(model, ref, calls, routing):
    """Prints routing_of's counts, the smallest gaps of calls and the routing's remarks."""
    tokens = ref["input_ids"].numel()
    for layer, counts, changed in routing_of(model, ref["input_ids"], routing):
        bias = (f", the selection bias changes the experts of {changed} of them" if routing.hub_bias else
                f", the group limit changes the experts of {changed} of them" if routing.rule.n_group > 1 else "")
        print(f"  layer {layer}: tokens per expert {counts} ({tokens} tokens x {routing.rule.top_k}){bias}")
    for kind, gap in calls.smallest_gaps().items():
        print(f"  smallest {kind} gap over the reference's {len(calls.calls)} router calls: {gap:.4f}")
    for remark in routing.remarks(model, ref) if routing.remarks else ():
        print(f"  {remark}")


# ---- LFM2-MoE: LFM2's layers with a sigmoid-routed mixture of experts after the first num_dense_layers ----

LFM2_MOE_DENSE_LAYERS = 2
LFM2_MOE_EXPERTS, LFM2_MOE_TOP_K, LFM2_MOE_SCALING = 4, 2, 2.5
LFM2_MOE_ROUTER_STD = 0.3  # router logits of a few units: sigmoids spread over (0, 1), their ranks far apart
LFM2_MOE_EXPERT_BIAS_STD = 0.15  # large enough to change some tokens' experts, small enough to leave every expert used
LFM2_MOE_GRADIENTS = ["model.layers.0.conv.in_proj.weight", "model.layers.0.feed_forward.w1.weight",
                      "model.layers.2.self_attn.q_proj.weight", "model.layers.2.feed_forward.gate.weight",
                      "model.layers.2.feed_forward.experts.1.w1.weight",
                      "model.layers.2.feed_forward.experts.1.w2.weight", "model.embedding_norm.weight"]


def lfm2_moe_config():
    # Lfm2MoeConfig has no full_attn_idxs (it would be ignored): layer_types is required; the dense MLP takes
    # intermediate_size as is (no block_auto_adjust_ff_dim)
    settings = {**tiny(LFM2_ROPE), "num_hidden_layers": 6}
    return transformers.Lfm2MoeConfig(layer_types=["conv", "conv", "full_attention"] * 2, conv_bias=False,
                                      conv_L_cache=3, num_dense_layers=LFM2_MOE_DENSE_LAYERS,
                                      moe_intermediate_size=16, num_experts=LFM2_MOE_EXPERTS,
                                      num_experts_per_tok=LFM2_MOE_TOP_K, use_expert_bias=True, norm_topk_prob=True,
                                      routed_scaling_factor=LFM2_MOE_SCALING, **settings, **NO_SPECIAL_TOKENS)


def lfm2_moe_remarks(model, ref):
    epsilon_off = routed_logits(model, ref["input_ids"], LFM2_MOE_ROUTING, epsilon=0.0)
    return [f"(the renormalisation's + 1e-6 removed moves the logits by "
            f"{((epsilon_off - ref['logits']).abs().max() / ref['logits'].abs().max()).item():.1e} relative: "
            f"no fixture can see it)"]


# Lfm2MoeTopKRouter: the top k of sigmoid(logits) + expert_bias (the block's buffer, passed as the router's second
# argument); weights the chosen sigmoids over (their sum + 1e-6), times routed_scaling_factor
LFM2_MOE_ROUTING = Routing(modeling_lfm2_moe.Lfm2MoeSparseMoeBlock, modeling_lfm2_moe.Lfm2MoeTopKRouter,
                           "feed_forward", ("w1", "w3", "w2"), lambda block: block.expert_bias, "expert_bias",
                           RouterRule(torch.sigmoid, LFM2_MOE_TOP_K, scaling=LFM2_MOE_SCALING, epsilon=1e-6),
                           remarks=lfm2_moe_remarks)


def lfm2_moe_weights(model):
    """LFM2's wider kernels; the routers and expert biases rescaled to LFM2_MOE_ROUTER_STD and
    LFM2_MOE_EXPERT_BIAS_STD."""
    with torch.no_grad():
        for conv in conv_layers(model):
            conv.conv.weight.mul_(LFM2_KERNEL_STD / 0.08)
    rescale_routers(LFM2_MOE_ROUTING, LFM2_MOE_ROUTER_STD, LFM2_MOE_EXPERT_BIAS_STD)(model)


def check_lfm2_moe(model):
    """check_short_conv; check_mixture (the first num_dense_layers layers dense and as wide as intermediate_size:
    no block_auto_adjust_ff_dim); no router loss (output_router_logits accepted and ignored)."""
    check_short_conv(model)
    check_mixture(model, LFM2_MOE_ROUTING, list(range(LFM2_MOE_DENSE_LAYERS)), 48)
    output = model(input_ids=torch.zeros((1, 3), dtype=torch.long), output_router_logits=True)
    if getattr(output, "aux_loss", None) is not None or getattr(output, "router_logits", None) is not None:
        sys.exit("Lfm2MoeForCausalLM now returns a router loss or router logits: the README says it does not")


def dense_mlps_scaled(model):
    """The dense layers' MLP output times routed_scaling_factor, as if they were one always-chosen expert."""
    for mlp in LFM2_MOE_ROUTING.dense_mlps(model):
        mlp.w2.weight.mul_(LFM2_MOE_SCALING)


def expert_bias_reversed(model):
    for block in LFM2_MOE_ROUTING.blocks(model):
        block.expert_bias.copy_(block.expert_bias.flip(0))


def lfm2_moe_bites(model, ids):
    routing = LFM2_MOE_ROUTING
    return {"softmax instead of sigmoid": routed_logits(model, ids, routing, activation=lambda l: l.softmax(dim=-1)),
            "expert_bias ignored in the selection": routed_logits(model, ids, routing, bias_in_selection=False),
            "expert_bias added to the weights too": routed_logits(model, ids, routing, bias_in_weights=True),
            "no renormalisation over the chosen experts": routed_logits(model, ids, routing, renormalise=False),
            "routed_scaling_factor 1": routed_logits(model, ids, routing, scaling=1.0),
            "expert_bias applied to the experts in reverse order": changed_copy(model, ids, expert_bias_reversed),
            "the dense layers scaled as a routed expert (times routed_scaling_factor)":
                changed_copy(model, ids, dense_mlps_scaled),
            **routing_bites(routing, model, ids)}


# ---- GLM-4.5 (glm4_moe): q/k/v biases, q/k norms, partial rotary on halves, a grouped sigmoid router ----

GLM4_MOE_EXPERTS, GLM4_MOE_TOP_K, GLM4_MOE_GROUPS, GLM4_MOE_KEPT_GROUPS, GLM4_MOE_SCALING = 8, 2, 4, 2, 2.5
GLM4_MOE_ROUTER_STD = 0.3  # as LFM2-MoE's: sigmoids spread over (0, 1)
GLM4_MOE_BIAS_STD = 0.15  # e_score_correction_bias: changes some tokens' experts and groups, leaves every expert used
# layer 0 dense, layer 1 the first sparse one (expert 5: chosen by 6 of its 32 tokens)
GLM4_MOE_GRADIENTS = ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.gate_proj.weight",
                      "model.layers.1.mlp.gate.weight", "model.layers.1.mlp.experts.5.gate_proj.weight",
                      "model.layers.1.mlp.experts.5.down_proj.weight",
                      "model.layers.1.mlp.shared_experts.up_proj.weight", "model.norm.weight"]
GATED_MLP = ("gate_proj", "up_proj", "down_proj")


def glm4_moe_config():
    # partial_rotary_factor keeps the class default 0.5 (Glm4MoeConfig.__post_init__ writes it into rope_parameters)
    return transformers.Glm4MoeConfig(head_dim=HEAD_DIM, attention_bias=True, use_qk_norm=True, first_k_dense_replace=1,
                                      n_routed_experts=GLM4_MOE_EXPERTS, num_experts_per_tok=GLM4_MOE_TOP_K,
                                      n_group=GLM4_MOE_GROUPS, topk_group=GLM4_MOE_KEPT_GROUPS,
                                      moe_intermediate_size=16, n_shared_experts=1, norm_topk_prob=True,
                                      routed_scaling_factor=GLM4_MOE_SCALING, **tiny(), **NO_SPECIAL_TOKENS)


def grouped_sigmoid_routing(block_class, router_class):
    """Glm4MoeTopkRouter's rule (DeepseekV3TopkRouter's is the same): the top k of sigmoid(logits) +
    e_score_correction_bias among the topk_group best of n_group groups; weights the chosen sigmoids over (their
    sum + 1e-20), times routed_scaling_factor."""
    return Routing(block_class, router_class, "mlp", GATED_MLP, lambda block: block.gate.e_score_correction_bias,
                   "gate.e_score_correction_bias",
                   RouterRule(torch.sigmoid, GLM4_MOE_TOP_K, scaling=GLM4_MOE_SCALING, epsilon=1e-20,
                              n_group=GLM4_MOE_GROUPS, topk_group=GLM4_MOE_KEPT_GROUPS))


GLM4_MOE_ROUTING = grouped_sigmoid_routing(modeling_glm4_moe.Glm4MoeMoE, modeling_glm4_moe.Glm4MoeTopkRouter)


def mtp_tensors(layer, names):
    """extra_tensors: tensors of the multi-token-prediction layer the published checkpoints store after the last
    decoder layer (model.layers.<num_hidden_layers>.*), which transformers does not load: a loader must skip them."""
    return unloaded_tensors([f"model.layers.{layer}.{name}" for name in names])


def unloaded_tensors(names):
    """extra_tensors: 0.08 N(0,1) tensors under `names` that transformers does not load (a multi-token-prediction
    layer's), of shape (4, 8), never a published shape: a loader must skip them by name, whatever the shape."""
    def tensors():
        g = torch.Generator().manual_seed(4)
        return {name: 0.08 * torch.randn((4, 8), generator=g) for name in names}
    return tensors


def check_grouped_mixture(model, routing):
    """check_mixture (layer 0 dense, 48 wide); no router loss (the output carries none)."""
    check_mixture(model, routing, [0], 48)
    output = model(input_ids=torch.zeros((1, 3), dtype=torch.long))
    if getattr(output, "aux_loss", None) is not None or getattr(output, "router_logits", None) is not None:
        sys.exit(f"{type(model).__name__} now returns a router loss or router logits: the README says it does not")


def rotate_adjacent_instead(q, k, cos, sin, unsqueeze_dim=1):
    """apply_rotary_pos_emb turning adjacent pairs (x[2i], x[2i+1]) of the first R dims (R = the table's width)
    by the angles the halves rule gives (x[i], x[i + R/2]); the other dims pass."""
    c, s = (first_half(table).repeat_interleave(2, dim=-1).unsqueeze(unsqueeze_dim) for table in (cos, sin))
    rotary = c.shape[-1]

    def rotate(x):
        x_rot, x_pass = x[..., :rotary], x[..., rotary:]
        turned = torch.stack((-x_rot[..., 1::2], x_rot[..., 0::2]), dim=-1).flatten(-2)
        return torch.cat((x_rot * c + turned * s, x_pass), dim=-1)
    return rotate(q), rotate(k)


def grouped_router_bites(routing, model, ids, expert_bites=None):
    """The router rules GLM-4.5's, DeepSeek-V3's and Nemotron-H's logits must show, then expert_bites (default:
    routing_bites)."""
    return {"softmax instead of sigmoid": routed_logits(model, ids, routing, activation=lambda l: l.softmax(dim=-1)),
            "e_score_correction_bias ignored in the selection": routed_logits(model, ids, routing,
                                                                              bias_in_selection=False),
            "e_score_correction_bias added to the weights too": routed_logits(model, ids, routing,
                                                                              bias_in_weights=True),
            "groups ignored (n_group 1)": routed_logits(model, ids, routing, n_group=1, topk_group=1),
            "no renormalisation over the chosen experts": routed_logits(model, ids, routing, renormalise=False),
            "routed_scaling_factor 1": routed_logits(model, ids, routing, scaling=1.0),
            **(routing_bites(routing, model, ids) if expert_bites is None else expert_bites)}


def glm4_moe_bites(model, ids):
    return {**grouped_router_bites(GLM4_MOE_ROUTING, model, ids),
            "q_norm and k_norm removed": without_module(model, ids, "self_attn.q_norm", "self_attn.k_norm"),
            "q/k norms after the rotation instead of before":
                qk_norms_moved(model, ids, modeling_glm4_moe, modeling_glm4_moe.Glm4MoeAttention, ("q_norm", "k_norm"),
                               norms_first=True),
            "rotary over all 8 dims instead of 4 (partial_rotary_factor 1)":
                rotary_with(model, ids, {**model.config.rope_parameters, "partial_rotary_factor": 1.0}),
            "adjacent pairs rotated instead of halves (GLM-4's rule)":
                patched_logits(model, ids, modeling_glm4_moe, "apply_rotary_pos_emb", rotate_adjacent_instead),
            "q/k/v_proj biases zeroed": biases_zeroed(model, ids, ATTENTION_BIASES)}


# ---- ERNIE-4.5-MoE (ernie4_5_moe): ERNIE 4.5's attention, a float32 softmax router with a selection bias ----

ERNIE4_5_MOE_EXPERTS, ERNIE4_5_MOE_TOP_K = 8, 2
ERNIE4_5_MOE_ROUTER_STD = 0.3  # router logits of a few units: softmax probabilities spread
ERNIE4_5_MOE_BIAS_STD = 0.05  # on the scale of the probabilities (about 1/8 each)
# layer 0 dense, layer 1 the first sparse one (expert 5: chosen by 7 of its 32 tokens)
ERNIE4_5_MOE_GRADIENTS = ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.gate_proj.weight",
                          "model.layers.1.mlp.gate.weight", "model.layers.1.mlp.experts.5.gate_proj.weight",
                          "model.layers.1.mlp.experts.5.down_proj.weight",
                          "model.layers.1.mlp.shared_experts.up_proj.weight", "model.norm.weight"]


def ernie4_5_moe_config():
    # moe_layer_end_index: the class default -1 would become num_hidden_layers - 1 = 3 too (__post_init__)
    return transformers.Ernie4_5_MoeConfig(head_dim=HEAD_DIM, use_bias=True, moe_num_experts=ERNIE4_5_MOE_EXPERTS,
                                           moe_k=ERNIE4_5_MOE_TOP_K, moe_intermediate_size=16,
                                           moe_num_shared_experts=1, moe_layer_start_index=1, moe_layer_end_index=3,
                                           moe_layer_interval=1, **tiny(), **NO_SPECIAL_TOKENS)


# Ernie4_5_MoeTopKRouter: in float32, the top k of softmax(logits) + moe_statics.e_score_correction_bias; weights
# the chosen probabilities over clamp(their sum, min=moe_norm_min); no scaling
ERNIE4_5_MOE_ROUTING = Routing(modeling_ernie4_5_moe.Ernie4_5_MoeSparseMoeBlock,
                               modeling_ernie4_5_moe.Ernie4_5_MoeTopKRouter, "mlp", GATED_MLP,
                               lambda block: block.gate.moe_statics.e_score_correction_bias.view(-1),
                               "moe_statics.e_score_correction_bias",
                               RouterRule(lambda logits: logits.softmax(dim=-1), ERNIE4_5_MOE_TOP_K, norm_min=1e-12))


def check_ernie4_5_moe(model):
    """check_mixture (layer 0 dense, 48 wide); the routed experts without biases while use_bias gives them to the
    shared experts and lm_head."""
    check_mixture(model, ERNIE4_5_MOE_ROUTING, [0], 48)
    block = ERNIE4_5_MOE_ROUTING.blocks(model)[0]
    if [n for n, _ in block.experts.named_parameters()] != ["gate_up_proj", "down_proj"] or \
            block.shared_experts.up_proj.bias is None or model.lm_head.bias is None:
        sys.exit("the biases use_bias gives are not the README's")


def ernie4_5_moe_bites(model, ids):
    routing = ERNIE4_5_MOE_ROUTING
    return {"e_score_correction_bias ignored in the selection": routed_logits(model, ids, routing,
                                                                              bias_in_selection=False),
            "e_score_correction_bias added to the weights too": routed_logits(model, ids, routing,
                                                                              bias_in_weights=True),
            "no renormalisation over the chosen experts": routed_logits(model, ids, routing, renormalise=False),
            **routing_bites(routing, model, ids),
            "halves rotated instead of adjacent pairs":
                patched_logits(model, ids, modeling_ernie4_5_moe, "apply_rotary_pos_emb",
                               rotate_halves_instead(first_half)),
            "lm_head bias zeroed": biases_zeroed(model, ids, ("lm_head.bias",))}


# ---- Qwen3-VL: Qwen3's language model inside Qwen3VLForConditionalGeneration, with interleaved M-RoPE ----

# the published rotary (Qwen3-VL-2B/4B/8B text_config: theta 5e6, interleaved sections [24, 20, 20] of head_dim 128's
# 64 frequencies), its sections scaled to this head_dim's 4 frequencies: 0 and 3 temporal, 1 height, 2 width
QWEN3_VL_ROPE = {"rope_type": "default", "rope_theta": 5000000.0, "mrope_section": [2, 1, 1], "mrope_interleaved": True}
QWEN3_VL_EMBED_STD = 0.1  # the tied head reads the embeddings: N(0, 0.1^2) keeps the logits O(1)


def qwen3_vl_text():
    """Qwen3-VL's (and Qwen3-VL-MoE's) tiny text_config: the text model is Qwen3's (q/k norms per head, no biases)."""
    return dict(vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=48, num_hidden_layers=3, num_attention_heads=4,
                num_key_value_heads=2, head_dim=HEAD_DIM, max_position_embeddings=64, pad_token_id=None,
                rope_parameters=dict(QWEN3_VL_ROPE))


def qwen3_vl_vision():
    """A tiny vision tower (one block, deepstack after it) that text-only inputs never run, whose tensors a loader of
    the language model must skip."""
    return dict(depth=1, hidden_size=16, intermediate_size=32, num_heads=2, patch_size=2, temporal_patch_size=2,
                spatial_merge_size=2, out_hidden_size=HIDDEN, num_position_embeddings=16, deepstack_visual_indexes=[0])


def qwen3_vl_config():
    # the 2B and 4B tie the head at the top level, the only tie_word_embeddings Qwen3VLForConditionalGeneration reads
    return transformers.Qwen3VLConfig(text_config=qwen3_vl_text(), vision_config=qwen3_vl_vision(),
                                      tie_word_embeddings=True)


def qwen3_vl_weights(model):
    with torch.no_grad():
        language_model(model).embed_tokens.weight.mul_(QWEN3_VL_EMBED_STD)


def check_text_mrope(model):
    """For text the M-RoPE sections change nothing: the three rows of positions are equal, so every frequency turns
    by the same angle whichever row it reads."""
    ids = torch.randint(0, VOCAB, (2, SEQ), generator=torch.Generator().manual_seed(0))
    plain = rotary_with(model, ids, {**QWEN3_VL_ROPE, "mrope_section": [4, 0, 0]})
    if not torch.equal(plain, logits_of(model, ids)):
        sys.exit(f"{model.config.model_type}: text logits depend on mrope_section: off by "
                 f"{(plain - logits_of(model, ids)).abs().max().item()}")


def check_qwen3_vl(model):
    """The head is tied (save_pretrained writes no lm_head.weight); check_text_mrope."""
    if "lm_head.weight" in hub_tensors(model):
        sys.exit("qwen3_vl: the tied head was saved as its own tensor")
    check_text_mrope(model)


def qwen3_vl_bites(model, ids):
    return {"q_norm and k_norm removed": without_module(model, ids, "self_attn.q_norm", "self_attn.k_norm"),
            "q/k norms after the rotation instead of before":
                qk_norms_moved(model, ids, modeling_qwen3_vl, modeling_qwen3_vl.Qwen3VLTextAttention,
                               ("q_norm", "k_norm"), norms_first=True),
            "rope_theta 10000 instead of 5000000": rotary_with(model, ids, {**QWEN3_VL_ROPE, "rope_theta": 10000.0})}


# ---- DeepSeek-V3 (deepseek_v3): multi-head latent attention, GLM-4.5's grouped sigmoid router ----

# YaRN as the published DeepSeek-V3 writes it (factor 40 there), 4x here; mscale differs from mscale_all_dim so that
# the rotary's attention factor (their ratio) is not 1 (the published checkpoints set both to 1.0: a factor of
# exactly 1, which no fixture could check)
DEEPSEEK_V3_ROPE = {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "original_max_position_embeddings": 16,
                    "mscale": 0.5, "mscale_all_dim": 1.0, "beta_fast": 32, "beta_slow": 1}
# all four sizes different on purpose: a split read at the wrong size shows
ROTARY_DIMS, NOPE_DIMS, VALUE_DIMS, KV_RANK = 4, 6, 5, 8
MLA = dict(kv_lora_rank=KV_RANK, qk_nope_head_dim=NOPE_DIMS, qk_rope_head_dim=ROTARY_DIMS, v_head_dim=VALUE_DIMS)
LATENT_NORM_EPS = 1e-6  # DeepseekV3RMSNorm's default: q_a_layernorm and kv_a_layernorm never read rms_norm_eps
# q_b_proj / q_proj, kv_b_proj and kv_a_proj_with_mqa (whose last dims are the rotary key) at 0.08 give scores of
# about 0.06: the attention would be nearly uniform and its rules (rotary, scale) barely show
MLA_PROJECTION_STD = 0.3
MLA_MODULES = ("q_proj", "q_a_proj", "q_a_layernorm", "q_b_proj", "kv_a_proj_with_mqa", "kv_a_layernorm",
                    "kv_b_proj", "o_proj")


def deepseek_v3_config(lite):
    """The full shape (q through q_lora_rank 12, adjacent pairs, YaRN, no biases, 4 layers) or lite's (Moonlight's
    attention: a plain q_proj, halves, the default rope, attention_bias, 2 layers). num_key_value_heads must equal
    num_attention_heads: the latent expands to every head and repeat_kv would repeat them again."""
    settings = {**tiny(DEFAULT_ROPE if lite else DEEPSEEK_V3_ROPE), "num_key_value_heads": 4}
    if lite:
        settings["num_hidden_layers"] = 2
    return transformers.DeepseekV3Config(q_lora_rank=None if lite else 12, rope_interleave=not lite,
                                         attention_bias=lite, **MLA, first_k_dense_replace=1,
                                         n_routed_experts=GLM4_MOE_EXPERTS, num_experts_per_tok=GLM4_MOE_TOP_K,
                                         n_group=GLM4_MOE_GROUPS, topk_group=GLM4_MOE_KEPT_GROUPS,
                                         moe_intermediate_size=16, n_shared_experts=1, norm_topk_prob=True,
                                         routed_scaling_factor=GLM4_MOE_SCALING, **settings, **NO_SPECIAL_TOKENS)


DEEPSEEK_V3_ROUTING = grouped_sigmoid_routing(modeling_deepseek_v3.DeepseekV3MoE,
                                              modeling_deepseek_v3.DeepseekV3TopkRouter)


def deepseek_v3_gradients(lite, expert):
    """mla_gradients for Moonlight's shape (a plain q_proj, attention biases) or DeepSeek-V3's."""
    return mla_gradients(plain_query=lite, biases=lite, expert=expert)


def mla_gradients(plain_query, biases, expert):
    """Layer 0's attention (its query path q_proj, or q_a_proj, q_a_layernorm and q_b_proj; its biases where there
    are some) and dense MLP, layer 1's router, expert `expert` and shared experts, the final norm."""
    attention = "model.layers.0.self_attn."
    query = ["q_proj.weight"] if plain_query else ["q_a_proj.weight", "q_a_layernorm.weight", "q_b_proj.weight"]
    biases = ["kv_a_proj_with_mqa.bias", "o_proj.bias"] if biases else []
    return ([attention + name for name in query + ["kv_a_proj_with_mqa.weight", "kv_a_layernorm.weight",
                                                   "kv_b_proj.weight", "o_proj.weight"] + biases] +
            ["model.layers.0.mlp.gate_proj.weight", "model.layers.1.mlp.gate.weight",
             f"model.layers.1.mlp.experts.{expert}.gate_proj.weight",
             f"model.layers.1.mlp.experts.{expert}.down_proj.weight",
             "model.layers.1.mlp.shared_experts.up_proj.weight", "model.norm.weight"])


def rms_by_hand(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rotated_by_hand(x, inv_freq, scale, interleave):
    """x (..., T, R) at positions 0..T-1, pair i turned by the angle position * inv_freq[i], both entries times
    scale: the pairs (x[2i], x[2i+1]) where interleave, written out as (out[i], out[R/2 + i])
    (apply_rotary_pos_emb_interleave), else the halves (x[i], x[i + R/2]) in place (apply_rotary_pos_emb)."""
    half = x.shape[-1] // 2
    first, second = (x[..., 0::2], x[..., 1::2]) if interleave else (x[..., :half], x[..., half:])
    angle = (torch.arange(x.shape[-2], dtype=torch.float64)[:, None] * inv_freq).float()
    cos, sin = scale * angle.cos(), scale * angle.sin()
    return torch.cat((first * cos - second * sin, second * cos + first * sin), dim=-1)


def mla_softmax_scale(rope):
    """DeepseekV3Attention.scaling (yarn_apply_mscale): qk_head_dim^-0.5, times yarn_mscale(factor,
    mscale_all_dim)^2 when the rope is scaled and mscale_all_dim is set."""
    scale = (NOPE_DIMS + ROTARY_DIMS) ** -0.5
    if rope["rope_type"] != "default" and rope.get("mscale_all_dim"):
        scale *= yarn_mscale(rope["factor"], rope["mscale_all_dim"]) ** 2
    return scale


def mla_by_hand(hub, prefix, config, rope, h):
    """DeepseekV3Attention (DeepseekV2Attention) as the README states it, for one causal sequence h (T, hidden) at
    positions 0..T-1, from the hub tensors under prefix (model.layers.N.self_attn.) and the rope parameters
    (independent of the rotary module). DeepSeek-V2 has no rope_interleave: it always turns adjacent pairs. Where the
    rope names llama_4_scaling_beta (Mistral 4), every query, its no-rope dims included, is multiplied by
    temperature_by_hand after the rotation."""
    steps, heads = len(h), config.num_attention_heads
    if config.q_lora_rank is None:
        q = linear_by_hand(hub, prefix + "q_proj", h)
    else:
        q_latent = linear_by_hand(hub, prefix + "q_a_proj", h)
        q = linear_by_hand(hub, prefix + "q_b_proj",
                           rms_by_hand(q_latent, hub[prefix + "q_a_layernorm.weight"], LATENT_NORM_EPS))
    q = q.view(steps, heads, NOPE_DIMS + ROTARY_DIMS).transpose(0, 1)  # (H, T, nope then rope)
    compressed = linear_by_hand(hub, prefix + "kv_a_proj_with_mqa", h)  # (T, latent then rope)
    latent = rms_by_hand(compressed[:, :KV_RANK], hub[prefix + "kv_a_layernorm.weight"], LATENT_NORM_EPS)
    kv = linear_by_hand(hub, prefix + "kv_b_proj", latent).view(steps, heads, NOPE_DIMS + VALUE_DIMS).transpose(0, 1)
    if rope["rope_type"] == "default":
        inv_freq, factor = plain_inv_freq(rope["rope_theta"], ROTARY_DIMS), 1.0
    else:
        inv_freq, factor = yarn_inv_freq(rope, ROTARY_DIMS)
    interleave = getattr(config, "rope_interleave", True)
    q_rope = rotated_by_hand(q[..., NOPE_DIMS:], inv_freq, factor, interleave)
    k_rope = rotated_by_hand(compressed[:, KV_RANK:], inv_freq, factor, interleave)  # one for all heads
    scores = (q[..., :NOPE_DIMS] @ kv[..., :NOPE_DIMS].transpose(1, 2) + q_rope @ k_rope.T) * mla_softmax_scale(rope)
    if "llama_4_scaling_beta" in rope:  # Mistral 4: each WHOLE query row (no-rope dims too) times its temperature
        scores = scores * temperature_by_hand(rope, steps)[:, None]
    scores = scores.masked_fill(torch.ones((steps, steps), dtype=torch.bool).triu(1), -math.inf)
    out = scores.softmax(dim=-1) @ kv[..., NOPE_DIMS:]  # (H, T, v_head_dim)
    return linear_by_hand(hub, prefix + "o_proj", out.transpose(0, 1).reshape(steps, -1))


def attention_biases(config):
    """The bias names the model's attention class (DeepseekV3Attention, DeepseekV2Attention or Mistral4Attention)
    built from config has."""
    attention = {"deepseek_v2": modeling_deepseek_v2.DeepseekV2Attention,
                 "mistral4": modeling_mistral4.Mistral4Attention}.get(config.model_type,
                                                                     modeling_deepseek_v3.DeepseekV3Attention)(
        config, layer_idx=0)
    return sorted(name for name, _ in attention.named_parameters() if name.endswith(".bias"))


def check_mla_config(config):
    """What DeepseekV3Config makes of config.json: head_dim = qk_rope_head_dim unless the file sets head_dim, and
    qk_head_dim = nope + rope (__post_init__); without the keys q_lora_rank is 1536 (not null) and rope_interleave
    true; a legacy rope_scaling ({"type": "yarn", ...}) and a top-level rope_theta become rope_parameters."""
    given = transformers.DeepseekV3Config.from_dict({**config.to_dict(), "head_dim": 6}).head_dim
    bare = transformers.DeepseekV3Config.from_dict({})
    legacy_rope = {key: value for key, value in DEEPSEEK_V3_ROPE.items() if key not in ("rope_type", "rope_theta")}
    legacy = transformers.DeepseekV3Config.from_dict({"rope_scaling": {**legacy_rope, "type": "yarn"},
                                                      "rope_theta": 50000.0, "max_position_embeddings": 64}
                                                     ).rope_parameters
    found = (config.head_dim, config.qk_head_dim, given, bare.q_lora_rank, bare.rope_interleave,
             legacy["rope_type"], legacy["rope_theta"], legacy["mscale_all_dim"])
    if found != (ROTARY_DIMS, NOPE_DIMS + ROTARY_DIMS, 6, 1536, True, "yarn", 50000.0, 1.0):
        sys.exit(f"DeepseekV3Config is not as the README says: {found}")


def check_mla_attention(model, rope):
    """Layer 0's attention against mla_by_hand on random hidden states; the attention tensors save_pretrained
    writes; the biases attention_bias gives (q_a_proj, kv_a_proj_with_mqa and o_proj: checked on a config with
    q_lora_rank too)."""
    config, steps = model.config, 7
    h = torch.randn((1, steps, HIDDEN), generator=torch.Generator().manual_seed(2))
    causal = torch.full((steps, steps), -math.inf).triu(1)[None, None]
    with torch.no_grad():
        cos_sin = model.model.rotary_emb(h, position_ids=torch.arange(steps)[None])
        got, _ = model.model.layers[0].self_attn(h, position_embeddings=cos_sin, attention_mask=causal,
                                                 position_ids=torch.arange(steps)[None])
    hub = hub_tensors(model)
    expected = mla_by_hand(hub, "model.layers.0.self_attn.", config, rope, h[0])
    if not torch.allclose(got[0], expected, atol=1e-5):
        sys.exit(f"{type(model.model.layers[0].self_attn).__name__} is not the stated rule: off by "
                 f"{(got[0] - expected).abs().max().item()}")
    low_rank_query = {"q_a_proj", "q_a_layernorm", "q_b_proj"}
    stored = {name.split(".")[4] for name in hub if name.startswith("model.layers.0.self_attn.")}
    if stored != set(MLA_MODULES) - (low_rank_query if config.q_lora_rank is None else {"q_proj"}):
        sys.exit(f"layer 0's attention tensors are {sorted(stored)}")
    both = copy.deepcopy(config)
    both.attention_bias, both.q_lora_rank = True, 12
    own = ["kv_a_proj_with_mqa.bias", "o_proj.bias"] if config.attention_bias else []
    if attention_biases(both) != ["kv_a_proj_with_mqa.bias", "o_proj.bias", "q_a_proj.bias"] or \
            attention_biases(config) != own:
        sys.exit(f"attention_bias gives the biases {attention_biases(both)}, not the README's")


def check_latent_cache(model):
    """The KV cache holds, per layer, the normed latent (as its keys) and the rotated shared key (as its values)."""
    with torch.no_grad():
        cache = model(input_ids=torch.zeros((1, 3), dtype=torch.long), use_cache=True).past_key_values
    if any((layer.keys.shape, layer.values.shape) != ((1, 1, 3, KV_RANK), (1, 1, 3, ROTARY_DIMS))
           for layer in cache.layers):
        sys.exit("the KV cache does not hold the compressed latent and the shared rotary key")


def check_deepseek_v3(rope):
    """The family check: the mixture, the config, the attention (with `rope`, the folder's rope_parameters) and
    the cache."""
    def check(model):
        check_grouped_mixture(model, DEEPSEEK_V3_ROUTING)
        check_mla_config(model.config)
        check_mla_attention(model, rope)
        check_latent_cache(model)
    return check


def each_attention(change):
    def edit(model):
        for layer in model.model.layers:
            change(layer.self_attn)
    return edit


def rows_reordered(name, order):
    """An edit reordering the output rows (weight and bias) of each layer's self_attn.<name> by the index order:
    the model a loader computes when it reads the stored rows in another layout."""
    def change(attention):
        for p in getattr(attention, name).parameters():
            p.copy_(p[order])
    return each_attention(change)


def part_first(width, first, heads=1):
    """The row order of the model a loader computes when, in each of `heads` blocks of `width` rows, it reads the
    part stored in the block's last `first` rows from its first `first` rows (and the other part from the rest):
    each block rolled left by `first`."""
    return torch.cat([block * width + torch.arange(width).roll(-first) for block in range(heads)])


def kv_b_blocked(heads):
    """The row order of a loader reading kv_b_proj as every head's key part, then every head's value part (instead of
    per head: key part then value part)."""
    keys = torch.arange(heads * NOPE_DIMS).view(heads, NOPE_DIMS)
    values = heads * NOPE_DIMS + torch.arange(heads * VALUE_DIMS).view(heads, VALUE_DIMS)
    return torch.cat((keys, values), dim=1).reshape(-1)


def interleave_flipped(model):
    model.config.rope_interleave = not model.config.rope_interleave


def scaled_by(factor):
    return each_attention(lambda attention: setattr(attention, "scaling", attention.scaling * factor))


def deepseek_v3_bites(model, ids):
    pairs = "halves rotated instead of adjacent pairs" if model.config.rope_interleave else \
        "adjacent pairs rotated instead of halves"
    return {**grouped_router_bites(DEEPSEEK_V3_ROUTING, model, ids),
            pairs: changed_copy(model, ids, interleave_flipped), **mla_bites(model, ids)}


def mla_bites(model, ids, yarn_off=None):
    """The latent attention's rules, DeepSeek-V3's, DeepSeek-V2's and Mistral 4's alike: where the rotary and the
    latent sit in the stored rows, the latent norms, the biases, the softmax scale and YaRN's two factors; YaRN is
    switched off by yarn_off (rope_parameters; default: the plain rope of the same theta)."""
    config = model.config
    heads = config.num_attention_heads
    query = "q_proj" if config.q_lora_rank is None else "q_b_proj"
    moved = {"rotary on the first qk_rope_head_dim dims of each query head instead of the last":
                 changed_copy(model, ids, rows_reordered(query, part_first(NOPE_DIMS + ROTARY_DIMS, ROTARY_DIMS,
                                                                           heads))),
             "the shared rotary key taken from kv_a_proj_with_mqa's first dims instead of its last":
                 changed_copy(model, ids, rows_reordered("kv_a_proj_with_mqa", part_first(KV_RANK + ROTARY_DIMS,
                                                                                          ROTARY_DIMS))),
             "values taken from the first v_head_dim dims of each head's kv_b_proj rows instead of the last":
                 changed_copy(model, ids, rows_reordered("kv_b_proj", part_first(NOPE_DIMS + VALUE_DIMS, VALUE_DIMS,
                                                                                 heads))),
             "kv_b_proj read as every head's keys, then every head's values":
                 changed_copy(model, ids, rows_reordered("kv_b_proj", kv_b_blocked(heads))),
             "kv_a_layernorm removed": without_module(model, ids, "self_attn.kv_a_layernorm"),
             "softmax scale from config.json's head_dim (qk_rope_head_dim) instead of qk_head_dim":
                 changed_copy(model, ids, scaled_by(((NOPE_DIMS + ROTARY_DIMS) / ROTARY_DIMS) ** 0.5))}
    if config.q_lora_rank is not None:
        moved["q_a_layernorm removed"] = without_module(model, ids, "self_attn.q_a_layernorm")
    if config.attention_bias:
        moved["kv_a_proj_with_mqa and o_proj biases zeroed"] = biases_zeroed(
            model, ids, ("kv_a_proj_with_mqa.bias", "o_proj.bias"))
    rope = config.rope_parameters
    if rope["rope_type"] == "yarn":
        factor = rope["factor"]
        moved["mscale^2 dropped from the softmax scale"] = changed_copy(
            model, ids, scaled_by(yarn_mscale(factor, rope["mscale_all_dim"]) ** -2))
        if rope["mscale"] != rope["mscale_all_dim"]:
            ratio = yarn_mscale(factor, rope["mscale"]) / yarn_mscale(factor, rope["mscale_all_dim"])
            moved["mscale instead of mscale_all_dim in the softmax scale"] = changed_copy(model, ids,
                                                                                          scaled_by(ratio ** 2))
            moved["the rotary's YaRN attention factor dropped (cos and sin unscaled)"] = changed_copy(
                model, ids, lambda copied: setattr(copied.model.rotary_emb, "attention_scaling", 1.0))
        else:  # the factor is mscale / mscale_all_dim = 1: a loader must not fall back to 0.1 ln(factor) + 1
            moved["the rotary's attention factor 0.1 ln(factor) + 1 instead of mscale / mscale_all_dim = 1"] = \
                changed_copy(model, ids, lambda copied: setattr(copied.model.rotary_emb, "attention_scaling",
                                                                yarn_mscale(factor)))
        moved["YaRN off (plain frequencies, no attention factor; the softmax scale kept)"] = rotary_with(
            model, ids, yarn_off or {"rope_type": "default", "rope_theta": rope["rope_theta"]})
    return moved


def mla_weights(routing):
    """adjust_weights: the query and key/value projections' weights set_weights drew rescaled to
    MLA_PROJECTION_STD; the routers and selection biases (DeepSeek-V3's e_score_correction_bias) rescaled as
    GLM-4.5's."""
    def adjust(model):
        with torch.no_grad():
            for layer in model.model.layers:
                for name in ("q_proj", "q_a_proj", "q_b_proj", "kv_a_proj_with_mqa", "kv_b_proj"):  # not o_proj
                    projection = getattr(layer.self_attn, name)
                    if projection is not None:
                        projection.weight.mul_(MLA_PROJECTION_STD / 0.08)
        rescale_routers(routing, GLM4_MOE_ROUTER_STD, GLM4_MOE_BIAS_STD)(model)
    return adjust


def deepseek_v3_family(lite, seed, expert):
    """deepseek_v3 or deepseek_v3_lite; `expert` is layer 1's expert whose gradients the reference holds."""
    rope = DEFAULT_ROPE if lite else DEEPSEEK_V3_ROPE
    layers = 2 if lite else 4
    # one tensor of the MTP layer: a decoder-layer name, which only the layer index tells apart
    return Family(lambda: deepseek_v3_config(lite), rotation=None, seed=seed, head_std=0.1, bites=deepseek_v3_bites,
                  gradients=deepseek_v3_gradients(lite, expert),
                  adjust_weights=mla_weights(DEEPSEEK_V3_ROUTING), check=check_deepseek_v3(rope), left_padding=True,
                  routing=DEEPSEEK_V3_ROUTING,
                  extra_tensors=mtp_tensors(layers, ("self_attn.kv_a_proj_with_mqa.weight",)))


# ---- Qwen3-Next (qwen3_next): Qwen3.5-MoE's layers with the DeltaNet projections fused per key head ----

QWEN3_NEXT_ROPE = {"rope_type": "default", "rope_theta": 10000000.0, "partial_rotary_factor": 0.25}  # as published
QWEN3_NEXT_DENSE_LAYERS = [2]  # mlp_only_layers: a dense MLP between sparse ones
# key heads 2 and value heads 4 (two value heads per key head, as published: 16 and 32), key and value head dims
# different so that a row block read at the wrong width shows
QWEN3_NEXT_DELTA_NET = dict(linear_num_key_heads=2, linear_num_value_heads=4, linear_key_head_dim=8,
                            linear_value_head_dim=6, linear_conv_kernel_dim=4)
QWEN3_NEXT_EXPERT = 1  # layer 0's expert whose gradients the reference holds
QWEN3_NEXT_GRADIENTS = ["model.layers.0.linear_attn." + name for name in (
    "in_proj_qkvz.weight", "in_proj_ba.weight", "conv1d.weight", "A_log", "dt_bias", "norm.weight",
    "out_proj.weight")] + [
    "model.layers.0.input_layernorm.weight", "model.layers.1.self_attn.q_proj.weight",
    "model.layers.1.self_attn.q_norm.weight", "model.layers.0.mlp.gate.weight",
    f"model.layers.0.mlp.experts.{QWEN3_NEXT_EXPERT}.gate_proj.weight",
    f"model.layers.0.mlp.experts.{QWEN3_NEXT_EXPERT}.down_proj.weight",
    "model.layers.0.mlp.shared_expert.up_proj.weight", "model.layers.0.mlp.shared_expert_gate.weight",
    "model.layers.2.mlp.gate_proj.weight", "model.norm.weight"]
# the published checkpoints' multi-token-prediction module sits beside model.*, under mtp.*
QWEN3_NEXT_MTP = ("mtp.fc.weight", "mtp.layers.0.self_attn.q_proj.weight")


def qwen3_next_config():
    # full_attention_interval 2 (published: 4) alternates the two kinds: [linear, full, linear, full]; the class
    # turns it into layer_types, which save_pretrained writes instead
    settings = {**tiny(QWEN3_NEXT_ROPE), "head_dim": 16}
    return transformers.Qwen3NextConfig(full_attention_interval=2, mlp_only_layers=QWEN3_NEXT_DENSE_LAYERS,
                                        decoder_sparse_step=1, **QWEN3_NEXT_DELTA_NET, num_experts=4,
                                        num_experts_per_tok=2, moe_intermediate_size=16,
                                        shared_expert_intermediate_size=24, norm_topk_prob=True, **settings,
                                        **NO_SPECIAL_TOKENS)


def softmax_scores(logits):
    return logits.softmax(dim=-1)


def no_selection_bias(block):
    return torch.zeros(block.gate.weight.shape[0])


# Qwen3NextTopKRouter: the top k of softmax(logits) (float32), divided by their sum where norm_topk_prob; the shared
# expert's output times sigmoid(shared_expert_gate x)
QWEN3_NEXT_ROUTING = Routing(modeling_qwen3_next.Qwen3NextSparseMoeBlock, modeling_qwen3_next.Qwen3NextTopKRouter,
                             "mlp", GATED_MLP, no_selection_bias, None, RouterRule(softmax_scores, 2),
                             shared="shared_expert", shared_gate="shared_expert_gate")


def qwen3_next_weights(model):
    """The zero-centred norms (Qwen3NextRMSNorm, read as 1 + w) drawn as 0.1 N(0,1) instead of 1 + 0.1 N(0,1); the
    gated norm (linear_attn.norm, read as w) keeps 1 + 0.1 N(0,1); the routers rescaled as GLM-4.5's."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, modeling_qwen3_next.Qwen3NextRMSNorm):
                module.weight.sub_(1)
    rescale_routers(QWEN3_NEXT_ROUTING, GLM4_MOE_ROUTER_STD, 0.0)(model)


def delta_net_rows(config):
    """Where Qwen3.5's separate DeltaNet projections sit in Qwen3-Next's fused ones (fix_query_key_value_ordering),
    r = linear_num_value_heads / linear_num_key_heads value heads per key head: in_proj_qkvz holds, key head after
    key head, that head's q (key head dim rows), k (key head dim), the v's of its r value heads (r x value head dim)
    and their z's (the same); in_proj_ba holds, key head after key head, its r value heads' b's then their a's.
    Returns ({"q", "k", "v", "z"}: rows of in_proj_qkvz, {"b", "a"}: rows of in_proj_ba), each part's rows in
    Qwen3.5's order (head after head): in_proj_qkv = qkvz[cat(q, k, v)], in_proj_z = qkvz[z], in_proj_b = ba[b],
    in_proj_a = ba[a]."""
    per_key_head = config.linear_num_value_heads // config.linear_num_key_heads
    value_rows = per_key_head * config.linear_value_head_dim
    qkvz = contiguous_parts({"q": config.linear_key_head_dim, "k": config.linear_key_head_dim, "v": value_rows,
                             "z": value_rows}, config.linear_num_key_heads)
    return qkvz, contiguous_parts({"b": per_key_head, "a": per_key_head}, config.linear_num_key_heads)


def contiguous_parts(widths, blocks):
    """The rows of each part when `blocks` blocks follow each other, each holding the parts in the order of widths
    (part -> rows per block): part -> its rows, block after block."""
    rows, start = {part: [] for part in widths}, 0
    for _ in range(blocks):
        for part, width in widths.items():
            rows[part].append(torch.arange(start, start + width))
            start += width
    return {part: torch.cat(indices) for part, indices in rows.items()}


def check_delta_net_rows(model):
    """delta_net_rows against Qwen3NextGatedDeltaNet.fix_query_key_value_ordering, and a transformers Qwen3.5
    DeltaNet given the rows delta_net_rows names against Qwen3-Next's (the rest of the layer is the same), on random
    hidden states."""
    delta_net, config = model.model.layers[0].linear_attn, model.config
    (qkvz, ba), steps = delta_net_rows(config), 7
    h = torch.randn((1, steps, HIDDEN), generator=torch.Generator().manual_seed(3))
    fused_qkvz, fused_ba = delta_net.in_proj_qkvz.weight, delta_net.in_proj_ba.weight
    with torch.no_grad():
        got = delta_net.fix_query_key_value_ordering(delta_net.in_proj_qkvz(h), delta_net.in_proj_ba(h))
        expected = [h @ fused_qkvz[qkvz[part]].T for part in "qkvz"] + [h @ fused_ba[ba[part]].T for part in "ba"]
        if not all(torch.allclose(a.reshape(1, steps, -1), b, atol=1e-6) for a, b in zip(got, expected)):
            sys.exit("in_proj_qkvz / in_proj_ba are not laid out as delta_net_rows says")
        qwen3_5 = modeling_qwen3_5.Qwen3_5GatedDeltaNet(config, layer_idx=0)
        split = {"in_proj_qkv.weight": fused_qkvz[torch.cat((qkvz["q"], qkvz["k"], qkvz["v"]))],
                 "in_proj_z.weight": fused_qkvz[qkvz["z"]], "in_proj_b.weight": fused_ba[ba["b"]],
                 "in_proj_a.weight": fused_ba[ba["a"]]}
        kept = {name: p for name, p in delta_net.state_dict().items() if not name.startswith("in_proj_")}
        qwen3_5.load_state_dict({**kept, **split}, strict=True)
        if not torch.allclose(qwen3_5(h), delta_net(h), atol=1e-6):
            sys.exit("Qwen3.5's DeltaNet with the split rows is not Qwen3-Next's")


def check_qwen3_next_config(config):
    """What Qwen3NextConfig makes of a published-style config.json (full_attention_interval and a top-level
    rope_theta / partial_rotary_factor, no layer_types) and of one without the keys; which layers
    decoder_sparse_step and mlp_only_layers make dense."""
    published = {key: value for key, value in config.to_dict().items() if key not in ("layer_types", "rope_parameters")}
    read = transformers.Qwen3NextConfig.from_dict({**published, "full_attention_interval": 2, "rope_theta": 1e7,
                                                   "partial_rotary_factor": 0.25})
    bare = transformers.Qwen3NextConfig.from_dict({})
    sparse = transformers.Qwen3NextForCausalLM(transformers.Qwen3NextConfig(
        **{**qwen3_next_config().to_dict(), "decoder_sparse_step": 2, "mlp_only_layers": [3]})).model.layers
    found = (read.layer_types == config.layer_types, read.rope_parameters == config.rope_parameters,
             bare.layer_types[:4], bare.rope_parameters, bare.norm_topk_prob, bare.decoder_sparse_step,
             bare.mlp_only_layers, bare.head_dim, [isinstance(layer.mlp, QWEN3_NEXT_ROUTING.block_class)
                                                   for layer in sparse],
             modeling_qwen3_next.Qwen3NextForCausalLM._keys_to_ignore_on_load_unexpected)
    expected = (True, True, ["linear_attention"] * 3 + ["full_attention"],
                {"rope_theta": 10000.0, "partial_rotary_factor": 0.25, "rope_type": "default"}, True, 1, [], 256,
                [False, True, False, False], [r"^mtp.*"])
    if found != expected:
        sys.exit(f"Qwen3NextConfig is not as the README says: {found}")


def check_qwen3_next(model):
    check_mixture(model, QWEN3_NEXT_ROUTING, QWEN3_NEXT_DENSE_LAYERS, 48)
    check_delta_net_rows(model)
    check_qwen3_next_config(model.config)


def rows_of_each(path, order):
    """An edit reordering the output rows of every layer's <path> ("linear_attn.in_proj_ba"), in the layers that
    have one, by the index order: the model a loader computes when it reads the stored rows in another layout."""
    owner_name, name = path.split(".")

    def edit(model):
        for layer in model.model.layers:
            owner = getattr(layer, owner_name, None)
            if owner is not None:
                weight = getattr(owner, name).weight
                weight.copy_(weight[order])
    return edit


def read_as_contiguous(rows, parts):
    """The row order of a loader that reads each part as one contiguous block, the blocks in the order `parts`,
    where the file holds part p at rows[p]."""
    order, start = torch.empty(sum(len(indices) for indices in rows.values()), dtype=torch.long), 0
    for part in parts:
        order[rows[part]] = torch.arange(start, start + len(rows[part]))
        start += len(rows[part])
    return order


def parts_swapped(rows, first, second):
    """The row order of a loader that reads part `first` where the file holds part `second`, and back."""
    order = torch.arange(sum(len(indices) for indices in rows.values()))
    order[rows[first]], order[rows[second]] = rows[second], rows[first]
    return order


def plain_weight_norm(self, x):
    """Qwen3NextRMSNorm with its weight read as w instead of 1 + w."""
    return (self._norm(x.float()) * self.weight.float()).type_as(x)


def gated_norm_centred(model):
    for layer in model.model.layers:
        if hasattr(layer, "linear_attn"):
            layer.linear_attn.norm.weight.add_(1)


def shared_gate_dropped(model):
    """sigmoid(0) * 2 = 1: the shared expert's output at weight 1."""
    for block in QWEN3_NEXT_ROUTING.blocks(model):
        block.shared_expert_gate.weight.zero_()
        block.shared_expert.down_proj.weight.mul_(2)


def qwen3_next_bites(model, ids):
    config, routing = model.config, QWEN3_NEXT_ROUTING
    qkvz, ba = delta_net_rows(config)
    heads, head_dim = config.num_attention_heads, config.head_dim
    query_gate = contiguous_parts({"query": head_dim, "gate": head_dim}, heads)
    return {"in_proj_qkvz read as Qwen3.5's blocks (every q, every k, every v, every z) instead of per key head":
                changed_copy(model, ids, rows_of_each("linear_attn.in_proj_qkvz",
                                                      read_as_contiguous(qkvz, "qkvz"))),
            "in_proj_ba read as every b, then every a, instead of per key head":
                changed_copy(model, ids, rows_of_each("linear_attn.in_proj_ba", read_as_contiguous(ba, "ba"))),
            "b and a swapped": changed_copy(model, ids, rows_of_each("linear_attn.in_proj_ba",
                                                                     parts_swapped(ba, "b", "a"))),
            "v and z swapped": changed_copy(model, ids, rows_of_each("linear_attn.in_proj_qkvz",
                                                                     parts_swapped(qkvz, "v", "z"))),
            "q and k swapped": changed_copy(model, ids, rows_of_each("linear_attn.in_proj_qkvz",
                                                                     parts_swapped(qkvz, "q", "k"))),
            "q_proj read as every head's query, then every head's gate, instead of per head":
                changed_copy(model, ids, rows_of_each("self_attn.q_proj",
                                                      read_as_contiguous(query_gate, ("query", "gate")))),
            "the zero-centred norms read as w instead of 1 + w":
                patched_logits(model, ids, modeling_qwen3_next.Qwen3NextRMSNorm, "forward", plain_weight_norm),
            "linear_attn.norm read as 1 + w instead of w": changed_copy(model, ids, gated_norm_centred),
            "rotary over all 16 dims instead of 4 (partial_rotary_factor 1)":
                rotary_with(model, ids, {**config.rope_parameters, "partial_rotary_factor": 1.0}),
            "rope_theta 10000 (the class default) instead of 1e7":
                rotary_with(model, ids, {**config.rope_parameters, "rope_theta": 10000.0}),
            "no renormalisation over the chosen experts (norm_topk_prob false)":
                routed_logits(model, ids, routing, renormalise=False),
            "sigmoid instead of softmax": routed_logits(model, ids, routing, activation=torch.sigmoid),
            "the shared expert's sigmoid gate dropped (weight 1)": changed_copy(model, ids, shared_gate_dropped),
            **routing_bites(routing, model, ids)}


# ---- Qwen3-VL-MoE (qwen3_vl_moe): Qwen3-VL's language model with a softmax router, its experts stored fused ----

# moe_intermediate_size 12 (I), not 16: with hidden 32 an expert's (hidden, 2 x 16) gate_up_proj is square, and
# transformers 5.17 then cannot tell the hub's orientation from its own (core_model_loading.Transpose with
# check_dims transposes only when the shapes differ): it would load a hub file untransposed
QWEN3_VL_MOE_EXPERT_WIDTH = 12
QWEN3_VL_MOE_DENSE_LAYERS = [1]  # mlp_only_layers: a dense MLP between the two sparse layers
# the hub stores each sparse layer's experts as two 3-D tensors multiplied as x W: gate_up_proj (E, hidden, 2I) and
# down_proj (E, I, hidden); transformers 5.17 holds both transposed (1, 2) and multiplies x W^T (conversion_mapping's
# "qwen3_vl_moe": Transpose(1, 2, check_dims=True) on load)
QWEN3_VL_MOE_FUSED = ("mlp.experts.gate_up_proj", "mlp.experts.down_proj")
QWEN3_VL_MOE_GRADIENTS = ["model.language_model." + name for name in (
    "layers.0.self_attn.q_proj.weight", "layers.0.self_attn.q_norm.weight", "layers.0.mlp.gate.weight",
    "layers.0.mlp.experts.gate_up_proj", "layers.0.mlp.experts.down_proj", "layers.1.mlp.gate_proj.weight",
    "norm.weight")]
QWEN3_VL_MOE_ROUTERS = [f"model.language_model.layers.{layer}.mlp.gate.weight" for layer in (0, 2)]


def qwen3_vl_moe_config(**text_changes):
    # qwen3_vl's sizes with 4 experts, 2 per token; the head untied at the top level (as the published 30B-A3B and
    # 235B-A22B) while text_config keeps the class default tie_word_embeddings true, which
    # Qwen3VLMoeForConditionalGeneration does not read
    text = {**qwen3_vl_text(), "num_experts": 4, "num_experts_per_tok": 2,
            "moe_intermediate_size": QWEN3_VL_MOE_EXPERT_WIDTH, "decoder_sparse_step": 1,
            "mlp_only_layers": QWEN3_VL_MOE_DENSE_LAYERS, **text_changes}
    return transformers.Qwen3VLMoeConfig(text_config=text, vision_config=qwen3_vl_vision(), tie_word_embeddings=False)


# Qwen3VLMoeTextTopKRouter: the top k of softmax(logits) in float32, ALWAYS divided by their sum (the class reads no
# norm_topk_prob); no shared expert, no selection bias
QWEN3_VL_MOE_ROUTING = Routing(modeling_qwen3_vl_moe.Qwen3VLMoeTextSparseMoeBlock,
                               modeling_qwen3_vl_moe.Qwen3VLMoeTextTopKRouter, "mlp", GATED_MLP, no_selection_bias,
                               None, RouterRule(softmax_scores, 2))


def qwen3_vl_moe_hub_orientation(name, tensor):
    """A tensor of transformers' model as the hub stores it: the fused experts transposed (1, 2)."""
    return tensor.transpose(1, 2).contiguous() if name.endswith(QWEN3_VL_MOE_FUSED) else tensor


def fused_block_by_hand(rule, hub, prefix, h):
    """A sparse block as the README states it, from the hub's tensors under prefix: rule on h gate^T; for each token
    and chosen expert e, weight * (silu(h G[:, :I]) * h G[:, I:]) D, G = gate_up_proj[e] (hidden, 2I),
    D = down_proj[e] (I, hidden)."""
    router = h @ hub[prefix + "gate.weight"].T
    chosen, weights, _ = rule.route(router, torch.zeros(router.shape[-1]))
    out = torch.zeros_like(h)
    for token in range(len(h)):
        for weight, expert in zip(weights[token], chosen[token].tolist()):
            gate, up = (h[token] @ hub[prefix + "experts.gate_up_proj"][expert]).chunk(2)
            out[token] += weight * (F.silu(gate) * up) @ hub[prefix + "experts.down_proj"][expert]
    return out


def check_qwen3_vl_moe_files(model):
    """save_pretrained writes the fused experts in transformers' orientation, not the hub's; a file in the hub's
    orientation (what write_folder stores) loads back to the same model with every tensor name matched; the first
    sparse block is fused_block_by_hand on those tensors; the head is untied (lm_head.weight stored)."""
    parameters = dict(model.named_parameters())
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        saved = load_file(os.path.join(folder, "model.safetensors"))
        fused = [name for name in saved if name.endswith(QWEN3_VL_MOE_FUSED)]
        if len(fused) != 4 or any(saved[name].shape != parameters[name].shape for name in fused):
            sys.exit(f"save_pretrained no longer writes the fused experts in transformers' orientation: {fused}")
        hub = {name: qwen3_vl_moe_hub_orientation(name, tensor) for name, tensor in saved.items()}
        rewrite_weights(folder, hub)
        reloaded, loading = transformers.AutoModelForImageTextToText.from_pretrained(
            folder, attn_implementation="eager", dtype=torch.float32, output_loading_info=True)
    stray = {kind: keys for kind, keys in loading.items() if keys}
    differ = [name for name, p in reloaded.named_parameters() if not torch.equal(p, parameters[name])]
    if stray or differ or "lm_head.weight" not in hub:
        sys.exit(f"the hub-oriented file does not load back as the model: {stray}, {differ}")
    layer = QWEN3_VL_MOE_ROUTING.sparse_layers(model)[0]
    h = torch.randn((9, HIDDEN), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = QWEN3_VL_MOE_ROUTING.mlps(model)[layer](h[None])[0]
    expected = fused_block_by_hand(QWEN3_VL_MOE_ROUTING.rule, hub, f"model.language_model.layers.{layer}.mlp.", h)
    if not torch.allclose(got, expected, atol=1e-5):
        sys.exit(f"Qwen3VLMoeTextSparseMoeBlock is not the stated rule: off by {(got - expected).abs().max().item()}")


def check_qwen3_vl_moe_config(model):
    """What Qwen3VLMoeTextConfig makes of a published-style text_config (num_experts, rope_theta beside rope_scaling,
    norm_topk_prob) and of none; which layers decoder_sparse_step and mlp_only_layers make dense; that
    norm_topk_prob false changes no logit; aux_loss against aux_loss_by_hand, and that the loss with
    output_router_logits adds router_aux_loss_coef (0.001) times aux_loss."""
    text = model.config.text_config
    published = {**{key: value for key, value in text.to_dict().items() if key not in ("rope_parameters",
                                                                                         "num_local_experts")},
                 "num_experts": 4, "rope_theta": 5000000.0, "norm_topk_prob": True,
                 "rope_scaling": {key: value for key, value in QWEN3_VL_ROPE.items() if key != "rope_theta"}}
    read = transformers.Qwen3VLMoeTextConfig.from_dict(published)
    bare = transformers.Qwen3VLMoeConfig()

    def dense_and_sparse(**changes):
        layers = language_model(transformers.AutoModelForImageTextToText.from_config(
            qwen3_vl_moe_config(**changes))).layers
        return [isinstance(layer.mlp, QWEN3_VL_MOE_ROUTING.block_class) for layer in layers]
    found = (read.num_experts, read.rope_parameters == text.rope_parameters,
             {key: getattr(bare.text_config, key) for key in ("num_experts", "num_experts_per_tok",
                                                              "moe_intermediate_size", "intermediate_size",
                                                              "decoder_sparse_step", "mlp_only_layers", "head_dim",
                                                              "tie_word_embeddings", "rope_parameters")},
             bare.tie_word_embeddings, dense_and_sparse(), dense_and_sparse(mlp_only_layers=[], decoder_sparse_step=2))
    expected = (4, True, {"num_experts": 60, "num_experts_per_tok": 4, "moe_intermediate_size": 1408,
                          "intermediate_size": 5632, "decoder_sparse_step": 1, "mlp_only_layers": [], "head_dim": 128,
                          "tie_word_embeddings": True, "rope_parameters": {"rope_theta": 500000.0,
                                                                           "rope_type": "default"}},
                False, [True, False, True], [False, True, False])
    if found != expected:
        sys.exit(f"Qwen3VLMoeConfig is not as the README says: {found}")
    ids = torch.randint(0, VOCAB, (2, SEQ), generator=torch.Generator().manual_seed(0))
    unnormalised = transformers.AutoModelForImageTextToText.from_config(qwen3_vl_moe_config(norm_topk_prob=False),
                                                                        attn_implementation="eager")
    unnormalised.load_state_dict(model.state_dict())
    if not torch.equal(logits_of(unnormalised.eval(), ids), logits_of(model, ids)):
        sys.exit("norm_topk_prob false changes the logits")
    mask = right_padding_mask(ids)
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, labels=ids, output_router_logits=True)
        plain = model(input_ids=ids, attention_mask=mask, labels=ids).loss
    by_hand = aux_loss_by_hand(out.router_logits, mask, text.num_experts_per_tok)
    if len(out.router_logits) != 2 or abs(out.aux_loss - by_hand) > 1e-6:
        sys.exit(f"aux_loss {out.aux_loss} over {len(out.router_logits)} routers is not the README's {by_hand}")
    if abs(out.loss - plain - text.router_aux_loss_coef * out.aux_loss) > 1e-6 or text.router_aux_loss_coef != 0.001:
        sys.exit(f"the loss with output_router_logits is not the plain loss + 0.001 aux_loss: {out.loss}, {plain}, "
                 f"{out.aux_loss}")


def aux_loss_by_hand(router_logits, mask, top_k):
    """E sum_e f_e P_e over the unpadded tokens of every sparse layer together: f_e the share of their top_k picks
    (of softmax(logits)) that name expert e, times top_k; P_e their mean probability of e."""
    kept = mask.reshape(-1).bool()
    probabilities = torch.cat([logits.softmax(dim=-1)[kept] for logits in router_logits])
    picks = probabilities.topk(top_k, dim=-1).indices
    experts = probabilities.shape[-1]
    picked = torch.bincount(picks.reshape(-1), minlength=experts) / len(probabilities)
    return experts * (picked * probabilities.mean(dim=0)).sum()


def check_qwen3_vl_moe(model):
    check_text_mrope(model)
    check_qwen3_vl_moe_files(model)
    check_qwen3_vl_moe_config(model)


def read_untransposed(name):
    """An edit giving each sparse layer's experts.<name> what a loader computes that reads the hub's bytes
    (E, hidden, 2I) or (E, I, hidden) row-major as transformers' shape (E, 2I, hidden) or (E, hidden, I)."""
    def edit(model):
        for block in QWEN3_VL_MOE_ROUTING.blocks(model):
            fused = getattr(block.experts, name)
            fused.copy_(fused.transpose(1, 2).contiguous().reshape(fused.shape))
    return edit


def head_tied(model):
    model.lm_head.weight.copy_(language_model(model).embed_tokens.weight)


def qwen3_vl_moe_bites(model, ids):
    routing = QWEN3_VL_MOE_ROUTING
    return {"gate_up_proj's hub bytes read as (E, 2I, hidden) instead of transposed":
                changed_copy(model, ids, read_untransposed("gate_up_proj")),
            "down_proj's hub bytes read as (E, hidden, I) instead of transposed":
                changed_copy(model, ids, read_untransposed("down_proj")),
            "no renormalisation over the chosen experts": routed_logits(model, ids, routing, renormalise=False),
            **routing_bites(routing, model, ids),
            "q_norm and k_norm removed": without_module(model, ids, "self_attn.q_norm", "self_attn.k_norm"),
            "the head tied to the embeddings (text_config's tie_word_embeddings read)":
                changed_copy(model, ids, head_tied)}


# ---- DeepSeek-V2 (deepseek_v2, deepseek_v2_lite): DeepSeek-V3's latent attention, a softmax router, no bias ----

# YaRN as DeepSeek-V2 and V2-Lite publish it (factor 40 there, 4 here): mscale = mscale_all_dim = 0.707, so the
# rotary's factor is 1 while the softmax scale carries mscale_all_dim; deepseek_v2_lite takes DEEPSEEK_V3_ROPE
# instead (mscale 0.5, mscale_all_dim 1.0), where both factors show
DEEPSEEK_V2_ROPE = {**DEEPSEEK_V3_ROPE, "mscale": 0.707, "mscale_all_dim": 0.707}
DEEPSEEK_V2_SHARED_EXPERTS = 2  # as published: the shared MLP is 2 x moe_intermediate_size wide
# group_limited_greedy ranks a group by its best probability, so the top k experts always lie within the k best groups:
# with top_k <= topk_group (2 of 2) keeping groups could never change a choice. 3 experts per token from the 2 kept
# groups' 4 (published: 6 from 3 groups of 20)
DEEPSEEK_V2_TOP_K = 3


def deepseek_v2_config(lite):
    """lite: V2-Lite's shape (a plain q_proj, greedy top 2 over all experts, routed_scaling_factor 1, 3 layers);
    else V2's (q through q_lora_rank 12, group-limited greedy top 3 within the best 2 of 4 groups,
    routed_scaling_factor 2.5, 4 layers). Both: no attention biases, one dense layer, 8 experts, two shared experts,
    norm_topk_prob false."""
    settings = {**tiny(DEEPSEEK_V3_ROPE if lite else DEEPSEEK_V2_ROPE), "num_key_value_heads": 4,
                "num_hidden_layers": 3 if lite else 4}
    routing = (dict(topk_method="greedy", n_group=1, topk_group=1, routed_scaling_factor=1.0,
                    num_experts_per_tok=GLM4_MOE_TOP_K) if lite else
               dict(topk_method="group_limited_greedy", n_group=GLM4_MOE_GROUPS, topk_group=GLM4_MOE_KEPT_GROUPS,
                    routed_scaling_factor=GLM4_MOE_SCALING, num_experts_per_tok=DEEPSEEK_V2_TOP_K))
    return transformers.DeepseekV2Config(q_lora_rank=None if lite else 12, attention_bias=False, **MLA,
                                         first_k_dense_replace=1, n_routed_experts=GLM4_MOE_EXPERTS,
                                         moe_intermediate_size=16, n_shared_experts=DEEPSEEK_V2_SHARED_EXPERTS,
                                         norm_topk_prob=False,
                                         **routing, **settings, **NO_SPECIAL_TOKENS)


def deepseek_v2_routing(rule):
    """DeepseekV2TopkRouter: softmax(logits) in float32, no selection bias; weights the chosen probabilities times
    routed_scaling_factor, never renormalised."""
    return Routing(modeling_deepseek_v2.DeepseekV2Moe, modeling_deepseek_v2.DeepseekV2TopkRouter, "mlp", GATED_MLP,
                   no_selection_bias, None, rule)


DEEPSEEK_V2_LITE_ROUTING = deepseek_v2_routing(RouterRule(softmax_scores, GLM4_MOE_TOP_K, renormalise=False))
# group_limited_greedy: a group's score is its best probability (group_top 1)
DEEPSEEK_V2_ROUTING = deepseek_v2_routing(RouterRule(softmax_scores, DEEPSEEK_V2_TOP_K, scaling=GLM4_MOE_SCALING,
                                                     n_group=GLM4_MOE_GROUPS, topk_group=GLM4_MOE_KEPT_GROUPS,
                                                     group_top=1, renormalise=False))


def check_deepseek_v2_config(config):
    """What DeepseekV2Config makes of config.json: head_dim = qk_rope_head_dim whatever the file says (unlike
    DeepSeek-V3's), qk_head_dim = nope + rope; the defaults without the keys; a legacy rope_scaling
    ({"type": "yarn", ...}) and a top-level rope_theta become rope_parameters; moe_layer_freq kept but unread."""
    given = transformers.DeepseekV2Config.from_dict({**config.to_dict(), "head_dim": 6}).head_dim
    bare = transformers.DeepseekV2Config.from_dict({})
    legacy_rope = {key: value for key, value in DEEPSEEK_V2_ROPE.items() if key not in ("rope_type", "rope_theta")}
    legacy = transformers.DeepseekV2Config.from_dict({"rope_scaling": {**legacy_rope, "type": "yarn"},
                                                      "rope_theta": 50000.0, "moe_layer_freq": 1,
                                                      "max_position_embeddings": 64})
    found = (config.head_dim, config.qk_head_dim, given, bare.q_lora_rank, bare.num_experts_per_tok,
             bare.topk_method, bare.n_group, bare.topk_group, bare.norm_topk_prob, bare.routed_scaling_factor,
             bare.n_shared_experts, bare.first_k_dense_replace, bare.num_key_value_heads, bare.rope_parameters,
             bare.mlp_bias, legacy.rope_parameters["rope_type"], legacy.rope_parameters["rope_theta"],
             legacy.rope_parameters["mscale"], legacy.moe_layer_freq)
    expected = (ROTARY_DIMS, NOPE_DIMS + ROTARY_DIMS, ROTARY_DIMS, 1536, None, "greedy", None, None, False, 1.0, 2,
                0, 32, {"rope_theta": 10000.0, "rope_type": "default"}, False, "yarn", 50000.0, 0.707, 1)
    if found != expected:
        sys.exit(f"DeepseekV2Config is not as the README says: {found}")


def check_unread_keys(model):
    """norm_topk_prob true and moe_layer_freq 2 (DeepSeek's own code would renormalise and make every other layer
    dense) change nothing in transformers: the same weights give the same logits."""
    config = transformers.DeepseekV2Config.from_dict({**model.config.to_dict(), "norm_topk_prob": True,
                                                      "moe_layer_freq": 2})
    changed = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager")
    changed.load_state_dict(model.state_dict())
    ids = torch.arange(SEQ)[None]
    if not torch.equal(logits_of(changed.eval(), ids), logits_of(model, ids)):
        sys.exit("DeepSeek-V2 now reads norm_topk_prob or moe_layer_freq: the README says it does not")


def check_deepseek_v2(routing, rope):
    def check(model):
        check_grouped_mixture(model, routing)
        check_deepseek_v2_config(model.config)
        check_mla_attention(model, rope)
        check_latent_cache(model)
        check_unread_keys(model)
    return check


def rotate_complex_halves(xq, xk, freqs_cis):
    """apply_rotary_emb turning Llama's halves (x[i], x[i + R/2]) by the same angles and factor instead of adjacent
    pairs."""
    cos, sin = freqs_cis.real.unsqueeze(1), freqs_cis.imag.unsqueeze(1)

    def rotate(x):
        first, second = x.chunk(2, dim=-1)
        return torch.cat((first * cos - second * sin, second * cos + first * sin), dim=-1)
    return rotate(xq), rotate(xk)


def shared_experts_narrowed(routing):
    """An edit leaving only the shared experts' first moe_intermediate_size units (n_shared_experts read as 1)."""
    def edit(model):
        for block in routing.blocks(model):
            block.shared_experts.down_proj.weight[:, block.experts.down_proj.shape[-1]:] = 0
    return edit


def deepseek_v2_bites(routing):
    def bites(model, ids):
        moved = {"sigmoid instead of softmax": routed_logits(model, ids, routing, activation=torch.sigmoid),
                 "renormalised over the chosen experts": routed_logits(model, ids, routing, renormalise=True)}
        if routing.rule.scaling != 1:
            moved["routed_scaling_factor 1"] = routed_logits(model, ids, routing, scaling=1.0)
        if routing.rule.n_group > 1:
            moved["groups ranked by the sum of their two best instead of their best"] = routed_logits(
                model, ids, routing, group_top=2)
            moved["groups ignored (n_group 1)"] = routed_logits(model, ids, routing, n_group=1, topk_group=1)
        moved["the shared experts 16 wide instead of 32 (n_shared_experts 1)"] = changed_copy(
            model, ids, shared_experts_narrowed(routing))
        return {**moved, **routing_bites(routing, model, ids),
                "halves rotated instead of adjacent pairs":
                    patched_logits(model, ids, modeling_deepseek_v2, "apply_rotary_emb", rotate_complex_halves),
                **mla_bites(model, ids)}
    return bites


def deepseek_v2_family(lite, seed, expert):
    routing = DEEPSEEK_V2_LITE_ROUTING if lite else DEEPSEEK_V2_ROUTING
    return Family(lambda: deepseek_v2_config(lite), rotation=None, seed=seed, head_std=0.1,
                  bites=deepseek_v2_bites(routing), gradients=mla_gradients(plain_query=lite, biases=False,
                                                                             expert=expert),
                  adjust_weights=mla_weights(routing), check=check_deepseek_v2(routing, DEEPSEEK_V3_ROPE if lite
                                                                               else DEEPSEEK_V2_ROPE),
                  left_padding=True, routing=routing)


# ---- Falcon-H1 (falcon_h1): attention and a Mamba-2 mixer side by side in every layer, muP multipliers ----

# hidden 16 and a vocabulary of 64 (not HIDDEN and VOCAB): two small folders for the GPU package's 64 MiB
FALCON_H1_VOCAB, FALCON_H1_HIDDEN = 64, 16
# every multiplier away from 1 and from the others, so that one read in another's place shows
FALCON_H1_MULTIPLIERS = dict(embedding_multiplier=1.7, lm_head_multiplier=0.6, attention_in_multiplier=1.3,
                             attention_out_multiplier=0.8, key_multiplier=0.45, ssm_in_multiplier=1.25,
                             ssm_out_multiplier=0.7, mlp_multipliers=[1.4, 0.55],
                             ssm_multipliers=[0.9, 1.35, 0.6, 1.9, 2.5])
FALCON_H1_ROPE = {"rope_type": "default", "rope_theta": 1000.0}
# the tied folder's embedding_multiplier (Falcon-H1-Tiny publishes 0.11): with 1.7 the tied head predicts the last
# token again and again on every seed tried
FALCON_H1_TIED_EMBEDDING_MULTIPLIER = 0.15
FALCON_H1_UNNORMED_OUT_SCALE = 5


def falcon_h1_config(rms_norm):
    """rms_norm (Falcon-H1R-7B's kind): the gated RMSNorm after the gate (mamba_norm_before_gate false, as
    published), normalising each of 2 groups, mamba_d_ssm 24 (not mamba_expand * hidden_size = 32, so mamba_d_head
    "auto" is 6), a tied head (with FALCON_H1_TIED_EMBEDDING_MULTIPLIER), no biases but the convolution's. Else
    (Falcon-H1-0.5B's kind): no norm (y * silu(z)), mamba_d_ssm unset (mamba_expand * hidden_size = 32 wide, heads
    of 8), one group, an untied head, every bias but the convolution's. Both: head_dim 8, not hidden_size / heads = 4
    (as the published head_dim 64 of hidden 1024 and 8 heads)."""
    settings = {**tiny(FALCON_H1_ROPE), "vocab_size": FALCON_H1_VOCAB, "hidden_size": FALCON_H1_HIDDEN,
                "intermediate_size": 24, "num_hidden_layers": 2, "head_dim": HEAD_DIM,
                "tie_word_embeddings": rms_norm}
    mamba = (dict(mamba_d_ssm=24, mamba_n_groups=2, mamba_rms_norm=True, mamba_norm_before_gate=False,
                  mamba_conv_bias=True, mamba_proj_bias=False, projectors_bias=False) if rms_norm else
             dict(mamba_d_ssm=None, mamba_n_groups=1, mamba_rms_norm=False, mamba_conv_bias=False,
                  mamba_proj_bias=True, projectors_bias=True, attention_bias=True, mlp_bias=True))
    multipliers = FALCON_H1_MULTIPLIERS if not rms_norm else {
        **FALCON_H1_MULTIPLIERS, "embedding_multiplier": FALCON_H1_TIED_EMBEDDING_MULTIPLIER}
    return transformers.FalconH1Config(mamba_n_heads=4, mamba_d_head="auto", mamba_d_state=4, mamba_d_conv=4,
                                       mamba_expand=2, mamba_chunk_size=4, **mamba, **multipliers, **settings,
                                       **NO_SPECIAL_TOKENS)


def falcon_h1_gradients(rms_norm):
    layer0 = "model.layers.0."
    names = [layer0 + "mamba." + n for n in ("in_proj.weight", "conv1d.weight", "A_log", "dt_bias", "D",
                                             "out_proj.weight")]
    names += [layer0 + "mamba.norm.weight", layer0 + "mamba.conv1d.bias"] if rms_norm else [
        layer0 + "mamba.in_proj.bias", layer0 + "mamba.out_proj.bias", layer0 + "self_attn.k_proj.bias"]
    return names + [layer0 + n for n in ("self_attn.q_proj.weight", "self_attn.k_proj.weight",
                                         "feed_forward.gate_proj.weight", "feed_forward.down_proj.weight",
                                         "input_layernorm.weight", "pre_ff_layernorm.weight")] + [
        "model.final_layernorm.weight", "model.embed_tokens.weight"]


def mixers(model):
    return [layer.mamba for layer in model.model.layers]


def falcon_h1_weights(model):
    """Decays that differ per head: A_log = log(0.3, 0.8, 1.5, 3) + noise, dt_bias around -1 (dt = softplus about
    0.3), so exp(dt A) runs from about 0.9 down to about 0.4; D around 0.5; in_proj, q_proj and k_proj 3x wider
    (0.24 N(0,1)), so that the time steps, B and C (and the rotation) move the logits; without the gated norm,
    out_proj FALCON_H1_UNNORMED_OUT_SCALE times wider."""
    with torch.no_grad():
        for layer in model.model.layers:
            mixer = layer.mamba
            mixer.A_log.add_(torch.log(torch.tensor([0.3, 0.8, 1.5, 3.0])))
            mixer.dt_bias.sub_(1)
            mixer.D.add_(0.5)
            for projection in (mixer.in_proj, layer.self_attn.q_proj, layer.self_attn.k_proj):
                projection.weight.mul_(3)
            if not model.config.mamba_rms_norm:  # no norm brings y * silu(z) to unit scale
                mixer.out_proj.weight.mul_(FALCON_H1_UNNORMED_OUT_SCALE)


def check_falcon_h1(model):
    """The mixer's widths as the README states them (mamba_d_ssm or mamba_expand * hidden_size; in_proj holds z, x,
    B, C and dt), and that the layers are all hybrid (no layer_types key is written)."""
    config = model.config
    inner = config.mamba_d_ssm or config.mamba_expand * config.hidden_size
    groups_state = config.mamba_n_groups * config.mamba_d_state
    mixer = mixers(model)[0]
    rows = mixer.in_proj.weight.shape[0]
    if rows != 2 * inner + 2 * groups_state + config.mamba_n_heads or mixer.head_dim * config.mamba_n_heads != inner:
        sys.exit(f"falcon_h1: in_proj has {rows} rows, heads of {mixer.head_dim}, not the README's widths")
    if mixer.mup_vector.shape[-1] != rows or "layer_types" in config.to_dict():
        sys.exit("falcon_h1: mup_vector's width or the saved layer_types are not as the README says")


def set_each(path, value):
    """An edit setting attribute `path` (e.g. "mamba.ssm_in_multiplier") of every decoder layer to value."""
    *owners, attribute = path.split(".")

    def edit(model):
        for layer in model.model.layers:
            owner = layer
            for name in owners:
                owner = getattr(owner, name)
            setattr(owner, attribute, value)
    return edit


def mup_segment_one(segment):
    """An edit setting segment `segment` (0 z, 1 x, 2 B, 3 C, 4 dt) of every mixer's mup_vector to 1."""
    def edit(model):
        config = model.config
        inner = config.mamba_d_ssm or config.mamba_expand * config.hidden_size
        groups_state = config.mamba_n_groups * config.mamba_d_state
        bounds = [0, inner, 2 * inner, 2 * inner + groups_state, 2 * inner + 2 * groups_state, None]
        for mixer in mixers(model):
            mixer.mup_vector[..., bounds[segment]:bounds[segment + 1]] = 1
    return edit


def falcon_h1_norm(model):
    return mixers(model)[0].norm


def padding_left_in(model, ids, mask):
    """(left-padded logits with apply_mask_to_padding_states a no-op, transformers' own) at the kept positions."""
    own = masked_logits(model, ids, mask)
    with mock.patch.object(modeling_falcon_h1, "apply_mask_to_padding_states", lambda states, mask: states):
        unzeroed = masked_logits(model, ids, mask)
    return unzeroed[mask == 1], own[mask == 1]


def falcon_h1_bites(model, ids):
    moved = {f"{name} 1": changed_copy(model, ids, edit) for name, edit in (
        ("attention_in_multiplier", set_each("attention_in_multiplier", 1.0)),
        ("attention_out_multiplier", set_each("attn_out_multiplier", 1.0)),
        ("ssm_out_multiplier", set_each("ssm_out_multiplier", 1.0)),
        ("ssm_in_multiplier", set_each("mamba.ssm_in_multiplier", 1.0)),
        ("key_multiplier", set_each("self_attn.key_multiplier", 1.0)),
        ("mlp_multipliers[0] (gate)", set_each("feed_forward.gate_multiplier", 1.0)),
        ("mlp_multipliers[1] (down)", set_each("feed_forward.down_multiplier", 1.0)),
        ("embedding_multiplier", lambda m: setattr(m.model, "embedding_multiplier", 1.0)),
        ("lm_head_multiplier", lambda m: setattr(m.model, "lm_head_multiplier", 1.0)))}
    moved.update({f"ssm_multipliers[{i}] ({part}) 1": changed_copy(model, ids, mup_segment_one(i))
                  for i, part in enumerate(("z", "x", "B", "C", "dt"))})
    moved["the mixer's output left out (attention alone)"] = changed_copy(model, ids, set_each("ssm_out_multiplier",
                                                                                                0.0))
    moved["the attention's output left out (mixer alone)"] = changed_copy(model, ids, set_each("attn_out_multiplier",
                                                                                                0.0))
    moved["rope_theta 10000 instead of 1000"] = rotary_with(model, ids, DEFAULT_ROPE)
    if model.config.mamba_rms_norm:
        moved["gated norm over the whole width instead of per group"] = changed_copy(
            model, ids, set_each("mamba.norm.n_groups", 1))
        moved["gated norm before the gate (mamba_norm_before_gate true)"] = changed_copy(
            model, ids, set_each("mamba.norm.norm_before_gate", True))
        moved["gated norm dropped (mamba_rms_norm false)"] = changed_copy(
            model, ids, lambda m: [setattr(mixer, "mamba_rms_norm", False) for mixer in mixers(m)])
    else:
        moved["in_proj's and out_proj's biases zeroed"] = changed_copy(model, ids, lambda m: [
            (mixer.in_proj.bias.zero_(), mixer.out_proj.bias.zero_()) for mixer in mixers(m)])
    moved["padding not zeroed (logits_left_padded, kept positions)"] = padding_left_in(model, ids,
                                                                                      left_padding_mask(ids))
    return moved


# ---- Nemotron-H (nemotron_h): each layer ONE block (Mamba-2, attention without rotary, or a gateless MLP) ----

NEMOTRON_H_PATTERN = "M-*M-"  # hybrid_override_pattern's letters: Mamba-2, MLP, attention, Mamba-2, MLP
NEMOTRON_H_TIME_STEP_MIN = 0.1  # transformers' mixer clamps dt below at time_step_min; 0.1 clamps some heads' steps
NEMOTRON_H_VOCAB = 64  # the folder travels to the GPU machine: a vocabulary of 64 keeps it near 130 KB


def nemotron_h_config():
    """5 layers M-*M- (written as layers_block_type), Mamba-2 mixers of 4 heads of 6 (24 wide, not 2 * hidden_size), 2
    groups with states of 4, a convolution of 4; attention of 4 heads of 8 over 2 key/value heads; MLPs of 24 with the
    squared ReLU; no biases but the convolution's."""
    return transformers.NemotronHConfig(
        vocab_size=NEMOTRON_H_VOCAB, hidden_size=HIDDEN, intermediate_size=24, hybrid_override_pattern=NEMOTRON_H_PATTERN,
        num_attention_heads=4, num_key_value_heads=2, head_dim=HEAD_DIM, max_position_embeddings=64,
        mamba_num_heads=4, mamba_head_dim=6, ssm_state_size=4, n_groups=2, conv_kernel=4, chunk_size=4,
        time_step_min=NEMOTRON_H_TIME_STEP_MIN, use_conv_bias=True, use_bias=False, mlp_bias=False,
        tie_word_embeddings=False, pad_token_id=None, **NO_SPECIAL_TOKENS)


NEMOTRON_H_GRADIENTS = ["model.layers.0.mixer." + n for n in ("in_proj.weight", "conv1d.weight", "conv1d.bias",
                                                              "A_log", "dt_bias", "D", "norm.weight",
                                                              "out_proj.weight")] + [
    "model.layers.0.norm.weight", "model.layers.1.mixer.up_proj.weight", "model.layers.1.mixer.down_proj.weight",
    "model.layers.2.mixer.q_proj.weight", "model.layers.2.mixer.k_proj.weight", "model.norm_f.weight",
    "model.embeddings.weight"]


def nemotron_h_mixers(model):
    return [layer.mixer for layer in model.model.layers if layer.block_type == "linear_attention"]


def nemotron_h_weights(model):
    """falcon_h1_weights' decays, time steps and D for each Mamba-2 mixer (A_log = log(0.3, 0.8, 1.5, 3) + noise,
    dt_bias around -1, D around 0.5), its in_proj and the attention's q/k 3x wider, the embeddings N(0,1)."""
    with torch.no_grad():
        model.model.embeddings.weight.copy_(model.model.embeddings.weight / 0.08)
        for mixer in nemotron_h_mixers(model):
            mixer.A_log.add_(torch.log(torch.tensor([0.3, 0.8, 1.5, 3.0])))
            mixer.dt_bias.sub_(1)
            mixer.D.add_(0.5)
            mixer.in_proj.weight.mul_(3)
        for layer in model.model.layers:
            if layer.block_type == "full_attention":
                layer.mixer.q_proj.weight.mul_(3)
                layer.mixer.k_proj.weight.mul_(3)


def check_nemotron_h(model):
    """The layers as the pattern says, in_proj's rows (z, x, B, C, dt), the norm's group size, and the checkpoint's
    names (backbone.*), which transformers renames to model.* on load."""
    config = model.config
    if config.layers_block_type != ["linear_attention", "mlp", "full_attention", "linear_attention", "mlp"]:
        sys.exit(f"nemotron_h: layers_block_type {config.layers_block_type} is not the README's")
    mixer = nemotron_h_mixers(model)[0]
    if mixer.in_proj.weight.shape[0] != 2 * 24 + 2 * 2 * 4 + 4 or mixer.norm.group_size != 12:
        sys.exit("nemotron_h: in_proj's rows or the gated norm's groups are not the README's")
    if not all(name.startswith(("backbone.", "lm_head.")) for name in hub_tensors(model)):
        sys.exit("nemotron_h: save_pretrained no longer writes the backbone as backbone.*")


def nemotron_h_bites(model, ids):
    def each_mixer(change):
        return lambda m: [change(mixer) for mixer in nemotron_h_mixers(m)]

    def mlps_act(function):
        copied = copy.deepcopy(model)
        for layer in copied.model.layers:
            if layer.block_type == "mlp":
                layer.mixer.act_fn = function
        return logits_of(copied, ids)
    moved = {
        "gated norm over the whole width instead of per group":
            changed_copy(model, ids, each_mixer(lambda mixer: setattr(mixer.norm, "group_size", 24))),
        "time steps not clamped at time_step_min":
            changed_copy(model, ids, each_mixer(lambda mixer: setattr(mixer, "time_step_limit", (0.0, math.inf)))),
        "ReLU instead of the squared ReLU": mlps_act(torch.nn.ReLU()),
        "MLP layers left out": changed_copy(model, ids, lambda m: [layer.mixer.down_proj.weight.zero_()
                                                                   for layer in m.model.layers
                                                                   if layer.block_type == "mlp"]),
        "padding not zeroed (logits_left_padded, kept positions)": None}
    own = masked_logits(model, ids, left_padding_mask(ids))
    with mock.patch.object(modeling_nemotron_h, "apply_mask_to_padding_states", lambda states, mask: states):
        unzeroed = masked_logits(model, ids, left_padding_mask(ids))
    moved["padding not zeroed (logits_left_padded, kept positions)"] = (unzeroed[left_padding_mask(ids) == 1],
                                                                         own[left_padding_mask(ids) == 1])
    return moved


# ---- Nemotron-H's mixture (nemotron_h_moe): "E" layers, GLM-4.5's router over gateless relu2 experts ----

NEMOTRON_H_MOE_PATTERN = "ME*E"  # Mamba-2, mixture, attention, mixture
NEMOTRON_H_MOE_EXPERTS, NEMOTRON_H_MOE_TOP_K, NEMOTRON_H_MOE_SCALING = 6, 2, 2.5
NEMOTRON_H_MOE_GROUPS, NEMOTRON_H_MOE_KEPT_GROUPS = 2, 1  # a token's 2 experts from the better of 2 groups of 3
NEMOTRON_H_MOE_ROUTER_STD, NEMOTRON_H_MOE_BIAS_STD = 0.3, 0.15  # as glm4_moe's: sigmoids spread, the bias biting
NEMOTRON_H_MOE_GRADIENTS = ["model.layers.0.mixer.in_proj.weight", "model.layers.1.mixer.gate.weight",
                            "model.layers.1.mixer.experts.1.up_proj.weight",
                            "model.layers.1.mixer.experts.1.down_proj.weight",
                            "model.layers.1.mixer.shared_experts.up_proj.weight",
                            "model.layers.1.mixer.shared_experts.down_proj.weight", "model.layers.1.norm.weight",
                            "model.layers.2.mixer.q_proj.weight", "model.norm_f.weight"]


def nemotron_h_moe_config():
    """nemotron_h's sizes with the pattern ME*E: 6 experts of 8 (relu2, no gate), 2 per token from the better of 2
    groups of 3, renormalised, times 2.5, beside a shared expert of 8; no latent projections."""
    settings = {**nemotron_h_config().to_dict(), "hybrid_override_pattern": NEMOTRON_H_MOE_PATTERN,
                "n_routed_experts": NEMOTRON_H_MOE_EXPERTS, "num_experts_per_tok": NEMOTRON_H_MOE_TOP_K,
                "moe_intermediate_size": 8, "moe_shared_expert_intermediate_size": 8,
                "n_group": NEMOTRON_H_MOE_GROUPS, "topk_group": NEMOTRON_H_MOE_KEPT_GROUPS,
                "routed_scaling_factor": NEMOTRON_H_MOE_SCALING, "norm_topk_prob": True}
    for key in ("layers_block_type", "model_type", "transformers_version", "architectures"):
        settings.pop(key, None)
    return transformers.NemotronHConfig(**settings)


NEMOTRON_H_MOE_ROUTING = Routing(
    modeling_nemotron_h.NemotronHMoE, modeling_nemotron_h.NemotronHTopkRouter, "mixer", ("up_proj", "up_proj",
                                                                                        "down_proj"),
    lambda block: block.gate.e_score_correction_bias, "gate.e_score_correction_bias",
    RouterRule(torch.sigmoid, NEMOTRON_H_MOE_TOP_K, scaling=NEMOTRON_H_MOE_SCALING, epsilon=1e-20,
               n_group=NEMOTRON_H_MOE_GROUPS, topk_group=NEMOTRON_H_MOE_KEPT_GROUPS))


def nemotron_h_moe_weights(model):
    nemotron_h_weights(model)
    rescale_routers(NEMOTRON_H_MOE_ROUTING, NEMOTRON_H_MOE_ROUTER_STD, NEMOTRON_H_MOE_BIAS_STD)(model)


def relu2_expert_by_hand(hub, prefix, x):
    return linear_by_hand(hub, prefix + "down_proj", torch.relu(linear_by_hand(hub, prefix + "up_proj", x)) ** 2)


def check_nemotron_h_moe(model):
    """The first mixture against the README's rule from the hub's tensors (each expert's up_proj and down_proj under
    its own name): RouterRule's choice and weights, sum of weight * down(relu(up x))^2, plus the shared expert's."""
    hub = hub_tensors(model)
    prefix = "backbone.layers.1.mixer."
    if not all(f"{prefix}experts.{e}.{n}.weight" in hub for e in range(NEMOTRON_H_MOE_EXPERTS)
               for n in ("up_proj", "down_proj")):
        sys.exit("nemotron_h_moe: save_pretrained no longer writes each expert's up_proj and down_proj")
    h = torch.randn((9, HIDDEN), generator=torch.Generator().manual_seed(1))
    chosen, weights, _ = NEMOTRON_H_MOE_ROUTING.rule.route(h @ hub[prefix + "gate.weight"].T,
                                                           hub[prefix + "gate.e_score_correction_bias"])
    expected = relu2_expert_by_hand(hub, prefix + "shared_experts.", h)
    for token in range(len(h)):
        for weight, expert in zip(weights[token], chosen[token].tolist()):
            expected[token] += weight * relu2_expert_by_hand(hub, f"{prefix}experts.{expert}.", h[token])
    with torch.no_grad():
        got = model.model.layers[1].mixer(h[None])[0]
    if not torch.allclose(got, expected, atol=1e-5):
        sys.exit(f"nemotron_h_moe's mixture is not the stated rule: off by {(got - expected).abs().max().item()}")


def nemotron_h_moe_bites(model, ids):
    routing = NEMOTRON_H_MOE_ROUTING

    def shared_dropped(m):
        for block in routing.blocks(m):
            block.shared_experts.down_proj.weight.zero_()
    return grouped_router_bites(routing, model, ids, {
        "the experts dropped": changed_copy(model, ids, experts_dropped(routing)),
        "no shared expert": changed_copy(model, ids, shared_dropped)})


# ---- one family ----

class Family:
    """rotation: a Rotation, or None where check covers the rotation; gradients: the grad.NAME list where layer 0 is
    not a Llama-like attention layer (else gradient_names builds it); adjust_weights(model) runs after set_weights;
    check(model) checks family rules beyond the rotation; left_padding adds left_attention_mask and
    logits_left_padded to the reference; routing (a Routing) describes the mixture, whose router calls during the
    reference routing_refusal and routing_summary judge; extra_tensors() gives tensors added to model.safetensors
    beside what save_pretrained writes; auto is the transformers Auto class that builds the model (a vision-language
    family's is AutoModelForImageTextToText); aux_gradients: where set, the reference also holds the router
    load-balancing loss of the right-padded batch (aux_loss, output_router_logits=True) and its gradients
    aux_grad.NAME for these names; hub_orientation(name, tensor): where set, a parameter (or its gradient) as the hub
    stores it, where that differs from transformers' own (model.safetensors and grad.NAME are written so)."""

    def __init__(self, make_config, rotation, seed, head_std, bites, first_mlp=None, norms=(), norm_biases=False,
                 gradients=None, adjust_weights=None, check=None, left_padding=False, routing=None,
                 extra_tensors=None, auto=transformers.AutoModelForCausalLM, aux_gradients=None,
                 hub_orientation=None, vocab=VOCAB):
        self.make_config, self.rotation, self.seed, self.head_std = make_config, rotation, seed, head_std
        self.first_mlp, self.norms, self.bites, self.norm_biases = first_mlp, norms, bites, norm_biases
        self.gradients, self.adjust_weights, self.check = gradients, adjust_weights, check
        self.left_padding, self.routing, self.extra_tensors, self.auto = left_padding, routing, extra_tensors, auto
        self.aux_gradients, self.hub_orientation, self.vocab = aux_gradients, hub_orientation, vocab

    def as_stored(self, name, tensor):
        return self.hub_orientation(name, tensor) if self.hub_orientation else tensor

    def gradient_names(self, model):
        if self.gradients:
            return self.gradients
        text = "model.language_model." if language_model(model) is not model.model else "model."
        layer0 = text + "layers.0."
        names = [layer0 + "self_attn.q_proj.weight", layer0 + "self_attn.k_proj.weight"]
        if language_model(model).layers[0].self_attn.k_proj.bias is not None:
            names.append(layer0 + "self_attn.k_proj.bias")
        names += [layer0 + self.first_mlp] + [layer0 + n + ".weight" for n in self.norms] + [text + "norm.weight"]
        if self.norm_biases:
            names += [layer0 + n + ".bias" for n in self.norms] + [text + "norm.bias"]
        return names


class Rotation:
    """The rule a README states, checked against transformers' own rotary module and apply_rotary_pos_emb: dims
    first[i] and second[i] of each HEAD_DIM-dim head turn as a pair by the angle position * inv_freq[i], both scaled by
    `scale`; the other dims pass. position_rows: the rotary module takes that many rows of positions (M-RoPE's 3:
    temporal, height, width), all given the same positions, as text's are."""

    def __init__(self, module, first, second, inv_freq, scale, rule, position_rows=None):
        self.module, self.first, self.second = module, first, second
        self.inv_freq, self.scale, self.rule, self.position_rows = inv_freq, scale, rule, position_rows

    def check(self, model):
        x = torch.randn((1, 1, 5, HEAD_DIM), generator=torch.Generator().manual_seed(0))
        positions = torch.arange(5)
        text = language_model(model)
        rotary = text.pos_emb if hasattr(text, "pos_emb") else text.rotary_emb  # lfm2_moe
        rows = positions[None] if self.position_rows is None else positions.expand(self.position_rows, 1, -1)
        cos, sin = rotary(x, position_ids=rows)
        rotated, _ = self.module.apply_rotary_pos_emb(x, x, cos, sin)
        angle = positions[:, None] * self.inv_freq
        a, b = x[..., self.first], x[..., self.second]
        expected = x.clone()
        expected[..., self.first] = self.scale * (a * angle.cos() - b * angle.sin())
        expected[..., self.second] = self.scale * (b * angle.cos() + a * angle.sin())
        if not torch.allclose(rotated, expected, atol=1e-6):
            sys.exit(f"the rotation is not {self.rule}: off by {(rotated - expected).abs().max().item()}")


def plain_inv_freq(theta, dims):
    return theta ** (-torch.arange(0, dims, 2, dtype=torch.float64) / dims)


def adjacent_pairs(module, dims):
    """(x[2i], x[2i+1]) of the first `dims` dims, angle position * 10000^(-2i/dims)."""
    first = torch.arange(0, dims, 2)
    return Rotation(module, first, first + 1, plain_inv_freq(10000.0, dims).float(), 1.0,
                    f"the adjacent-pair rule over {dims} dims")


def halves(module, inv_freq, scale=1.0, rule="Llama's halves rule with theta 10000", position_rows=None):
    """(x[i], x[i + R/2]) of the first R = 2 len(inv_freq) dims of a head (all of them unless partial), angle
    position * inv_freq[i]."""
    first = torch.arange(len(inv_freq))
    return Rotation(module, first, first + len(inv_freq), inv_freq.float(), scale, rule, position_rows)


def hunyuan_inv_freq(rope):
    """The "dynamic" rope with alpha, as HunYuanDenseV1RotaryEmbedding.__init__ builds it: the base becomes
    theta * alpha^(d/(d-2)), d = HEAD_DIM."""
    return plain_inv_freq(rope["rope_theta"] * rope["alpha"] ** (HEAD_DIM / (HEAD_DIM - 2)), HEAD_DIM)


def yarn_mscale(factor, mscale=1.0):
    """modeling_rope_utils._compute_yarn_parameters.get_mscale (deepseek_v3's yarn_get_mscale is the same)."""
    return 1.0 if factor <= 1 else 0.1 * mscale * math.log(factor) + 1


def yarn_inv_freq(rope, dims=HEAD_DIM):
    """YaRN (modeling_rope_utils._compute_yarn_parameters) for d = dims rotary dims: frequency i keeps theta^(-2i/d)
    below the ramp, is divided by factor above it and blends linearly on it; the ramp runs from floor(c(beta_fast))
    to ceil(c(beta_slow)), c(r) = d ln(original_max / (2 pi r)) / (2 ln theta); cos and sin are scaled by
    yarn_mscale(factor, mscale) / yarn_mscale(factor, mscale_all_dim) where both are set, else
    yarn_mscale(factor) = 0.1 ln(factor) + 1."""
    theta, factor, original = rope["rope_theta"], rope["factor"], rope["original_max_position_embeddings"]

    def correction(rotations):
        return dims * math.log(original / (2 * math.pi * rotations)) / (2 * math.log(theta))
    low, high = max(math.floor(correction(rope["beta_fast"])), 0), min(math.ceil(correction(rope["beta_slow"])),
                                                                   dims - 1)
    high = high + 0.001 if low == high else high  # a zero-width ramp widened, as find_correction_range's caller does
    ramp = ((torch.arange(dims // 2, dtype=torch.float64) - low) / (high - low)).clamp(0, 1)
    kept = plain_inv_freq(theta, dims)
    if rope.get("mscale") and rope.get("mscale_all_dim"):
        scale = yarn_mscale(factor, rope["mscale"]) / yarn_mscale(factor, rope["mscale_all_dim"])
    else:
        scale = yarn_mscale(factor)
    return kept * (1 - ramp) + kept / factor * ramp, scale


GLM_NORMS = ["input_layernorm", "post_attention_layernorm"]
COHERE_NORMS = ["input_layernorm"]
ARCEE_INV_FREQ, ARCEE_SCALE = yarn_inv_freq(ARCEE_ROPE)


def llama3_inv_freq(rope, dims=HEAD_DIM):
    """Llama 3.1's rope (modeling_rope_utils._compute_llama3_parameters): wavelengths 2 pi / f shorter than
    original / high_freq_factor keep f, longer than original / low_freq_factor become f / factor, and those between
    blend the two by s = (original / wavelength - low) / (high - low): (1 - s) f / factor + s f."""
    kept = plain_inv_freq(rope["rope_theta"], dims)
    original, low, high = rope["original_max_position_embeddings"], rope["low_freq_factor"], rope["high_freq_factor"]
    wavelength = 2 * math.pi / kept
    blend = ((original / wavelength - low) / (high - low)).clamp(0, 1)
    return (1 - blend) * kept / rope["factor"] + blend * kept



# ---- Mistral's current families: ministral3, mistral3 (its vision-language checkpoints) and ministral ----

# Ministral 3's published rope (YaRN, betas 32/1, mscale = mscale_all_dim = 1 so the cos/sin factor is exactly 1) over
# 4 original positions instead of 16,384 (factor 16 as published: 64 / 4), so that the 16 test positions cross three floor steps of Llama 4's query
# temperature 1 + beta ln(1 + floor(position / 4)); beta 0.5 instead of the published 0.1, so that it bites clearly
MINISTRAL3_ROPE = {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 16.0, "original_max_position_embeddings": 4,
                   "beta_fast": 32.0, "beta_slow": 1.0, "mscale": 1.0, "mscale_all_dim": 1.0,
                   "llama_4_scaling_beta": 0.5}
MINISTRAL3_INV_FREQ, MINISTRAL3_SCALE = yarn_inv_freq(MINISTRAL3_ROPE)
# Ministral 8B's layer pattern in small: a window of 6 on two layers of three, the middle one full
MINISTRAL_LAYERS = ["sliding_attention", "full_attention", "sliding_attention"]
# these folders travel to the GPU machine: 3 layers, an MLP of 32 and 64 tokens keep each under 150 KB
MISTRAL_SIZES = dict(vocab_size=64, num_hidden_layers=3, intermediate_size=32)


def mistral_tiny(rope_parameters=None):
    return {**tiny(rope_parameters), **MISTRAL_SIZES}


def ministral3_config():
    return transformers.Ministral3Config(head_dim=HEAD_DIM, **mistral_tiny(MINISTRAL3_ROPE), **NO_SPECIAL_TOKENS)


def mistral3_config():
    """A Mistral3ForConditionalGeneration (Ministral 3's published class) around ministral3_config's language model,
    with a one-layer pixtral vision tower that text inputs never run; the head untied at both levels (Mistral Small
    3.1's and Ministral 3 8B's shape: Mistral3Config itself defaults tie_word_embeddings to true)."""
    text = {**mistral_tiny(MINISTRAL3_ROPE), "model_type": "ministral3", "head_dim": HEAD_DIM, **NO_SPECIAL_TOKENS}
    vision = dict(hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2, head_dim=4,
                  patch_size=2, image_size=8)
    return transformers.Mistral3Config(text_config=text, vision_config=vision, tie_word_embeddings=False)


def ministral_config():
    return transformers.MinistralConfig(head_dim=HEAD_DIM, sliding_window=6, layer_types=MINISTRAL_LAYERS,
                                        **mistral_tiny(),
                                        **NO_SPECIAL_TOKENS)


def check_temperature(model):
    """transformers' get_llama_4_attn_scale is 1 + beta ln(1 + floor(position / original)), per position."""
    positions = torch.arange(SEQ)[None]
    own = modeling_ministral3.get_llama_4_attn_scale(positions, 0.5, 4)[0, 0, :, 0]
    expected = torch.tensor([1 + 0.5 * math.log(1 + p // 4) for p in range(SEQ)], dtype=torch.float32)
    if not torch.allclose(own, expected, atol=1e-6):
        sys.exit(f"the query temperature is not 1 + beta ln(1 + floor(p / original)): {own.tolist()}")


def check_mistral3(model):
    """check_temperature; save_pretrained writes transformers 4's names, as the hub's Mistral 3 checkpoints hold them
    (the "llava" conversion, undone on load): language_model.model.*, language_model.lm_head (untied), vision_tower.*
    and multi_modal_projector.*."""
    check_temperature(model)
    names = hub_tensors(model)
    prefixes = ("language_model.model.", "vision_tower.", "multi_modal_projector.")
    if "language_model.lm_head.weight" not in names or not all(any(n.startswith(p) for n in names) for p in prefixes) \
            or not all(n.startswith(prefixes) or n == "language_model.lm_head.weight" for n in names):
        sys.exit(f"mistral3: unexpected saved names {sorted(names)}")


def with_rope(model, ids, **changes):
    """The logits with the language model's rope_parameters changed (the attention reads them at every call)."""
    copied = copy.deepcopy(model)
    rope = language_model(copied).config.rope_parameters
    rope.update(changes)
    return logits_of(copied, ids)


def temperature_without_floor(positions, beta, original):
    return (1 + beta * torch.log(1 + positions / original))[:, None, :, None]


def ministral3_bites(model, ids):
    return {"query temperature off (beta 0)": with_rope(model, ids, llama_4_scaling_beta=0.0),
            "temperature without the floor":
                patched_logits(model, ids, modeling_ministral3, "get_llama_4_attn_scale", temperature_without_floor),
            "YaRN off (theta 10000 as is)": rotary_with(model, ids, {**DEFAULT_ROPE, "llama_4_scaling_beta": 0.5,
                                                                     "original_max_position_embeddings": 4})}


def ministral_bites(model, ids):
    copied = copy.deepcopy(model)
    copied.config.layer_types = ["sliding_attention"] * len(MINISTRAL_LAYERS)
    return {"sliding window off": window_as_wide_as_the_sequence(model, ids),
            "the full-attention layer sliding too": logits_of(copied, ids)}



# ---- Mistral 4 (mistral4): DeepSeek-V3's latent attention with Llama 4's query temperature, a grouped softmax ----

# DeepSeek-V3's YaRN shape (mscale 0.5 against mscale_all_dim 1.0: both factors show) over 4 original positions
# (factor 16 = 64 / 4), so that the 16 test positions cross three floor steps of the temperature
# 1 + beta ln(1 + floor(p / 4)); beta 0.5 instead of the published 0.1, so that it bites clearly
MISTRAL4_ROPE = {**DEEPSEEK_V3_ROPE, "factor": 16.0, "original_max_position_embeddings": 4,
                 "llama_4_scaling_beta": 0.5}
# 2 x moe_intermediate_size (16) differs from hidden_size (32): a fused tensor read in the other orientation shows
MISTRAL4_EXPERT_WIDTH = 8
MISTRAL4_FUSED = ("mlp.experts.gate_up_proj", "mlp.experts.down_proj")
# layer 0's attention and dense MLP, layer 1's router, fused experts and shared experts, the final norm
MISTRAL4_GRADIENTS = ([name for name in mla_gradients(plain_query=False, biases=False, expert=0)
                       if ".experts." not in name] + ["model.layers.1." + name for name in MISTRAL4_FUSED])
# Mistral4TopkRouter: softmax(logits) in the model's dtype, no selection bias; the top k among the topk_group best of
# n_group groups, a group ranked by the sum of its two best probabilities; weights the chosen probabilities over (their
# sum + 1e-20) where norm_topk_prob, times routed_scaling_factor
MISTRAL4_ROUTING = Routing(modeling_mistral4.Mistral4MoE, modeling_mistral4.Mistral4TopkRouter, "mlp", GATED_MLP,
                           no_selection_bias, None,
                           RouterRule(softmax_scores, GLM4_MOE_TOP_K, scaling=GLM4_MOE_SCALING, epsilon=1e-20,
                                      n_group=GLM4_MOE_GROUPS, topk_group=GLM4_MOE_KEPT_GROUPS))


class Mistral4Builder:
    """transformers 5.17 names Mistral4ForCausalLM in no AutoModelForCausalLM mapping (only its pretraining and
    image-text-to-text ones): the class builds itself."""

    @staticmethod
    def from_config(config, **kwargs):
        return transformers.Mistral4ForCausalLM._from_config(config, **kwargs)


def mistral4_config():
    """q through q_lora_rank 12, adjacent pairs (rope_interleave's default), YaRN with the temperature, no biases,
    2 layers (one dense, then one sparse: first_k_dense_replace 1), 8 experts of 8 in 4 groups, 2 per token from the
    best 2 groups, one shared expert, vocab 64 (the folder travels to the GPU machine: under 150 KB)."""
    settings = {**mistral_tiny(MISTRAL4_ROPE), "num_key_value_heads": 4, "num_hidden_layers": 2}
    return transformers.Mistral4Config(q_lora_rank=12, **MLA, first_k_dense_replace=1,
                                       n_routed_experts=GLM4_MOE_EXPERTS, num_experts_per_tok=GLM4_MOE_TOP_K,
                                       n_group=GLM4_MOE_GROUPS, topk_group=GLM4_MOE_KEPT_GROUPS,
                                       moe_intermediate_size=MISTRAL4_EXPERT_WIDTH, n_shared_experts=1,
                                       norm_topk_prob=True, routed_scaling_factor=GLM4_MOE_SCALING, **settings,
                                       **NO_SPECIAL_TOKENS)


def temperature_by_hand(rope, steps):
    """1 + beta ln(1 + floor(p / original)) at positions 0..steps-1."""
    beta, original = rope["llama_4_scaling_beta"], rope["original_max_position_embeddings"]
    return torch.tensor([1 + beta * math.log(1 + p // original) for p in range(steps)], dtype=torch.float32)


def check_mistral4_mixture(model):
    """Layer 0 dense (intermediate_size wide), layer 1 sparse; save_pretrained writes the experts fused, in
    transformers' own orientation (gate_up_proj (E, 2I, hidden), down_proj (E, hidden, I): no conversion_mapping
    entry), which is what a hub checkpoint holds; the first sparse block against fused_block_by_hand on those tensors
    transposed, plus the shared experts' swiglu."""
    routing = MISTRAL4_ROUTING
    dense = [i for i in range(len(model.model.layers)) if i not in routing.sparse_layers(model)]
    widths = {mlp.gate_proj.weight.shape[0] for mlp in routing.dense_mlps(model)}
    if dense != [0] or widths != {MISTRAL_SIZES["intermediate_size"]}:
        sys.exit(f"dense layers {dense} of widths {widths}")
    hub, parameters = hub_tensors(model), dict(model.named_parameters())
    fused = [name for name in hub if name.endswith(MISTRAL4_FUSED)]
    shapes = {hub[name].shape for name in fused}
    if any(HUB_EXPERT.fullmatch(name) for name in hub) or len(fused) != 2 or \
            any(not torch.equal(hub[name], parameters[name]) for name in fused) or \
            shapes != {(GLM4_MOE_EXPERTS, 2 * MISTRAL4_EXPERT_WIDTH, HIDDEN),
                       (GLM4_MOE_EXPERTS, HIDDEN, MISTRAL4_EXPERT_WIDTH)}:
        sys.exit(f"save_pretrained no longer writes the fused experts in transformers' orientation: {fused} {shapes}")
    layer = routing.sparse_layers(model)[0]
    prefix = f"model.layers.{layer}.mlp."
    h = torch.randn((9, HIDDEN), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = routing.mlps(model)[layer](h[None])[0]
    transposed = {name: tensor.transpose(1, 2) if name.endswith(MISTRAL4_FUSED) else tensor
                  for name, tensor in hub.items()}
    expected = (fused_block_by_hand(routing.rule, transposed, prefix, h)
                + swiglu_by_hand(hub, prefix + "shared_experts.", GATED_MLP, h))
    if not torch.allclose(got, expected, atol=1e-5):
        sys.exit(f"Mistral4MoE is not the stated rule: off by {(got - expected).abs().max().item()}")


def check_mistral4(model):
    """The mixture; the config (head_dim = qk_head_dim = nope + rope, unlike DeepSeek-V3's head_dim; YaRN over
    partial_rotary_factor rope / head_dim); the attention against mla_by_hand with the temperature; the latent cache;
    the temperature function."""
    check_mistral4_mixture(model)
    config = model.config
    found = (config.head_dim, config.qk_head_dim, config.rope_parameters["partial_rotary_factor"],
             model.model.rotary_emb.inv_freq.shape[0])
    if found != (NOPE_DIMS + ROTARY_DIMS, NOPE_DIMS + ROTARY_DIMS, ROTARY_DIMS / (NOPE_DIMS + ROTARY_DIMS),
                 ROTARY_DIMS // 2):
        sys.exit(f"Mistral4Config is not as the README says: {found}")
    check_mla_attention(model, MISTRAL4_ROPE)
    check_latent_cache(model)
    own = modeling_mistral4.get_llama_4_attn_scale(torch.arange(SEQ)[None], 0.5, 4)[0, 0, :, 0]
    if not torch.allclose(own, temperature_by_hand(MISTRAL4_ROPE, SEQ), atol=1e-6):
        sys.exit(f"Mistral 4's query temperature is not 1 + beta ln(1 + floor(p / original)): {own.tolist()}")


def temperature_on_rotary_dims(positions, beta, original):
    """get_llama_4_attn_scale's factor on each query's qk_rope_head_dim rotated dims alone (as folding it into the
    rotary tables, Ministral 3's way, would give): its no-rope dims left at 1."""
    factor = (1 + beta * torch.log(1 + torch.floor(positions / original)))[:, None, :, None]
    rotated = torch.arange(NOPE_DIMS + ROTARY_DIMS) >= NOPE_DIMS
    return torch.where(rotated, factor, torch.ones(()))


def mistral4_bites(model, ids):
    routing = MISTRAL4_ROUTING
    rope = model.config.rope_parameters
    return {"sigmoid instead of softmax": routed_logits(model, ids, routing, activation=torch.sigmoid),
            "groups ranked by their best probability instead of the sum of their two best":
                routed_logits(model, ids, routing, group_top=1),
            "groups ignored (n_group 1)": routed_logits(model, ids, routing, n_group=1, topk_group=1),
            "no renormalisation over the chosen experts": routed_logits(model, ids, routing, renormalise=False),
            "routed_scaling_factor 1": routed_logits(model, ids, routing, scaling=1.0),
            **routing_bites(routing, model, ids),
            "halves rotated instead of adjacent pairs": changed_copy(model, ids, interleave_flipped),
            "query temperature off (beta 0)": with_rope(model, ids, llama_4_scaling_beta=0.0),
            "temperature without the floor":
                patched_logits(model, ids, modeling_mistral4, "get_llama_4_attn_scale", temperature_without_floor),
            "temperature on the rotated query dims alone, not the no-rope ones":
                patched_logits(model, ids, modeling_mistral4, "get_llama_4_attn_scale", temperature_on_rotary_dims),
            # transformers' default rope over a latent head fails (its table spans nope + rope dims): YaRN's factor 1
            # is the plain rope
            **mla_bites(model, ids, yarn_off={**rope, "factor": 1.0})}


def falcon_h1_family(rms_norm, seed):
    """Falcon-H1 with its mixers' gated RMSNorm (per group, after the gate) or without one."""
    return Family(lambda: falcon_h1_config(rms_norm=rms_norm),
                  rotation=halves(modeling_falcon_h1, plain_inv_freq(1000.0, HEAD_DIM),
                                  rule="Llama's halves rule with theta 1000"),
                  seed=seed, head_std=0.3, bites=falcon_h1_bites, gradients=falcon_h1_gradients(rms_norm),
                  adjust_weights=falcon_h1_weights, check=check_falcon_h1, left_padding=True, vocab=FALCON_H1_VOCAB)

# ---- Google's Gemma 4 (gemma4_text): per-layer head sizes and rotary, k_eq_v, PLE, kv-shared layers ----

# sliding, full, then a sliding and a full layer that read layers 0's and 1's keys and values (num_kv_shared_layers 2)
GEMMA4_LAYERS = ["sliding_attention", "full_attention", "sliding_attention", "full_attention"]
GEMMA4_GLOBAL_HEAD_DIM = 16  # the full layers' heads (the sliding layers' are HEAD_DIM)
# the full layers' "proportional" rotary: int(0.5 * 16 // 2) = 4 of the 8 pairs turn, at theta^(-2i / 16); the rest stay
GEMMA4_ROPE = {"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
               "full_attention": {"rope_type": "proportional", "partial_rotary_factor": 0.5, "rope_theta": 10000.0}}
GEMMA4_VOCAB = 64
GEMMA4_HIDDEN = 16  # half the others' width: this folder travels to the GPU machine, under 150 KB


def gemma4_text_config():
    """4 layers (GEMMA4_LAYERS) of width 16, MLPs of 16, 4 query heads: the sliding ones 2 key/value heads of 8, a window of 4; the full ones
    heads of 16 whose keys are their values (attention_k_eq_v), 1 key/value head (num_global_key_value_heads); the
    last 2 layers share layers 0's and 1's keys and values and have MLPs twice as wide (use_double_wide_mlp); per-layer
    inputs of 8 (PLE) over the whole vocabulary; logits soft-capped at 10."""
    return transformers.Gemma4TextConfig(
        vocab_size=GEMMA4_VOCAB, hidden_size=GEMMA4_HIDDEN, intermediate_size=16, num_hidden_layers=len(GEMMA4_LAYERS),
        num_attention_heads=4, num_key_value_heads=2, head_dim=HEAD_DIM, global_head_dim=GEMMA4_GLOBAL_HEAD_DIM,
        num_global_key_value_heads=1, attention_k_eq_v=True, layer_types=list(GEMMA4_LAYERS), sliding_window=4,
        rope_parameters=copy.deepcopy(GEMMA4_ROPE), max_position_embeddings=64, hidden_size_per_layer_input=8,
        vocab_size_per_layer_input=GEMMA4_VOCAB, num_kv_shared_layers=2, use_double_wide_mlp=True,
        final_logit_softcapping=10.0, tie_word_embeddings=True, pad_token_id=None, **NO_SPECIAL_TOKENS)


GEMMA4_GRADIENTS = ["model.layers.0.self_attn." + n for n in ("q_proj.weight", "k_proj.weight", "v_proj.weight",
                                                              "q_norm.weight", "k_norm.weight", "o_proj.weight")] + [
    "model.layers.0.mlp.gate_proj.weight", "model.layers.0.input_layernorm.weight",
    "model.layers.0.post_feedforward_layernorm.weight", "model.layers.0.per_layer_input_gate.weight",
    "model.layers.0.per_layer_projection.weight", "model.layers.0.post_per_layer_input_norm.weight",
    "model.layers.1.self_attn.k_proj.weight", "model.layers.1.self_attn.q_proj.weight",
    "model.layers.2.self_attn.q_proj.weight", "model.layers.3.mlp.down_proj.weight",
    "model.embed_tokens_per_layer.weight", "model.per_layer_model_projection.weight",
    "model.per_layer_projection_norm.weight", "model.norm.weight"]


def gemma4_weights(model):
    """Each layer's layer_scalar (a stored buffer, 1 in a fresh model) drawn in [0.6, 1.4]; the final norm's weight
    times 0.15, so that the logits through the tied N(0,1) embeddings stay O(1)."""
    g = torch.Generator().manual_seed(4)
    with torch.no_grad():
        model.model.norm.weight.mul_(0.15)
        for layer in model.model.layers:
            layer.layer_scalar.copy_(0.6 + 0.8 * torch.rand(1, generator=g))


def check_gemma4(model):
    """The layer shapes the README states, the rotary tables of both layer types, and the stored names."""
    layers = model.model.layers
    attn = [layer.self_attn for layer in layers]
    if [a.head_dim for a in attn] != [8, 16, 8, 16] or attn[1].v_proj is not None or attn[0].v_proj is None \
            or [a.is_kv_shared_layer for a in attn] != [False, False, True, True] \
            or [a.store_full_length_kv for a in attn] != [True, True, False, False] \
            or attn[1].k_proj.weight.shape[0] != 16 or [layer.mlp.intermediate_size for layer in layers] != [16, 16, 32, 32]:
        sys.exit("gemma4_text: the layers are not the README's")
    x = torch.zeros((1, 5, GEMMA4_HIDDEN))
    positions = torch.arange(5)[None]
    for kind, dims, rotated in (("sliding_attention", HEAD_DIM, HEAD_DIM // 2), ("full_attention", 16, 4)):
        cos, _ = model.model.rotary_emb(x, positions, kind)
        inv = torch.cat((plain_inv_freq(10000.0, dims)[:rotated], torch.zeros(dims // 2 - rotated, dtype=torch.float64)))
        expected = (positions[0, :, None] * inv).cos()
        if not torch.allclose(cos[0, :, :dims // 2].double(), expected, atol=1e-6):
            sys.exit(f"gemma4_text: the {kind} rotary is not the README's")
    hub = hub_tensors(model)
    if any(".".join(n.split(".")[:3]) in ("model.layers.2", "model.layers.3") and ("k_proj" in n or "v_proj" in n)
           for n in hub) or "model.layers.0.layer_scalar" not in hub:
        sys.exit("gemma4_text: save_pretrained writes k/v projections of a shared layer, or no layer_scalar")


def gemma4_bites(model, ids):
    def each_layer(change):
        return lambda m: [change(layer) for layer in m.model.layers]

    def without_ple(m):
        m.model.hidden_size_per_layer_input = 0
        for layer in m.model.layers:
            layer.hidden_size_per_layer_input = 0

    def full_rotary_everywhere(m):
        m.model.rotary_emb = type(m.model.rotary_emb)(m.config)
        for kind in ("full_attention",):
            freq = getattr(m.model.rotary_emb, kind + "_inv_freq")
            freq.copy_(plain_inv_freq(10000.0, GEMMA4_GLOBAL_HEAD_DIM).float())
    return {"sliding window off": window_as_wide_as_the_sequence(model, ids),
            "layer_scalar 1": changed_copy(model, ids, each_layer(lambda layer: layer.layer_scalar.fill_(1.0))),
            "per-layer inputs off": changed_copy(model, ids, without_ple),
            "v_norm removed": without_module(model, ids, "self_attn.v_norm"),
            "every pair of the full layers turning": changed_copy(model, ids, full_rotary_everywhere),
            "scores scaled by 1/sqrt(head_dim)": changed_copy(model, ids, each_layer(
                lambda layer: setattr(layer.self_attn, "scaling", layer.self_attn.head_dim ** -0.5))),
            "no soft cap": changed_copy(model, ids, lambda m: setattr(m.config, "final_logit_softcapping", None))}


# ---- Gemma 4 with enable_moe_block (gemma-4-26B-A4B): a mixture of experts beside each layer's dense MLP ----

GEMMA4_MOE_LAYERS = ["sliding_attention", "full_attention"]
GEMMA4_MOE_EXPERTS, GEMMA4_MOE_TOP_K, GEMMA4_MOE_WIDTH = 4, 2, 16
GEMMA4_MOE_ROUTER_STD = 1.5  # router logits of about 1.5: the top-2 probabilities far apart from the rest
# layer 0's feed-forward part (the experts' gate_up_proj: its gradient goes through down_proj and the GeGLU), the full
# layer's keys-as-values projection and the final norm (few, to stay under 150 KB)
GEMMA4_MOE_GRADIENTS = ["model.layers.0." + n for n in (
    "mlp.gate_proj.weight", "router.proj.weight", "router.scale", "router.per_expert_scale", "experts.gate_up_proj",
    "pre_feedforward_layernorm.weight", "pre_feedforward_layernorm_2.weight", "post_feedforward_layernorm_1.weight",
    "post_feedforward_layernorm_2.weight", "post_feedforward_layernorm.weight")] + [
    "model.layers.1.self_attn.k_proj.weight", "model.norm.weight"]


class Gemma4Routing(Routing):
    """Gemma 4's mixture has no block module: the decoder layer is the block, its router layer.router
    (Gemma4TextRouter: its forward returns the softmax probabilities, the chosen experts' weights and the chosen
    experts, so that the rule reads probabilities) and its experts layer.experts."""

    def mlps(self, model):
        return list(language_model(model).layers)

    def router(self, block):
        return block.router

    def router_weight(self, block):
        return block.router.proj.weight


# Gemma4TextRouter: the top k of the float32 softmax, renormalised to sum 1 (then times per_expert_scale, which
# weighs and never picks)
GEMMA4_MOE_ROUTING = Gemma4Routing(modeling_gemma4.Gemma4TextDecoderLayer, modeling_gemma4.Gemma4TextRouter, None,
                                   GATED_MLP, lambda block: torch.zeros(GEMMA4_MOE_EXPERTS), None,
                                   RouterRule(lambda probabilities: probabilities, GEMMA4_MOE_TOP_K))


def gemma4_text_moe_config():
    """2 layers (sliding, full) of width HIDDEN, dense MLPs of 8, 2 query heads over 1 key/value head (8 wide; the
    full layer's 16 wide, its keys its values), a window of 4, no per-layer inputs and no kv-shared layers (as
    gemma-4-26B-A4B), and beside each MLP 4 experts of 16, 2 per token; logits soft-capped at 10, vocab 64 (the folder
    travels to the GPU machine: under 150 KB)."""
    return transformers.Gemma4TextConfig(
        vocab_size=GEMMA4_VOCAB, hidden_size=HIDDEN, intermediate_size=8, num_hidden_layers=len(GEMMA4_MOE_LAYERS),
        num_attention_heads=2, num_key_value_heads=1, head_dim=HEAD_DIM, global_head_dim=GEMMA4_GLOBAL_HEAD_DIM,
        num_global_key_value_heads=1, attention_k_eq_v=True, layer_types=list(GEMMA4_MOE_LAYERS), sliding_window=4,
        rope_parameters=copy.deepcopy(GEMMA4_ROPE), max_position_embeddings=64, hidden_size_per_layer_input=0,
        vocab_size_per_layer_input=GEMMA4_VOCAB, enable_moe_block=True, num_experts=GEMMA4_MOE_EXPERTS,
        top_k_experts=GEMMA4_MOE_TOP_K, moe_intermediate_size=GEMMA4_MOE_WIDTH, final_logit_softcapping=10.0,
        tie_word_embeddings=True, pad_token_id=None, **NO_SPECIAL_TOKENS)


def gemma4_moe_weights(model):
    """gemma4_weights; each router's scale 1 + 0.2 N(0,1) and per_expert_scale in [0.5, 1.5] (set_weights drew them as projections), its
    proj rescaled to GEMMA4_MOE_ROUTER_STD."""
    gemma4_weights(model)
    rescale_routers(GEMMA4_MOE_ROUTING, GEMMA4_MOE_ROUTER_STD, 0.0)(model)
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for layer in model.model.layers:
            layer.router.scale.copy_(1 + 0.2 * torch.randn(HIDDEN, generator=g))
            layer.router.per_expert_scale.copy_(0.5 + torch.rand(GEMMA4_MOE_EXPERTS, generator=g))


def rms_by_weight(x, weight, eps):
    return x * (x.pow(2).mean(-1, keepdim=True) + eps).pow(-0.5) * weight


def gemma4_moe_by_hand(hub, prefix, h, eps):
    """The mixture beside the MLP as the README states it, from the hub's tensors under prefix, for hidden states h
    (tokens, C): the router's logits proj(rms(h) * scale * C^-0.5), a softmax, the top k renormalised to sum 1, each
    times per_expert_scale[expert]; each chosen expert's down(gelu_tanh(gate x) * up x) of x =
    pre_feedforward_layernorm_2(h), the gate rows of gate_up_proj (E, 2I, C) before the up rows."""
    routed = rms_by_weight(h, hub[prefix + "router.scale"], eps) * HIDDEN ** -0.5
    top = (routed @ hub[prefix + "router.proj.weight"].T).softmax(dim=-1).topk(GEMMA4_MOE_TOP_K, dim=-1)
    weights = top.values / top.values.sum(dim=-1, keepdim=True) * hub[prefix + "router.per_expert_scale"][top.indices]
    x = rms_by_weight(h, hub[prefix + "pre_feedforward_layernorm_2.weight"], eps)
    out = torch.zeros_like(h)
    for token in range(len(h)):
        for weight, expert in zip(weights[token], top.indices[token].tolist()):
            gate, up = (x[token] @ hub[prefix + "experts.gate_up_proj"][expert].T).chunk(2)
            hidden = F.gelu(gate, approximate="tanh") * up
            out[token] += weight * (hidden @ hub[prefix + "experts.down_proj"][expert].T)
    return out


def check_gemma4_moe(model):
    """The stored names (the experts fused, in transformers' orientation, as the hub's gemma-4-26B-A4B holds them);
    each layer, its attention's output taken as 0 so that its input h is the residual stream the feed-forward part
    reads, against h + post_feedforward_layernorm(post_feedforward_layernorm_1(mlp(pre_feedforward_layernorm(h))) +
    post_feedforward_layernorm_2(gemma4_moe_by_hand)), times layer_scalar."""
    hub = hub_tensors(model)
    fused = {n for n in hub if ".experts." in n}
    if fused != {f"model.layers.{i}.experts.{n}" for i in range(2) for n in ("gate_up_proj", "down_proj")} \
            or hub["model.layers.0.experts.gate_up_proj"].shape != (GEMMA4_MOE_EXPERTS, 2 * GEMMA4_MOE_WIDTH, HIDDEN):
        sys.exit(f"gemma4_text_moe: save_pretrained writes the experts as {sorted(fused)}")
    eps = model.config.rms_norm_eps
    h = torch.randn((1, 9, HIDDEN), generator=torch.Generator().manual_seed(1))
    for i, layer in enumerate(model.model.layers):
        p = f"model.layers.{i}."

        def norm(name, x):
            return rms_by_weight(x, hub[p + name + ".weight"], eps)
        x = norm("pre_feedforward_layernorm", h[0])
        dense = linear_by_hand(hub, p + "mlp.down_proj", F.gelu(linear_by_hand(hub, p + "mlp.gate_proj", x),
                                                                approximate="tanh") * linear_by_hand(hub, p + "mlp.up_proj", x))
        both = norm("post_feedforward_layernorm_1", dense) + norm("post_feedforward_layernorm_2",
                                                                   gemma4_moe_by_hand(hub, p, h[0], eps))
        expected = (h[0] + norm("post_feedforward_layernorm", both)) * hub[p + "layer_scalar"]
        with torch.no_grad(), mock.patch.object(layer.self_attn, "forward",
                                                lambda hidden_states, **ignored: (torch.zeros_like(hidden_states), None)):
            got = layer(h, position_embeddings=None, attention_mask=None)[0]
        if not torch.allclose(got, expected, atol=1e-5):
            sys.exit(f"gemma4_text_moe: layer {i} is not the stated rule: off by {(got - expected).abs().max().item()}")


class NormedFirst(torch.nn.Module):
    """A router reading norm(h) instead of h."""

    def __init__(self, norm, router):
        super().__init__()
        self.norm, self.router = norm, router

    def forward(self, hidden_states):
        return self.router(self.norm(hidden_states))


def gemma4_router_forward(per_expert=True):
    """Gemma4TextRouter.forward as the README states it, with per_expert_scale switched off. NOTE: no bite switches
    the renormalisation off: it divides a token's weights by one number, which post_feedforward_layernorm_2, an RMS
    norm of each token's mixture, divides out again (the logits move by about 1e-4 relative, through eps alone)."""
    def forward(self, hidden_states):
        routed = self.norm(hidden_states) * self.scale * self.scalar_root_size
        probabilities = F.softmax(self.proj(routed), dim=-1, dtype=torch.float32)
        weights, chosen = probabilities.topk(self.config.top_k_experts, dim=-1)
        weights = weights / weights.sum(dim=-1, keepdim=True)
        if per_expert:
            weights = weights * self.per_expert_scale[chosen]
        return probabilities, weights, chosen
    return forward


def gemma4_moe_bites(model, ids):
    def each_layer(change):
        return lambda m: [change(layer) for layer in m.model.layers]

    def router_logits(**changes):
        return patched_logits(model, ids, modeling_gemma4.Gemma4TextRouter, "forward",
                              gemma4_router_forward(**changes))
    stated = router_logits()
    if not torch.allclose(stated, logits_of(model, ids), rtol=0, atol=1e-5):
        sys.exit(f"Gemma4TextRouter as the stated rule does not give the model's logits: off by "
                 f"{(stated - logits_of(model, ids)).abs().max().item()}")
    routing = GEMMA4_MOE_ROUTING
    return {"the experts dropped": changed_copy(model, ids, experts_dropped(routing)),
            "each expert's gate and up halves swapped": changed_copy(model, ids, experts_gate_up_swapped(routing)),
            "the dense MLP dropped": changed_copy(model, ids, each_layer(lambda layer: layer.mlp.down_proj.weight.zero_())),
            "the router reading pre_feedforward_layernorm_2(h) instead of h": changed_copy(model, ids, each_layer(
                lambda layer: setattr(layer, "router", NormedFirst(layer.pre_feedforward_layernorm_2, layer.router)))),
            "router.scale 1": changed_copy(model, ids, each_layer(lambda layer: layer.router.scale.fill_(1.0))),
            "no C^-0.5 on the router's input": changed_copy(model, ids, each_layer(
                lambda layer: setattr(layer.router, "scalar_root_size", 1.0))),
            "no per_expert_scale": router_logits(per_expert=False),
            "the experts' activation SiLU instead of gelu_pytorch_tanh": changed_copy(model, ids, each_layer(
                lambda layer: setattr(layer.experts, "act_fn", torch.nn.SiLU()))),
            "post_feedforward_layernorm_1 removed": without_module(model, ids, "post_feedforward_layernorm_1"),
            "post_feedforward_layernorm_2 removed": without_module(model, ids, "post_feedforward_layernorm_2"),
            "pre_feedforward_layernorm_2 removed": without_module(model, ids, "pre_feedforward_layernorm_2"),
            "post_feedforward_layernorm removed (after the sum)": without_module(model, ids,
                                                                                  "post_feedforward_layernorm"),
            "layer_scalar 1": changed_copy(model, ids, each_layer(lambda layer: layer.layer_scalar.fill_(1.0)))}


FAMILIES = {
    "glm": Family(lambda: glm_config(transformers.GlmConfig), rotation=adjacent_pairs(modeling_glm, HEAD_DIM // 2),
                  seed=11, head_std=0.1, first_mlp="mlp.gate_up_proj.weight", norms=GLM_NORMS,
                  bites=glm_bites(modeling_glm)),
    "glm4": Family(lambda: glm_config(transformers.Glm4Config), rotation=adjacent_pairs(modeling_glm4, HEAD_DIM // 2),
                   seed=12, head_std=0.1, first_mlp="mlp.gate_up_proj.weight",
                   norms=GLM_NORMS + ["post_self_attn_layernorm", "post_mlp_layernorm"], bites=glm4_bites),
    "ernie4_5": Family(ernie4_5_config, rotation=adjacent_pairs(modeling_ernie4_5, HEAD_DIM), seed=13, head_std=0.1,
                       first_mlp="mlp.gate_proj.weight", norms=GLM_NORMS, bites=ernie4_5_bites),
    # logit_scale 0.25 shrinks the logits: a 4x wider head keeps them O(1)
    "cohere": Family(cohere_config, rotation=adjacent_pairs(modeling_cohere, HEAD_DIM), seed=14, head_std=0.4,
                     first_mlp="mlp.gate_proj.weight", norms=COHERE_NORMS,
                     bites=cohere_bites(modeling_cohere, modeling_cohere.CohereLayerNorm,
                                        modeling_cohere.CohereDecoderLayer)),
    "cohere_qk_norm": Family(cohere_qk_norm_config, rotation=adjacent_pairs(modeling_cohere, HEAD_DIM), seed=17,
                             head_std=0.4, first_mlp="mlp.gate_proj.weight",
                             norms=COHERE_NORMS + ["self_attn.q_norm", "self_attn.k_norm"], bites=cohere_qk_norm_bites),
    "cohere2": Family(cohere2_config, rotation=adjacent_pairs(modeling_cohere2, HEAD_DIM), seed=15, head_std=0.4,
                      first_mlp="mlp.gate_proj.weight", norms=COHERE_NORMS, bites=cohere2_bites),
    "exaone4": Family(exaone4_config, rotation=halves(modeling_exaone4, plain_inv_freq(10000.0, HEAD_DIM)), seed=316,
                      head_std=0.1, first_mlp="mlp.gate_proj.weight",
                      norms=["post_attention_layernorm", "post_feedforward_layernorm", "self_attn.q_norm",
                             "self_attn.k_norm"], bites=exaone4_bites),
    "seed_oss": Family(seed_oss_config, rotation=halves(modeling_seed_oss, plain_inv_freq(10000.0, HEAD_DIM)),
                       seed=217, head_std=0.1, first_mlp="mlp.gate_proj.weight", norms=GLM_NORMS, bites=seed_oss_bites),
    "hunyuan_v1_dense": Family(hunyuan_v1_dense_config,
                               rotation=halves(modeling_hunyuan_v1_dense, hunyuan_inv_freq(HUNYUAN_ROPE),
                                               rule="Llama's halves rule with theta 10000 * alpha^(8/6)"),
                               seed=118, head_std=0.1, first_mlp="mlp.gate_proj.weight",
                               norms=GLM_NORMS + ["self_attn.query_layernorm", "self_attn.key_layernorm"],
                               bites=hunyuan_v1_dense_bites),
    "starcoder2": Family(starcoder2_config, rotation=halves(modeling_starcoder2, plain_inv_freq(10000.0, HEAD_DIM)),
                         seed=19, head_std=0.1, first_mlp="mlp.c_fc.weight", norms=GLM_NORMS,
                         bites=starcoder2_bites, norm_biases=True),
    "arcee": Family(arcee_config, rotation=halves(modeling_arcee, ARCEE_INV_FREQ, ARCEE_SCALE, "YaRN's halves rule"),
                    seed=420, head_std=0.1, first_mlp="mlp.up_proj.weight", norms=GLM_NORMS, bites=arcee_bites),
    "apertus": Family(apertus_config, rotation=halves(modeling_apertus, llama3_inv_freq(APERTUS_ROPE),
                                                      rule="Llama 3.1's rope over Llama's halves"),
                      seed=421, head_std=0.1, bites=apertus_bites, gradients=APERTUS_GRADIENTS,
                      adjust_weights=apertus_scalars, check=check_apertus),
    "lfm2": Family(lfm2_config, rotation=halves(modeling_lfm2, plain_inv_freq(1000000.0, HEAD_DIM),
                                                rule="Llama's halves rule with theta 1000000"),
                   seed=21, head_std=0.1, bites=lfm2_bites, gradients=LFM2_GRADIENTS,
                   adjust_weights=lfm2_wider_conv_weights, check=check_lfm2, left_padding=True),
    "lfm2_moe": Family(lfm2_moe_config, rotation=halves(modeling_lfm2_moe, plain_inv_freq(1000000.0, HEAD_DIM),
                                                        rule="Llama's halves rule with theta 1000000"),
                       seed=22, head_std=0.1, bites=lfm2_moe_bites, gradients=LFM2_MOE_GRADIENTS,
                       adjust_weights=lfm2_moe_weights, check=check_lfm2_moe, left_padding=True,
                       routing=LFM2_MOE_ROUTING),
    "glm4_moe": Family(glm4_moe_config, rotation=halves(modeling_glm4_moe, plain_inv_freq(10000.0, HEAD_DIM // 2),
                                                        rule="Llama's halves rule over the first 4 dims"),
                       seed=23, head_std=0.1, bites=glm4_moe_bites, gradients=GLM4_MOE_GRADIENTS,
                       adjust_weights=rescale_routers(GLM4_MOE_ROUTING, GLM4_MOE_ROUTER_STD, GLM4_MOE_BIAS_STD),
                       check=lambda model: check_grouped_mixture(model, GLM4_MOE_ROUTING), left_padding=True,
                       routing=GLM4_MOE_ROUTING,
                       extra_tensors=mtp_tensors(4, ("eh_proj.weight", "self_attn.q_proj.weight"))),
    "ernie4_5_moe": Family(ernie4_5_moe_config, rotation=adjacent_pairs(modeling_ernie4_5_moe, HEAD_DIM), seed=24,
                           head_std=0.1, bites=ernie4_5_moe_bites, gradients=ERNIE4_5_MOE_GRADIENTS,
                           adjust_weights=rescale_routers(ERNIE4_5_MOE_ROUTING, ERNIE4_5_MOE_ROUTER_STD,
                                                          ERNIE4_5_MOE_BIAS_STD),
                           check=check_ernie4_5_moe, left_padding=True, routing=ERNIE4_5_MOE_ROUTING,
                           aux_gradients=["model.layers.1.mlp.gate.weight"]),
    "qwen3_vl": Family(qwen3_vl_config, rotation=halves(modeling_qwen3_vl, plain_inv_freq(5000000.0, HEAD_DIM),
                                                        rule="Llama's halves rule with theta 5000000",
                                                        position_rows=3),
                       seed=24, head_std=0.1, first_mlp="mlp.gate_proj.weight",
                       norms=GLM_NORMS + ["self_attn.q_norm", "self_attn.k_norm"], bites=qwen3_vl_bites,
                       adjust_weights=qwen3_vl_weights, check=check_qwen3_vl, left_padding=True,
                       auto=transformers.AutoModelForImageTextToText),
    # seed 335: 35 fails the greedy margin, 135 passes with a margin of 0.0015 and a routing gap of 0.0020, 235 fails
    # the routing gap
    "qwen3_vl_moe": Family(qwen3_vl_moe_config,
                           rotation=halves(modeling_qwen3_vl_moe, plain_inv_freq(5000000.0, HEAD_DIM),
                                           rule="Llama's halves rule with theta 5000000", position_rows=3),
                           seed=335, head_std=0.1, bites=qwen3_vl_moe_bites, gradients=QWEN3_VL_MOE_GRADIENTS,
                           adjust_weights=rescale_routers(QWEN3_VL_MOE_ROUTING, ERNIE4_5_MOE_ROUTER_STD, 0.0),
                           check=check_qwen3_vl_moe, left_padding=True, routing=QWEN3_VL_MOE_ROUTING,
                           auto=transformers.AutoModelForImageTextToText, aux_gradients=QWEN3_VL_MOE_ROUTERS,
                           hub_orientation=qwen3_vl_moe_hub_orientation),
    # seed 30 for both (the same input_ids): seed 25 passes but its greedy path repeats one token from the 3rd new
    # one on, where a fault in the cached positions could hardly show; 26 to 29 fail the routing gaps
    "deepseek_v3": deepseek_v3_family(lite=False, seed=30, expert=5),
    "deepseek_v3_lite": deepseek_v3_family(lite=True, seed=30, expert=5),
    # seed 332: 32 passes but its greedy margin is 0.0018 and its path repeats two tokens; 132 and 232 fail the gap
    "qwen3_next": Family(qwen3_next_config,
                         rotation=halves(modeling_qwen3_next, plain_inv_freq(1e7, 4),
                                         rule="Llama's halves rule over the first 4 of 16 dims, theta 1e7"),
                         seed=332, head_std=0.1, bites=qwen3_next_bites, gradients=QWEN3_NEXT_GRADIENTS,
                         adjust_weights=qwen3_next_weights, check=check_qwen3_next, left_padding=True,
                         routing=QWEN3_NEXT_ROUTING, extra_tensors=unloaded_tensors(QWEN3_NEXT_MTP),
                         aux_gradients=["model.layers.0.mlp.gate.weight"]),
    "deepseek_v2_lite": deepseek_v2_family(lite=True, seed=33, expert=5),
    # seed 4734: 34 to 4634 (by 100) fail the routing gaps (8 softmax probabilities sit close together)
    "deepseek_v2": deepseek_v2_family(lite=False, seed=4734, expert=5),
    "ministral3": Family(ministral3_config, rotation=halves(modeling_ministral3, MINISTRAL3_INV_FREQ, MINISTRAL3_SCALE,
                                                            "YaRN's halves rule"),
                         seed=50, head_std=0.1, first_mlp="mlp.gate_proj.weight", norms=GLM_NORMS,
                         bites=ministral3_bites, check=check_temperature, vocab=64),
    "mistral3": Family(mistral3_config, rotation=halves(modeling_ministral3, MINISTRAL3_INV_FREQ, MINISTRAL3_SCALE,
                                                        "YaRN's halves rule"),
                       seed=51, head_std=0.1, first_mlp="mlp.gate_proj.weight", norms=GLM_NORMS,
                       bites=ministral3_bites, check=check_mistral3, auto=transformers.AutoModelForImageTextToText,
                       vocab=64),
    "ministral": Family(ministral_config, rotation=halves(modeling_ministral, plain_inv_freq(10000.0, HEAD_DIM)),
                        seed=52, head_std=0.1, first_mlp="mlp.gate_proj.weight", norms=GLM_NORMS,
                        bites=ministral_bites, vocab=64),
    "mistral4": Family(mistral4_config, rotation=None, seed=53, head_std=0.1, bites=mistral4_bites,
                       gradients=MISTRAL4_GRADIENTS, adjust_weights=mla_weights(MISTRAL4_ROUTING), check=check_mistral4,
                       left_padding=True, routing=MISTRAL4_ROUTING, auto=Mistral4Builder, vocab=64),
    "falcon_h1": falcon_h1_family(rms_norm=True, seed=43),
    "falcon_h1_no_rms_norm": falcon_h1_family(rms_norm=False, seed=40),
    "nemotron_h": Family(nemotron_h_config, rotation=None, seed=44, head_std=0.3, bites=nemotron_h_bites,
                         gradients=NEMOTRON_H_GRADIENTS, adjust_weights=nemotron_h_weights, check=check_nemotron_h,
                         left_padding=True, extra_tensors=unloaded_tensors(["mtp.layers.0.mixer.q_proj.weight"]),
                         vocab=NEMOTRON_H_VOCAB),
    "nemotron_h_moe": Family(nemotron_h_moe_config, rotation=None, seed=45, head_std=0.3, bites=nemotron_h_moe_bites,
                             gradients=NEMOTRON_H_MOE_GRADIENTS, adjust_weights=nemotron_h_moe_weights,
                             check=check_nemotron_h_moe, left_padding=True, routing=NEMOTRON_H_MOE_ROUTING,
                             vocab=NEMOTRON_H_VOCAB),
    "gemma4_text": Family(gemma4_text_config, rotation=None, seed=60, head_std=0.3, bites=gemma4_bites,
                          gradients=GEMMA4_GRADIENTS, adjust_weights=gemma4_weights, check=check_gemma4,
                          left_padding=True, vocab=GEMMA4_VOCAB),
    # seed 66: 61 and 63 pass with routing gaps of 0.0011 to 0.0012, 62 and 64 fail the gap; every seed's greedy path
    # settles on one token, as gemma4_text's
    "gemma4_text_moe": Family(gemma4_text_moe_config, rotation=None, seed=66, head_std=0.3, bites=gemma4_moe_bites,
                              gradients=GEMMA4_MOE_GRADIENTS, adjust_weights=gemma4_moe_weights, check=check_gemma4_moe,
                              left_padding=True, routing=GEMMA4_MOE_ROUTING, vocab=GEMMA4_VOCAB),
}


def build(family, seed, bf16):
    """The family's model with the seed's weights; bf16: rounded to bfloat16 values (write_folder stores them so)."""
    config = family.make_config()
    model = family.auto.from_config(config, attn_implementation="eager", dtype=torch.float32)
    set_weights(model, seed, family.head_std)
    if family.adjust_weights:
        family.adjust_weights(model)
    if bf16:
        with torch.no_grad():
            for _, tensor in [*model.named_parameters(), *drawn_buffers(model)]:
                tensor.copy_(tensor.bfloat16().float())
    return model.eval()


def greedy(model, prompt):
    """generate with the KV cache, checked against the argmax of uncached forwards; returns (tokens, margin)."""
    with torch.no_grad():
        cached = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=NEW_TOKENS,
                                min_new_tokens=NEW_TOKENS, do_sample=False, use_cache=True, pad_token_id=0,
                                eos_token_id=None)
        tokens, margin = prompt, float("inf")
        for _ in range(NEW_TOKENS):
            top2 = model(input_ids=tokens).logits[0, -1].topk(2)
            margin = min(margin, (top2.values[0] - top2.values[1]).item())
            tokens = torch.cat((tokens, top2.indices[:1].view(1, 1)), dim=1)
    if not torch.equal(cached, tokens):
        sys.exit(f"cached generate {cached.tolist()} differs from uncached argmax {tokens.tolist()}")
    return cached, margin


def reference(family, model, seed):
    g = torch.Generator().manual_seed(seed + 1000)
    ids = torch.randint(0, family.vocab, (2, SEQ), generator=g)
    mask = right_padding_mask(ids)
    ref = {"input_ids": ids, "attention_mask": mask}
    with torch.no_grad():
        ref["logits"] = model(input_ids=ids).logits
        ref["logits_masked"] = model(input_ids=ids, attention_mask=mask).logits
        if family.left_padding:
            ref["left_attention_mask"] = left_padding_mask(ids)
            ref["logits_left_padded"] = model(input_ids=ids, attention_mask=ref["left_attention_mask"]).logits
    output = model(input_ids=ids, labels=ids)
    shifted = F.cross_entropy(output.logits[:, :-1].reshape(-1, family.vocab), ids[:, 1:].reshape(-1))
    if abs(shifted.item() - output.loss.item()) > 1e-6:
        sys.exit(f"loss {output.loss.item()} is not the next-token cross-entropy {shifted.item()}")
    ref["loss"] = output.loss.detach().reshape(1)
    parameters = dict(model.named_parameters())
    model.zero_grad()
    output.loss.backward()
    gradients = {name: p.grad for name, p in parameters.items()}
    ref.update({"grad." + n: family.as_stored(n, fused_slice(gradients, n)).detach().clone()
                for n in family.gradient_names(model)})
    if family.aux_gradients:
        aux = model(input_ids=ids, attention_mask=mask, output_router_logits=True).aux_loss
        model.zero_grad()
        aux.backward()
        ref["aux_loss"] = aux.detach().reshape(1)
        gradients = {name: p.grad for name, p in parameters.items()}
        ref.update({"aux_grad." + n: family.as_stored(n, fused_slice(gradients, n)).detach().clone()
                    for n in family.aux_gradients})
    ref["greedy_prompt"] = ids[:1, :PROMPT].clone()
    ref["greedy_output"], margin = greedy(model, ref["greedy_prompt"])
    return ref, margin


def as_stored_dtype(name, tensor):
    """A tensor save_pretrained wrote, to be stored: in bfloat16 where it is a bfloat16 value (every parameter and
    drawn routing bias: build rounds them), else as it is (a buffer build leaves alone: apertus's xIELU eps,
    gemma4_text's layer_scalar)."""
    if not tensor.is_floating_point():
        return tensor
    if not torch.equal(tensor.bfloat16().float(), tensor):
        print(f"  {name}: kept {tensor.dtype} (not a bfloat16 value)")
        return tensor
    return tensor.bfloat16()


def rewrite_weights(folder, tensors):
    save_file(tensors, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})


def write_folder(name, family, model, ref):
    """save_pretrained's files, model.safetensors in bfloat16 (float32 for FLOAT32_FAMILIES) and the hub's orientation
    (family.hub_orientation) with family.extra_tensors added, and the reference."""
    folder = os.path.join(REFERENCES, name)
    model.save_pretrained(folder)
    os.remove(os.path.join(folder, "generation_config.json"))
    saved = {n: family.as_stored(n, t) for n, t in load_file(os.path.join(folder, "model.safetensors")).items()}
    extra = family.extra_tensors() if family.extra_tensors else {}
    if name not in FLOAT32_FAMILIES:
        saved = {n: as_stored_dtype(n, t).contiguous() for n, t in saved.items()}
        extra = {n: t.bfloat16() if t.is_floating_point() else t for n, t in extra.items()}
    rewrite_weights(folder, {**saved, **extra})
    path = os.path.join(folder, "config.json")
    with open(path) as f:
        config = json.load(f)
    del config["transformers_version"]
    with open(path, "w") as f:
        f.write(json.dumps(config, indent=2, sort_keys=True) + "\n")
    save_file({k: v.contiguous() for k, v in ref.items()}, os.path.join(folder, "reference.safetensors"))


def summary(name, seed, ref, margin, moved, model):
    row1 = (ref["logits_masked"][1] - ref["logits"][1]).abs()
    kept, padded = row1[:SEQ - PADDED].max().item(), row1[SEQ - PADDED:].max().item()
    print(f"{name}: seed {seed}, loss {ref['loss'].item():.4f}, max|logit| {ref['logits'].abs().max().item():.3f}, "
          f"greedy {ref['greedy_output'][0].tolist()}, smallest greedy margin {margin:.4f}, masked row 1's kept "
          f"positions within {kept:.1e}, padded ones moved by {padded:.3f}")
    if "logits_left_padded" in ref:
        alone = logits_of(model, ref["input_ids"][1:, PADDED:])[0]
        print(f"  left-padded row 1's kept positions differ from its {SEQ - PADDED} tokens run alone by "
              f"{(ref['logits_left_padded'][1, PADDED:] - alone).abs().max().item():.2e}, row 0 from the unmasked "
              f"logits by {(ref['logits_left_padded'][0] - ref['logits'][0]).abs().max().item():.1e}")
    for what, value in moved.items():
        print(f"  bite: {what}: {value:.4f}")


def make(name):
    family = FAMILIES[name]
    seed = family.seed
    while True:
        torch.manual_seed(0)  # generate's own draws, if any, do not vary between runs
        model = build(family, seed, bf16=name not in FLOAT32_FAMILIES)
        if family.rotation:
            family.rotation.check(model)
        if family.check:
            family.check(model)
        with RouterCalls(model, family.routing) as calls:
            ref, margin = reference(family, model, seed)
        refusal = (f"greedy margin {margin:.2e} < {MIN_MARGIN}" if margin < MIN_MARGIN else
                   routing_refusal(model, ref, calls, family.routing) if family.routing else None)
        if refusal is None:
            break
        print(f"{name}: seed {seed}'s {refusal}; trying seed {seed + 100}")
        seed += 100
    scale = ref["logits"].abs().max()

    def moved_by(bitten):  # logits of input_ids, or a pair (logits with the rule off, transformers' own)
        logits, own = bitten if isinstance(bitten, tuple) else (bitten, ref["logits"])
        return ((logits - own).abs().max() / scale).item()
    moved = {what: moved_by(bitten) for what, bitten in family.bites(model, ref["input_ids"]).items()}
    summary(name, seed, ref, margin, moved, model)
    if family.routing:
        routing_summary(model, ref, calls, family.routing)
    weak = {what: value for what, value in moved.items() if not value > BITE}
    if weak:
        sys.exit(f"{name}: these rules do not move the logits by more than {BITE} relative: {weak}")
    # every rule restored: the model still gives its own logits (no patch leaked)
    if not torch.equal(logits_of(model, ref["input_ids"]), ref["logits"]):
        sys.exit(f"{name}: a switched-off rule leaked into the model")
    write_folder(name, family, model, ref)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", required=True, help="write the fixture folders")
    parser.add_argument("--only", nargs="+", choices=sorted(FAMILIES), help="only these folders")
    args = parser.parse_args()
    torch.set_num_threads(1)  # one thread: the same float32 summation order, the same bytes
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")
    for name in args.only or FAMILIES:
        make(name)


if __name__ == "__main__":
    main()
