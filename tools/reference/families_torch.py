"""Golden outputs for model families that transformers cannot produce on this machine (transformers 5 needs
torch >= 2.5; this machine has Debian's torch 1.13).

A plain-PyTorch (float32, CPU, eager) re-implementation of the causal-LM forward pass of gemma, gemma2,
gemma3_text, phi3, mistral, qwen2, granite, granitemoe and granitemoeshared (Granite 3's mixtures, the second with
a shared MLP beside the experts), granitemoehybrid (Granite 4's attention-only dense models here; its Mamba-2
hybrids, Granite 4.0 H, in granite4_hybrid_torch.py), olmo2,
olmo3, smollm3, the mixtures of experts mixtral, qwen2_moe, qwen3_moe, olmoe and gpt_oss (and, for checking, llama
and qwen3), plus Qwen3.5's hybrid of gated DeltaNet and gated attention (qwen3_5_text and its mixture of experts
qwen3_5_moe_text, in qwen3_5_torch.py, which this script runs for the folders qwen3_5, qwen3_5_vl, qwen3_5_moe and
qwen3_5_moe_vl) as transformers 5.x defines it, written from
reading transformers' source (see HELPER-NOTES.md for the rules and where each one comes from). It runs with
Debian's torch 1.13 and numpy only:

    /usr/bin/python3 tools/reference/families_torch.py --check
        recomputes the transformers-made folders (references/{mistral,qwen3,llama_rope_llama3,qwen2_rope_yarn},
        hf-tiny/{llama,qwen2}) and prints the largest error relative to the largest |logit|; exits non-zero
        above 1e-5.
    /usr/bin/python3 tools/reference/families_torch.py --write [--only NAME ...]
        runs the check first, then writes the fixture folders under core/src/test/resources/references/ (all, or
        the named ones: another CPU's float32 kernels can change the last bits of folders written elsewhere).

Every fixture folder holds config.json (the keys transformers 5.x's save_pretrained writes for that config
class; dtype float32), model.safetensors (Hugging Face tensor names; every weight drawn, rounded to a bfloat16 value
and stored as bfloat16, half the bytes, so that the float32 references below are computed from exactly the stored
values: bf16_values; gpt_oss and its twin stay float32, FLOAT32_FIXTURES) and reference.safetensors (input_ids,
attention_mask, logits, logits_masked, loss, greedy_prompt, greedy_output, and logits_short for longrope). The
mixture-of-experts folders add aux_loss (the router load-balancing loss of the masked batch), grad.NAME (d loss /
d NAME) and aux_grad.NAME (d aux_loss / d NAME) for a few weights; model.safetensors holds the hub's per-expert names (gpt_oss:
its stacked expert tensors). gpt_oss_mxfp4 holds the same model as gpt_oss, its experts packed as the hub publishes
gpt-oss (MXFP4 blocks and scales), and no reference file: it must load to gpt_oss's logits. qwen3_5 adds grad.NAME,
long_input_ids (1, 150), long_logits and grad_long.NAME; qwen3_5_vl holds the same language model saved as
Qwen3_5ForConditionalGeneration (model.language_model.*, a few vision and mtp tensors) and no reference file: it must
load to qwen3_5's logits (qwen3_5_torch.py's docstring lists its rules and their sources). qwen3_5_moe is the MoE
folders' kind (aux_loss, grad.NAME, aux_grad.NAME) for Qwen3.5-MoE, and qwen3_5_moe_vl its
Qwen3_5MoeForConditionalGeneration twin, which must load to qwen3_5_moe's logits. granite4_h and granite4_h_moe
(Granite 4.0 H: Mamba-2 and attention layers, dense or with experts beside the shared MLP) come from
granite4_hybrid_torch.py, whose docstring lists its rules; they hold qwen3_5's kinds of tensors plus
left_attention_mask and logits_left_padded. granitemoe and granitemoeshared hold the plain folders' tensors plus
grad.NAME, and no aux_loss (transformers 5.17 computes none for Granite's mixtures: see SparseMoe.init_routing).
tools/reference/verify_with_transformers.py recomputes them with real transformers where it is installed.
"""
import argparse
import importlib
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
RESOURCES = os.path.join(ROOT, "core", "src", "test", "resources")
TRANSFORMERS_MADE = ["references/mistral", "references/qwen3", "references/llama_rope_llama3",
                     "references/qwen2_rope_yarn", "hf-tiny/llama", "hf-tiny/qwen2"]
CHECK_TOLERANCE = 1e-5
TRANSFORMERS_517_WHEEL = ("transformers-5.17.0-py3-none-any.whl (the machine's package mirror), sha256 "
                          "78ec1ce21579b38dfb83950a0658cd119f87212a2fcfdff478096ce9d6c03801")
# The transformers source these rules were read from. The v5 files came through the code index by content id,
# without a commit (the repository is too large to fetch whole); two older files did name theirs.
TRANSFORMERS_SOURCE = {
    "repository": "huggingface/transformers, v5 line (@strict dataclass configs, rope_parameters, masking_utils)",
    "commit": "not exposed by the index for the v5 files; see HELPER-NOTES.md for each rule's file and function",
    "v5_files_by_index_id": {"modeling_rope_utils.py": "64056737866", "masking_utils.py": "61381110145",
                             "configuration_gemma.py": "66045141313", "configuration_gemma2.py": "66181675041",
                             "configuration_gemma3.py": "65907536900", "configuration_phi3.py": "51859939896"},
    "older_files_by_commit": {"modeling_gemma2.py": "9a80143ca26066ee3266749a57c7b3850d8843be",
                              "modeling_gemma3.py": "f14d0cbc824e447ef294d8cdc0f8ad4222f3dfee",
                              "modular_mixtral.py (load_balancing_loss_func)":
                                  "7792ab1a984cb369352b985f63393090ab0819c3",
                              "modeling_qwen3_moe.py (sparse-layer rule, routing loop)":
                                  "16b6c53c8ec3a720bd45c1c377bf94e1d01249c5"},
    "moe_v5_files_by_commit": {"commit": "008e574391258935f3ecc3035c882e73bbcac419",
                               "files": ["configuration_mixtral.py", "configuration_qwen2_moe.py",
                                         "configuration_qwen3_moe.py", "configuration_utils.py"]},
    "moe_v5_files_by_index_id": {"modular_qwen2_moe.py (v5 TopKRouter, shared expert)": "2433085081",
                                 "conversion_mapping.py (commit 000c33fdfde12e1ffafbfcdb3c926df5727a00b6)":
                                     "2516198611"},
    "moe_router_logits_fix": "huggingface/transformers#45131 (merged April 2026, before 5.15): routers return "
                             "raw logits, so load_balancing_loss_func applies one softmax",
    "granite_olmo_smollm3_files": {
        "from": TRANSFORMERS_517_WHEEL,
        "files": ["models/granite/configuration_granite.py", "models/granite/modeling_granite.py",
                  "models/olmo2/configuration_olmo2.py", "models/olmo2/modeling_olmo2.py",
                  "models/olmo3/configuration_olmo3.py", "models/olmo3/modeling_olmo3.py",
                  "models/smollm3/configuration_smollm3.py", "models/smollm3/modeling_smollm3.py",
                  "modeling_rope_utils.py (_compute_yarn_parameters, standardize_rope_params)"]},
    "olmoe_files": {
        "from": TRANSFORMERS_517_WHEEL,
        "files": ["models/olmoe/configuration_olmoe.py", "models/olmoe/modular_olmoe.py",
                  "models/olmoe/modeling_olmoe.py (OlmoeAttention, OlmoeTopKRouter, OlmoeExperts, "
                  "load_balancing_loss_func)",
                  "models/qwen2_moe/modeling_qwen2_moe.py (Qwen2MoeTopKRouter)",
                  "models/mixtral/modeling_mixtral.py (MixtralExperts, load_balancing_loss_func, "
                  "MixtralForCausalLM)",
                  "conversion_mapping.py (olmoe -> qwen2_moe: experts.*.gate_proj/up_proj stacked into gate_up_proj)",
                  "configuration_utils.py (to_diff_dict: the keys save_pretrained writes)"]},
    "granitemoehybrid_files": {
        "from": TRANSFORMERS_517_WHEEL,
        "files": ["models/granitemoehybrid/configuration_granitemoehybrid.py (fields, __post_init__: layer_types "
                  "default linear_attention, remap_legacy_layer_types, mamba_d_head auto)",
                  "models/granitemoehybrid/modular_granitemoehybrid.py (GraniteMoeHybridAttention without rope, "
                  "DecoderLayer without block_sparse_moe at num_local_experts 0, Model's rotary_emb only for rope)",
                  "models/granitemoehybrid/modeling_granitemoehybrid.py (GraniteMoeHybridMLP, RotaryEmbedding, "
                  "ForCausalLM)",
                  "models/granitemoeshared/modeling_granitemoeshared.py (the shared MLP and attention it reuses)",
                  "configuration_utils.py (remap_legacy_layer_types, to_diff_dict, _encode_special_floats)",
                  "modeling_rope_utils.py (convert_rope_params_to_dict: rope_parameters written without rope)"]},
    "qwen3_5_files": {
        "from": TRANSFORMERS_517_WHEEL,
        "files": ["models/qwen3_5/configuration_qwen3_5.py (Qwen3_5TextConfig.__post_init__: layer_types, the "
                  "partial_rotary_factor default; Qwen3_5VisionConfig, Qwen3_5Config)",
                  "models/qwen3_5/modular_qwen3_5.py and modeling_qwen3_5.py (Qwen3_5GatedDeltaNet, "
                  "torch_chunk_gated_delta_rule, torch_recurrent_gated_delta_rule, l2norm, causal_conv1d_fn, "
                  "Qwen3_5RMSNormGated, Qwen3_5RMSNorm, Qwen3_5Attention, Qwen3_5TextRotaryEmbedding, "
                  "Qwen3_5DecoderLayer, Qwen3_5TextModel, Qwen3_5Model.compute_3d_position_ids, Qwen3_5ForCausalLM, "
                  "Qwen3_5ForConditionalGeneration, _keys_to_ignore_on_load_unexpected)",
                  "models/qwen3_next/modeling_qwen3_next.py (the GatedDeltaNet, attention and norms inherited)",
                  "models/qwen3_vl/modeling_qwen3_vl.py (Qwen3VLTextRotaryEmbedding, interleaved mrope)",
                  "masking_utils.py (create_recurrent_attention_mask)",
                  "cache_utils.py (LinearAttention layer: update_conv_state, update_recurrent_state)",
                  "conversion_mapping.py (qwen3_5_text: PrefixChange dropping language_model)",
                  "configuration_utils.py (to_diff_dict, recursive_diff_dict: the nested sub-config keys)",
                  "modeling_rope_utils.py (convert_rope_params_to_dict, standardize_rope_params: axial vision rope)"]},
    "qwen3_5_moe_files": {
        "from": TRANSFORMERS_517_WHEEL,
        "files": ["models/qwen3_5_moe/configuration_qwen3_5_moe.py (Qwen3_5MoeTextConfig: qwen3_5_text's fields "
                  "without intermediate_size, plus moe_intermediate_size, shared_expert_intermediate_size, "
                  "num_experts, num_experts_per_tok, output_router_logits, router_aux_loss_coef; Qwen3_5MoeConfig)",
                  "models/qwen3_5_moe/modular_qwen3_5_moe.py and modeling_qwen3_5_moe.py (Qwen3_5MoeTopKRouter, "
                  "Qwen3_5MoeExperts, Qwen3_5MoeSparseMoeBlock, Qwen3_5MoeDecoderLayer, load_balancing_loss_func, "
                  "Qwen3_5MoeForCausalLM, Qwen3_5MoeForConditionalGeneration)",
                  "models/qwen3_next/modeling_qwen3_next.py (Qwen3NextSparseMoeBlock, Qwen3NextExperts)",
                  "models/qwen3_vl_moe/modeling_qwen3_vl_moe.py (Qwen3VLMoeTextTopKRouter)",
                  "conversion_mapping.py (qwen3_5_moe_text: qwen3_5_text's PrefixChange plus qwen2_moe's expert "
                  "fusion)"]},
    "granitemoehybrid_mamba_files": {
        "from": TRANSFORMERS_517_WHEEL,
        "files": ["models/granitemoehybrid/configuration_granitemoehybrid.py (layer_types remap, mamba_d_head auto, "
                  "time_step_limit, validate_architecture)",
                  "models/granitemoehybrid/modeling_granitemoehybrid.py and modular_granitemoehybrid.py "
                  "(GraniteMoeHybridMambaLayer.forward, apply_mask_to_padding_states, causal_conv1d_fn, "
                  "causal_conv1d_update, mamba2_chunk_scan, mamba2_selective_state_update, "
                  "GraniteMoeHybridRMSNormGated, GraniteMoeHybridTopKRouter, GraniteMoeHybridExperts, "
                  "GraniteMoeHybridMoE, GraniteMoeHybridDecoderLayer, GraniteMoeHybridModel, "
                  "GraniteMoeHybridForCausalLM)",
                  "masking_utils.py (create_recurrent_attention_mask)",
                  "cache_utils.py (LinearAttentionLayer.update_conv_state, update_recurrent_state)",
                  "conversion_mapping.py (granitemoehybrid -> granitemoe: block_sparse_moe.input_linear / "
                  "output_linear / router.layer renamed to experts.gate_up_proj / experts.down_proj / router)",
                  "configuration_utils.py (remap_legacy_layer_types, to_diff_dict, _encode_special_floats)"]},
    "granitemoe_files": {
        "from": TRANSFORMERS_517_WHEEL,
        "files": ["models/granitemoe/configuration_granitemoe.py (GraniteMoeConfig: its fields, no "
                  "position_embedding_type)",
                  "models/granitemoe/modeling_granitemoe.py (GraniteMoeAttention, GraniteMoeTopKRouter, "
                  "GraniteMoeExperts, GraniteMoeMoE, GraniteMoeDecoderLayer, GraniteMoeModel, GraniteMoeForCausalLM, "
                  "load_balancing_loss_func, _can_record_outputs)",
                  "models/granitemoeshared/configuration_granitemoeshared.py (shared_intermediate_size)",
                  "models/granitemoeshared/modular_granitemoeshared.py (GraniteMoeSharedMLP, "
                  "GraniteMoeSharedDecoderLayer: shared_mlp None at shared_intermediate_size 0)",
                  "conversion_mapping.py (granitemoe's renamings; granitemoeshared maps to granitemoe)",
                  "configuration_utils.py (to_diff_dict: the keys save_pretrained writes)"]},
    "gpt_oss_v5_files_by_index_id": {
        "modular_gpt_oss.py (commit 0261a467116de4a9103b58200f9d82f8fb5a0e86)": "29271729019",
        "configuration_gpt_oss.py (@strict dataclass)": "51803109634",
        "integrations/mxfp4.py (convert_moe_packed_tensors, commit 0189b1d09a03a87ec4f59831acb93cc1832d14e7)":
            "38816218737"},
}

# ----------------------------------------------------------------------------------------------------------
# safetensors: 8-byte little-endian header length, JSON header {name: {dtype, shape, data_offsets}}, raw bytes.
# ----------------------------------------------------------------------------------------------------------
_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32,
           "U8": np.uint8, "BOOL": np.bool_}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (header_len,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    base = 8 + header_len
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        if spec["dtype"] not in _DTYPES and spec["dtype"] != "BF16":
            raise ValueError(f"{path}: tensor {name} has dtype {spec['dtype']}, this reader knows "
                             f"{sorted(_DTYPES) + ['BF16']}")
        start, end = spec["data_offsets"]
        raw = blob[base + start:base + end]
        if spec["dtype"] == "BF16":  # numpy has no bfloat16: the bits as int16, widened to float32 (exact)
            bits = np.frombuffer(raw, dtype=np.dtype(np.int16).newbyteorder("<")).astype(np.int16)
            out[name] = torch.from_numpy(bits.reshape(spec["shape"]).copy()).view(torch.bfloat16).float()
            continue
        array = np.frombuffer(raw, dtype=np.dtype(_DTYPES[spec["dtype"]]).newbyteorder("<"))
        out[name] = torch.from_numpy(array.reshape(spec["shape"]).copy())
    return out


def write_safetensors(path, tensors):
    header, chunks, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16: its bits, little-endian
            data, dtype = tensor.view(torch.int16).numpy().astype("<i2").tobytes(), "BF16"
        else:
            array = np.ascontiguousarray(tensor.numpy())
            data, dtype = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes(), _NAMES[array.dtype]
        header[name] = {"dtype": dtype, "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)  # the data section starts 8-byte aligned, as safetensors writes it
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for data in chunks:
            f.write(data)


# ----------------------------------------------------------------------------------------------------------
# Configuration: what each family derives from config.json.
# ----------------------------------------------------------------------------------------------------------
GEMMA_FAMILIES = ("gemma", "gemma2", "gemma3_text")
# Granite 3 (granite, its mixtures granitemoe and granitemoeshared) and Granite 4 (granitemoehybrid): the same four
# scalars
GRANITE_FAMILIES = ("granite", "granitemoe", "granitemoeshared", "granitemoehybrid")
# Granite's MLP is block_sparse_moe (stacked experts) and/or shared_mlp, summed: see granite_mlp_parts
GRANITE_MOE_FAMILIES = ("granitemoe", "granitemoeshared", "granitemoehybrid")
OLMO_FAMILIES = ("olmo2", "olmo3")
# q_norm/k_norm over the whole q/k projection (one weight per channel of every head), before the split into heads
PROJECTION_QK_NORM_FAMILIES = OLMO_FAMILIES + ("olmoe",)


def layer_types_of(config):
    """config.layer_types when written; otherwise the rule of the config class's __post_init__."""
    if config.get("layer_types"):
        return list(config["layer_types"])
    n, family = config["num_hidden_layers"], config["model_type"]
    if family in ("gemma2", "gpt_oss"):
        return ["sliding_attention" if (i + 1) % 2 else "full_attention" for i in range(n)]
    if family == "gemma3_text":
        pattern = config.get("sliding_window_pattern", 6)
        return ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(n)]
    if family in ("qwen2", "qwen3"):
        window = config.get("sliding_window") if config.get("use_sliding_window") else None
        return ["sliding_attention" if window is not None and i >= config["max_window_layers"] else "full_attention"
                for i in range(n)]
    if family in ("mistral", "phi3", "mixtral") and config.get("sliding_window") is not None:
        return ["sliding_attention"] * n
    if family == "qwen3_moe" and config.get("use_sliding_window") and config.get("sliding_window") is not None:
        return ["sliding_attention"] * n  # Qwen3MoeConfig drops the window unless use_sliding_window
    if family == "olmo3":
        return ["sliding_attention" if (i + 1) % 4 else "full_attention" for i in range(n)]
    if family == "smollm3":  # only NoPE layers slide, and only with use_sliding_window and a window
        window = config.get("sliding_window") if config.get("use_sliding_window") else None
        return ["sliding_attention" if window is not None and not rope else "full_attention"
                for rope in rope_layers_of(config)]
    return ["full_attention"] * n


def rope_layers_of(config):
    """SmolLM3's no_rope_layers (1: rotary applied, 0: a NoPE layer), or SmolLM3Config's interval rule;
    granitemoehybrid rotates every layer with position_embedding_type "rope" and none without (its default, None);
    every other family rotates every layer."""
    n = config["num_hidden_layers"]
    if config["model_type"] == "granitemoehybrid":
        return [int(config.get("position_embedding_type") == "rope")] * n
    if config["model_type"] != "smollm3":
        return [1] * n
    if config.get("no_rope_layers") is not None:
        return list(config["no_rope_layers"])
    interval = config.get("no_rope_layer_interval", 4)
    return [int((i + 1) % interval != 0) for i in range(n)]


# ----------------------------------------------------------------------------------------------------------
# Mixtures of experts: which layers route, where their weights live (the hub's per-expert names).
# ----------------------------------------------------------------------------------------------------------
MOE_FAMILIES = ("mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "gpt_oss", "qwen3_5_moe_text")
# (gate, up, down) projection names of one expert; Mixtral's checkpoints call them w1, w3, w2
QWEN_EXPERT_PROJECTIONS = ("gate_proj", "up_proj", "down_proj")
EXPERT_PROJECTIONS = {"mixtral": ("w1", "w3", "w2"), "qwen2_moe": QWEN_EXPERT_PROJECTIONS,
                      "qwen3_moe": QWEN_EXPERT_PROJECTIONS, "olmoe": QWEN_EXPERT_PROJECTIONS,
                      "qwen3_5_moe_text": QWEN_EXPERT_PROJECTIONS}


def num_experts_of(config):
    """Qwen3MoeConfig's attribute_map saves num_experts as num_local_experts; hub configs say num_experts."""
    return config["num_experts"] if "num_experts" in config else config["num_local_experts"]


def is_sparse_layer(config, i):
    """Mixtral, OLMoE, gpt_oss and Qwen3.5-MoE (its config has no mlp_only_layers nor decoder_sparse_step) route
    every layer; Qwen2Moe/Qwen3MoeDecoderLayer route unless mlp_only_layers or decoder_sparse_step say otherwise."""
    family = config["model_type"]
    if family in ("mixtral", "olmoe", "gpt_oss", "qwen3_5_moe_text"):
        return True
    if family in ("qwen2_moe", "qwen3_moe"):
        return (i not in config.get("mlp_only_layers", []) and num_experts_of(config) > 0
                and (i + 1) % config["decoder_sparse_step"] == 0)
    return False


def moe_prefix(config, i):
    return f"model.layers.{i}.block_sparse_moe." if config["model_type"] == "mixtral" else f"model.layers.{i}.mlp."


def router_names(config, i):
    """The router's weights: GptOssTopKRouter is a biased linear, the others a bias-free gate."""
    p = moe_prefix(config, i)
    return [p + "router.weight", p + "router.bias"] if config["model_type"] == "gpt_oss" else [p + "gate.weight"]


def granite_mlp_parts(config):
    """(number of routed experts, whether a shared_mlp sits beside them) of every layer of a Granite mixture:
    GraniteMoe/GraniteMoeSharedDecoderLayer always build block_sparse_moe, GraniteMoeHybridDecoderLayer only when
    num_local_experts > 0 (has_experts); granitemoehybrid always builds shared_mlp, granitemoeshared unless
    shared_intermediate_size is 0 (then shared_mlp is None), granitemoe never."""
    family = config["model_type"]
    shared = family == "granitemoehybrid" or (family == "granitemoeshared"
                                               and config.get("shared_intermediate_size", 0) > 0)  # class default 0
    return config["num_local_experts"], shared


def granite_expert_weights(config, i, normal):
    """Layer i's block_sparse_moe as Granite's checkpoints store it, stacked: router.layer (E, C), input_linear
    (E, 2I, C) with each expert's gate rows before its up rows, output_linear (E, C, I). The router's std 0.3 keeps
    each token's k-th and (k+1)-th router probabilities apart (check_routing_gap)."""
    e, inter, q = config["num_local_experts"], config["intermediate_size"], f"model.layers.{i}.block_sparse_moe."
    return {q + "router.layer.weight": normal(0.3, e, config["hidden_size"]),
            q + "input_linear.weight": normal(0.1, e, 2 * inter, config["hidden_size"]),
            q + "output_linear.weight": normal(0.1, e, config["hidden_size"], inter)}


# gpt_oss's clamped SwiGLU: GptOssExperts hard-codes both (self.alpha, self.limit); config.json's swiglu_limit is
# read only by the MXFP4 kernel path (Mxfp4GptOssExperts), and GptOssConfig has no such field.
SWIGLU_ALPHA, SWIGLU_LIMIT = 1.702, 7.0

# ----------------------------------------------------------------------------------------------------------
# MXFP4 (integrations/mxfp4.convert_moe_packed_tensors): each byte holds two 4-bit codes, the low nibble the even
# element; 32 elements (16 bytes) share one exponent byte, value = FP4_VALUES[code] * 2^(scale - 127).
# ----------------------------------------------------------------------------------------------------------
FP4_VALUES = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0])
MXFP4_PACKED = ("_blocks", "_scales")


def dequantize_mxfp4(blocks, scales):
    """blocks [E, R, G, 16] U8, scales [E, R, G] U8 -> float32 [E, G*32, R]: the rows of the packed tensor become
    the parameter's columns (transformers transposes (1, 2) after unpacking)."""
    values = torch.empty(*blocks.shape[:-1], 2 * blocks.shape[-1])
    values[..., 0::2] = FP4_VALUES[(blocks & 0x0F).long()]
    values[..., 1::2] = FP4_VALUES[(blocks >> 4).long()]
    values = torch.ldexp(values, scales.to(torch.int32)[..., None] - 127)
    return values.reshape(*blocks.shape[:2], -1).transpose(1, 2).contiguous()


def dequantize_experts(weights):
    """A checkpoint with NAME_blocks / NAME_scales pairs -> the same one with float NAME tensors instead."""
    out = {name: t for name, t in weights.items() if not name.endswith(MXFP4_PACKED)}
    for name in weights:
        if name.endswith("_blocks"):
            base = name[:-len("_blocks")]
            out[base] = dequantize_mxfp4(weights[name], weights[base + "_scales"])
    return out


def load_balancing_loss(router_logits, num_experts, top_k, attention_mask=None):
    """modeling_mixtral.load_balancing_loss_func: router_logits, one [B*T, E] per sparse layer, concatenated;
    padding tokens (attention_mask 0) count in neither the routed fractions nor the mean probabilities."""
    logits = torch.cat(router_logits, dim=0)
    probs = F.softmax(logits, dim=-1)
    chosen = F.one_hot(probs.topk(top_k, dim=-1).indices, num_experts).float()  # [L*B*T, k, E]
    if attention_mask is None:
        keep = torch.ones(logits.shape[0])
    else:  # layer-major, then batch, then position: the order the layers' logits were concatenated in
        keep = attention_mask.reshape(1, -1).expand(logits.shape[0] // attention_mask.numel(), -1).reshape(-1)
        keep = keep.float()
    tokens_per_expert = (chosen * keep[:, None, None]).sum(0) / keep.sum()  # [k, E]
    prob_per_expert = (probs * keep[:, None]).sum(0) / keep.sum()  # [E]
    return (tokens_per_expert * prob_per_expert[None]).sum() * num_experts


LAYER_TYPES = ("full_attention", "sliding_attention")


def rope_parameters_by_layer_type(config, layer_types):
    """rope_parameters is either one dict for every layer or a dict keyed by layer type (gemma3_text, olmo3)."""
    params = config["rope_parameters"]
    if params and set(params).issubset(LAYER_TYPES):
        return {t: params[t] for t in set(layer_types)}
    return {t: params for t in set(layer_types)}


def head_dim_of(config):
    return config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]


def inverse_frequencies(config, params, seq_len):
    """(inv_freq, attention_scaling) for one rope_parameters dict; seq_len matters for longrope only."""
    base = params["rope_theta"]
    dim = int(head_dim_of(config) * params.get("partial_rotary_factor", 1.0))
    exponents = torch.arange(0, dim, 2, dtype=torch.int64).float() / dim
    kind = params.get("rope_type", "default")
    if kind == "default":
        return 1.0 / (base ** exponents), 1.0
    if kind == "linear":
        return (1.0 / (base ** exponents)) / params["factor"], 1.0
    if kind == "llama3":
        inv_freq = 1.0 / (base ** exponents)
        factor, low, high = params["factor"], params["low_freq_factor"], params["high_freq_factor"]
        old_len = params["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv_freq
        scaled = torch.where(wavelen > old_len / low, inv_freq / factor, inv_freq)
        smooth = (old_len / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < old_len / high) * ~(wavelen > old_len / low)
        return torch.where(medium, smoothed, scaled), 1.0
    if kind == "yarn":
        return _yarn(config, params, base, dim)
    if kind == "longrope":
        original = params["original_max_position_embeddings"]
        factor = params.get("factor") or config["max_position_embeddings"] / original
        attention_factor = params.get("attention_factor")
        if attention_factor is None:
            attention_factor = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(original))
        # NOTE: the switch is on this forward call's max(position_ids) + 1, not on the model's maximum length.
        ext = params["long_factor"] if seq_len > original else params["short_factor"]
        return 1.0 / (torch.tensor(ext, dtype=torch.float32) * base ** exponents), attention_factor
    raise ValueError(f"rope_type {kind!r} is not re-implemented here")


def _yarn(config, params, base, dim):
    original = params["original_max_position_embeddings"]
    factor = params["factor"]
    if factor is None:  # _compute_yarn_parameters: the ratio of the post- to the pre-yarn context length
        factor = config["max_position_embeddings"] / original

    def mscale(scale, m=1.0):
        return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

    attention_factor = params.get("attention_factor")
    if attention_factor is None:
        if params.get("mscale") and params.get("mscale_all_dim"):
            attention_factor = mscale(factor, params["mscale"]) / mscale(factor, params["mscale_all_dim"])
        else:
            attention_factor = mscale(factor)
    beta_fast, beta_slow = params.get("beta_fast") or 32, params.get("beta_slow") or 1

    def correction_dim(rotations):
        return (dim * math.log(original / (rotations * 2 * math.pi))) / (2 * math.log(base))

    low, high = correction_dim(beta_fast), correction_dim(beta_slow)
    # NOTE: _compute_yarn_parameters reads truncate from the top level of rope_parameters even when the other yarn
    # keys come from one layer type's dict, so a per-layer-type layout (olmo3) always truncates.
    if config["rope_parameters"].get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001
    ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
    extrapolation_share = 1 - ramp
    pos_freqs = base ** (torch.arange(0, dim, 2).float() / dim)
    inv_freq = (1.0 / (factor * pos_freqs)) * (1 - extrapolation_share) + (1.0 / pos_freqs) * extrapolation_share
    return inv_freq, attention_factor


def cos_sin(config, params, positions):
    """positions: [1, T] int64. Returns cos, sin [1, T, rotary_dim] scaled by the attention factor."""
    inv_freq, scaling = inverse_frequencies(config, params, int(positions.max()) + 1)
    freqs = (inv_freq[None, :, None].float() @ positions[:, None, :].float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos() * scaling, emb.sin() * scaling


def rotate(x, cos, sin):
    """Rotary on the first cos.shape[-1] channels of x [B, heads, T, head_dim] (rotate-half layout)."""
    rot, rest = x[..., :cos.shape[-1]], x[..., cos.shape[-1]:]
    half = rot.shape[-1] // 2
    rotated = torch.cat((-rot[..., half:], rot[..., :half]), dim=-1)
    return torch.cat((rot * cos[:, None] + rotated * sin[:, None], rest), dim=-1)


# ----------------------------------------------------------------------------------------------------------
# The routed MLP, shared by CausalLM and qwen3_5_torch.Qwen35LM.
# ----------------------------------------------------------------------------------------------------------
class SparseMoe:
    """The sparse block of Mixtral, the Qwen MoEs and OLMoE, and Granite's block_sparse_moe, mixed into a model class
    that has c (config), w (weights), family, act, linear(x, name) and dense_mlp(x, prefix). The attributes
    init_routing sets after top_k are rules; moe_bites and granite_mlp_bites flip them."""

    def init_routing(self, config):
        # Granite's routers (GraniteMoe/GraniteMoeShared/GraniteMoeHybridTopKRouter) softmax the top-k LOGITS, which
        # equals the full softmax's top-k probabilities renormalised. Their models record no router logits in 5.17
        # (_can_record_outputs has none), so load_balancing_loss_func gets None and returns 0; with labels and
        # output_router_logits the forward then fails on `0.to(...)`: no aux_loss to reproduce.
        self.granite_experts, self.granite_shared_mlp = (
            granite_mlp_parts(config) if self.family in GRANITE_MOE_FAMILIES else (0, False))
        if self.family in GRANITE_MOE_FAMILIES:
            self.top_k = config["num_experts_per_tok"]
            self.renormalize = True
        if self.family in MOE_FAMILIES:
            self.top_k = config["num_experts_per_tok"]
            # MixtralTopKRouter always renormalises the top-k probabilities, and so does Qwen3.5-MoE's router
            # (Qwen3VLMoeTextTopKRouter; its config has no norm_topk_prob); the other Qwen routers (OlmoeTopKRouter
            # is Qwen2MoeTopKRouter) on norm_topk_prob; GptOssTopKRouter softmaxes the top-k logits, which is the same
            self.renormalize = (self.family in ("mixtral", "gpt_oss", "qwen3_5_moe_text")
                                or bool(config.get("norm_topk_prob")))
        self.shared_expert_gated = True  # the shared expert's output times sigmoid(shared_expert_gate(x))
        self.router_logits = []  # [B*T, E] per sparse layer of the last forward, for the load-balancing loss
        self.smallest_routing_gap = math.inf  # k-th minus (k+1)-th largest router probability, over all forwards

    def sparse_moe(self, i, x):
        """x [B, T, C] -> [B, T, C]: each token through its top-k experts, weighted by its router probabilities
        (plus the Qwen MoEs' sigmoid-gated shared expert); experts accumulate in ascending order as transformers'
        loop does (index_add_)."""
        p = moe_prefix(self.c, i)
        flat = x.reshape(-1, x.shape[-1])
        logits = F.linear(flat, self.w[p + "gate.weight"])  # [N, E]
        probs = self.record_router(logits)
        weights, experts = probs.topk(self.top_k, dim=-1)  # [N, k]
        if self.renormalize:
            weights = weights / weights.sum(dim=-1, keepdim=True)
        gate, up, down = EXPERT_PROJECTIONS[self.family]
        out = torch.zeros_like(flat)
        for e in range(logits.shape[-1]):
            tokens, slot = torch.where(experts == e)
            if tokens.numel() == 0:
                continue
            q, h = f"{p}experts.{e}.", flat[tokens]
            y = self.linear(self.act(self.linear(h, q + gate)) * self.linear(h, q + up), q + down)
            out = out.index_add(0, tokens, y * weights[tokens, slot, None])
        if p + "shared_expert_gate.weight" in self.w:
            shared = self.dense_mlp(flat, p + "shared_expert.")
            if self.shared_expert_gated:
                shared = torch.sigmoid(self.linear(flat, p + "shared_expert_gate")) * shared
            out = out + shared
        return out.reshape(x.shape)

    def granite_moe(self, i, x):
        """Granite's block_sparse_moe, x [B, T, C] -> [B, T, C]: router logits in float32, the top-k of the logits,
        softmax over those k; expert e: gate, up = (x input_linear[e]^T).chunk(2) (gate first),
        (silu(gate) * up) output_linear[e]^T, times the token's weight for e, summed in ascending expert order
        (index_add_)."""
        p = f"model.layers.{i}.block_sparse_moe."
        flat = x.reshape(-1, x.shape[-1])
        logits = F.linear(flat, self.w[p + "router.layer.weight"]).float()  # [N, E]
        probs = self.record_router(logits)
        top, chosen = logits.topk(self.top_k, dim=-1)  # [N, k]
        weights = F.softmax(top, dim=-1) if self.renormalize else probs.gather(1, chosen)
        gate_up, down = self.w[p + "input_linear.weight"], self.w[p + "output_linear.weight"]  # (E, 2I, C), (E, C, I)
        out = torch.zeros_like(flat)
        for e in range(self.granite_experts):
            tokens, slot = torch.where(chosen == e)
            if tokens.numel() == 0:
                continue
            gate, up = F.linear(flat[tokens], gate_up[e]).chunk(2, dim=-1)
            y = F.linear(self.act(gate) * up, down[e])
            out = out.index_add(0, tokens, y * weights[tokens, slot, None])
        return out.reshape(x.shape)

    def granite_mlp(self, i, x):
        """GraniteMoe/GraniteMoeShared/GraniteMoeHybridDecoderLayer: block_sparse_moe(x) + shared_mlp(x), each where
        the layer has one (zeros when a check drops both)."""
        routed = self.granite_moe(i, x) if self.granite_experts else None
        if not self.granite_shared_mlp:
            return routed if routed is not None else torch.zeros_like(x)
        shared = self.dense_mlp(x, f"model.layers.{i}.shared_mlp.")
        return shared if routed is None else routed + shared

    def record_router(self, logits):
        """Keeps logits [N, E] for the load-balancing loss and the smallest k-th vs (k+1)-th probability gap;
        returns the softmax probabilities."""
        self.router_logits.append(logits)
        probs = F.softmax(logits, dim=-1, dtype=torch.float32)
        ranked = probs.sort(dim=-1, descending=True).values
        self.smallest_routing_gap = min(self.smallest_routing_gap,
                                        (ranked[:, self.top_k - 1] - ranked[:, self.top_k]).min().item())
        return probs


# ----------------------------------------------------------------------------------------------------------
# The model.
# ----------------------------------------------------------------------------------------------------------
class CausalLM(SparseMoe):
    MIXERS = LAYER_TYPES  # the layer types whose token mixer this class computes (a subclass adds its own)

    def __init__(self, config, weights):
        self.c, self.w = config, weights
        self.family = config["model_type"]
        self.gemma = self.family in GEMMA_FAMILIES
        self.heads, self.kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
        self.head_dim = head_dim_of(config)
        self.eps = config["rms_norm_eps"]
        self.layer_types = layer_types_of(config)
        if not set(self.layer_types).issubset(self.MIXERS):  # granitemoehybrid's Mamba-2 layers: linear_attention
            raise ValueError(f"layer types {sorted(set(self.layer_types) - set(self.MIXERS))} are not re-implemented "
                             f"by {type(self).__name__}; granite4_hybrid_torch.GraniteHybridLM computes Mamba-2 layers")
        self.rope = rope_parameters_by_layer_type(config, self.layer_types)
        if self.family in ("gemma2", "gemma3_text"):
            self.scaling = config["query_pre_attn_scalar"] ** -0.5
        elif self.family in GRANITE_FAMILIES:  # replaces head_dim ** -0.5
            self.scaling = config["attention_multiplier"]
        else:
            self.scaling = self.head_dim ** -0.5
        # Granite's three other scalars (Granite/GraniteMoeHybrid Model, DecoderLayer, ForCausalLM); 1 elsewhere
        self.embedding_multiplier = config.get("embedding_multiplier", 1.0)
        self.residual_multiplier = config.get("residual_multiplier", 1.0)
        self.logits_scaling = config.get("logits_scaling", 1.0)
        self.rotated = rope_layers_of(config)  # smollm3's NoPE layers, granitemoehybrid without rope: 0
        # OLMo 2/3: no input norm, RMSNorms on each sublayer's output before the residual add; OLMo 2/3 and OLMoE:
        # q/k norms over the whole projection width. The checks of each feature change post_norms and
        # qk_norm_across_heads
        self.olmo = self.family in OLMO_FAMILIES
        self.projection_qk_norm = self.family in PROJECTION_QK_NORM_FAMILIES
        self.post_norms, self.qk_norm_across_heads = self.olmo, self.projection_qk_norm
        # NOTE: Gemma3's attention keeps attn_logit_softcapping but never hands it to the attention function
        # (modeling_gemma3.py as read); only gemma2 caps attention scores.
        self.attn_softcap = config.get("attn_logit_softcapping") if self.family == "gemma2" else None
        self.final_softcap = config.get("final_logit_softcapping")
        act = config.get("hidden_activation") or config.get("hidden_act")
        self.act = {"silu": F.silu, "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh")}[act]
        self.init_routing(config)
        if self.family == "gpt_oss":  # GptOssExperts' gate; the checks of each feature change these
            self.gate_limit = self.up_limit = SWIGLU_LIMIT
            self.interleaved, self.up_offset = True, 1.0
            self.clamp_counts = torch.zeros(3)  # values seen, gates and ups beyond the limit, over all forwards

    def norm(self, x, weight):
        y = x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + self.eps)
        if self.gemma:  # (1 + weight) in float32, cast back after the product
            return (y * (1.0 + weight.float())).type_as(x)
        # llama style: cast back, then the weight (Olmo2RMSNorm multiplies first, then casts: the same in float32)
        return weight * y.to(x.dtype)

    def qk_norm(self, x, weight, heads):
        """Olmo2Attention, OlmoeAttention: one RMSNorm over x [B, T, heads * head_dim] before the split into heads;
        the per-head variant (a check only) normalises each head's slice with its slice of the weight."""
        if self.qk_norm_across_heads:
            return self.norm(x, weight)
        split = x.view(*x.shape[:-1], heads, self.head_dim)
        return self.norm(split, weight.view(heads, self.head_dim)).view(x.shape)

    def linear(self, x, name):
        bias = self.w.get(name + ".bias")
        return F.linear(x, self.w[name + ".weight"], bias)

    def attention(self, i, x, positions, cache, key_mask, causal):
        """x [B, T, H]; positions [1, T]; cache: {layer: (keys, values)} after rotary, grown in place, or None."""
        p = f"model.layers.{i}.self_attn."
        b, t, _ = x.shape
        q_size, kv_size = self.heads * self.head_dim, self.kv_heads * self.head_dim
        if p + "qkv_proj.weight" in self.w:  # Phi-3: one projection, rows ordered q | k | v
            qkv = self.linear(x, p + "qkv_proj")
            q, k, v = qkv[..., :q_size], qkv[..., q_size:q_size + kv_size], qkv[..., q_size + kv_size:]
        else:
            q, k, v = self.linear(x, p + "q_proj"), self.linear(x, p + "k_proj"), self.linear(x, p + "v_proj")
        if self.projection_qk_norm:
            q = self.qk_norm(q, self.w[p + "q_norm.weight"], self.heads)
            k = self.qk_norm(k, self.w[p + "k_norm.weight"], self.kv_heads)
        q = q.view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = k.view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = v.view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        if p + "q_norm.weight" in self.w and not self.projection_qk_norm:  # gemma3 / qwen3: per-head, before rotary
            q, k = self.norm(q, self.w[p + "q_norm.weight"]), self.norm(k, self.w[p + "k_norm.weight"])
        if self.rotated[i]:
            cos, sin = cos_sin(self.c, self.rope[self.layer_types[i]], positions)
            q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        if cache is not None:
            if i in cache:
                k, v = torch.cat((cache[i][0], k), dim=2), torch.cat((cache[i][1], v), dim=2)
            cache[i] = (k, v)
        groups = self.heads // self.kv_heads
        k = k.repeat_interleave(groups, dim=1)
        v = v.repeat_interleave(groups, dim=1)
        scores = torch.matmul(q, k.transpose(2, 3)) * self.scaling
        if self.attn_softcap is not None:  # scale, then softcap, then the mask
            self.attn_softcap_ratio = max(self.attn_softcap_ratio, scores.abs().max().item() / self.attn_softcap)
            scores = torch.tanh(scores / self.attn_softcap) * self.attn_softcap
        if causal:
            scores = scores + self.additive_mask(i, positions, k.shape[2], key_mask)
        if p + "sinks" in self.w:
            weights = softmax_with_sink(scores, self.w[p + "sinks"])
        else:
            weights = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(weights, v).transpose(1, 2).reshape(b, t, -1)
        return self.linear(out, p + "o_proj")

    def additive_mask(self, i, positions, kv_len, key_mask):
        """Key kv visible to query q iff kv <= q, kv > q - window on sliding layers, and kv is not padding."""
        q_pos = positions[0][:, None]
        kv_pos = torch.arange(kv_len)[None, :]
        allowed = kv_pos <= q_pos
        if self.layer_types[i] == "sliding_attention":
            allowed = allowed & (kv_pos > q_pos - self.c["sliding_window"])
        allowed = allowed[None, None]
        if key_mask is not None:
            allowed = allowed & key_mask[:, None, None, :kv_len].bool()
        return torch.where(allowed, torch.tensor(0.0), torch.tensor(torch.finfo(torch.float32).min))

    def mlp(self, i, x):
        if self.family == "gpt_oss":
            return self.gpt_oss_moe(i, x)
        if is_sparse_layer(self.c, i):
            return self.sparse_moe(i, x)
        if self.family in GRANITE_MOE_FAMILIES:
            return self.granite_mlp(i, x)
        return self.dense_mlp(x, f"model.layers.{i}.mlp.")

    def dense_mlp(self, x, p):
        if p + "input_linear.weight" in self.w:  # GraniteMoeSharedMLP / GraniteMoeHybridMLP: rows gate | up, no biases
            gate, up = self.linear(x, p + "input_linear").chunk(2, dim=-1)
            return self.linear(self.act(gate) * up, p + "output_linear")
        if p + "gate_up_proj.weight" in self.w:  # Phi-3: rows ordered gate | up
            gate, up = self.linear(x, p + "gate_up_proj").chunk(2, dim=-1)
        else:
            gate, up = self.linear(x, p + "gate_proj"), self.linear(x, p + "up_proj")
        return self.linear(self.act(gate) * up, p + "down_proj")

    def gpt_oss_moe(self, i, x):
        """GptOssMLP, x [B, T, C] -> [B, T, C]: a biased router picks the top-k logits and softmaxes them; expert e
        computes x @ gate_up_proj[e] + bias ([C] -> [2I], gate and up interleaved), the clamped SwiGLU, then
        @ down_proj[e] + bias ([I] -> [C]); experts accumulate in ascending order (index_add_)."""
        p = f"model.layers.{i}.mlp."
        flat = x.reshape(-1, x.shape[-1])
        logits = F.linear(flat, self.w[p + "router.weight"], self.w[p + "router.bias"])  # [N, E]
        probs = self.record_router(logits)
        top, experts = logits.topk(self.top_k, dim=-1)  # [N, k]
        weights = F.softmax(top, dim=1) if self.renormalize else probs.gather(1, experts)
        gate_up, gate_up_bias = self.w[p + "experts.gate_up_proj"], self.w[p + "experts.gate_up_proj_bias"]
        down, down_bias = self.w[p + "experts.down_proj"], self.w[p + "experts.down_proj_bias"]
        out = torch.zeros_like(flat)
        for e in range(logits.shape[-1]):
            slot, tokens = torch.where((experts == e).T)  # transformers' order: by top-k slot, then token
            if tokens.numel() == 0:
                continue
            h = self.clamped_swiglu(flat[tokens] @ gate_up[e] + gate_up_bias[e])
            y = h @ down[e] + down_bias[e]
            out = out.index_add(0, tokens, y * weights[tokens, slot, None])
        return out.reshape(x.shape)

    def clamped_swiglu(self, gate_up):
        """GptOssExperts._apply_gate: [N, 2I] -> [N, I]; gate clamped above, up both ways, then (up + 1) * glu."""
        if self.interleaved:
            gate, up = gate_up[..., ::2], gate_up[..., 1::2]
        else:
            gate, up = gate_up.chunk(2, dim=-1)
        self.clamp_counts += torch.tensor([gate.numel(), (gate > SWIGLU_LIMIT).sum().item(),
                                           (up.abs() > SWIGLU_LIMIT).sum().item()], dtype=torch.float32)
        gate = gate.clamp(max=self.gate_limit)
        up = up.clamp(min=-self.up_limit, max=self.up_limit)
        glu = gate * torch.sigmoid(gate * SWIGLU_ALPHA)
        return (up + self.up_offset) * glu

    def forward(self, input_ids, attention_mask=None, start=0, cache=None, causal=True):
        """Logits [B, T, V] for input_ids at positions start..start+T-1; attention_mask covers every key."""
        self.attn_softcap_ratio = 0.0
        self.router_logits = []
        positions = torch.arange(start, start + input_ids.shape[1])[None, :]
        h = F.embedding(input_ids, self.w["model.embed_tokens.weight"])
        if self.gemma:  # sqrt(hidden_size) as a tensor of the hidden dtype
            h = h * torch.tensor(self.c["hidden_size"] ** 0.5, dtype=h.dtype)
        h = h * self.embedding_multiplier
        for i in range(self.c["num_hidden_layers"]):
            p = f"model.layers.{i}."
            if self.family in ("gemma2", "gemma3_text"):  # four norms: around attention and around the MLP
                a = self.attention(i, self.norm(h, self.w[p + "input_layernorm.weight"]), positions, cache,
                                   attention_mask, causal)
                h = h + self.norm(a, self.w[p + "post_attention_layernorm.weight"])
                m = self.mlp(i, self.norm(h, self.w[p + "pre_feedforward_layernorm.weight"]))
                h = h + self.norm(m, self.w[p + "post_feedforward_layernorm.weight"])
            elif self.olmo:  # the sublayers see the residual stream itself; their outputs are normed
                h = h + self.post_norm(self.attention(i, h, positions, cache, attention_mask, causal),
                                       p + "post_attention_layernorm.weight")
                h = h + self.post_norm(self.mlp(i, h), p + "post_feedforward_layernorm.weight")
            else:
                a = self.attention(i, self.norm(h, self.w[p + "input_layernorm.weight"]), positions, cache,
                                   attention_mask, causal)
                h = h + a * self.residual_multiplier
                m = self.mlp(i, self.norm(h, self.w[p + "post_attention_layernorm.weight"]))
                h = h + m * self.residual_multiplier
        h = self.norm(h, self.w["model.norm.weight"])
        head = self.w.get("lm_head.weight", self.w["model.embed_tokens.weight"])
        logits = F.linear(h, head) / self.logits_scaling
        if self.final_softcap is not None:
            self.final_softcap_ratio = logits.abs().max().item() / self.final_softcap
            logits = torch.tanh(logits / self.final_softcap) * self.final_softcap
        return logits

    def post_norm(self, x, name):
        return self.norm(x, self.w[name]) if self.post_norms else x

    # What generate does when a Phi-3 sequence first outgrows original_max_position_embeddings (see drops_cache_at):
    # "recompute" the whole sequence into a fresh cache (the fixtures' choice), "keep" the cache (no override), or
    # "recompute_unmasked": recompute, but with the mask built for the one new position only, which broadcasts to
    # no causal mask at all (what transformers 4.5x's generate did: it kept passing cache_position=[L-1]).
    LONGROPE_SWITCHES = ("recompute", "keep", "recompute_unmasked")

    def greedy(self, prompt, new_tokens, longrope_switch="recompute"):
        """Greedy decoding with a KV cache, as generate(do_sample=False, use_cache=True) does it."""
        cache = {}
        tokens = prompt.clone()
        logits = self.forward(tokens, cache=cache)
        for step in range(new_tokens):
            tokens = torch.cat((tokens, logits[:, -1:].argmax(-1)), dim=1)
            if step == new_tokens - 1:
                break
            if longrope_switch != "keep" and self.drops_cache_at(tokens.shape[1]):
                cache = {}
                logits = self.forward(tokens, cache=cache, causal=longrope_switch == "recompute")
            else:
                logits = self.forward(tokens[:, -1:], start=tokens.shape[1] - 1, cache=cache)
        return tokens

    def drops_cache_at(self, length):
        """Phi3ForCausalLM.prepare_inputs_for_generation: when the sequence first passes
        original_max_position_embeddings (longrope's short/long switch), the cache is dropped and recomputed."""
        if self.family != "phi3":
            return False
        original = self.c["original_max_position_embeddings"]
        return length >= original + 1 and length - 1 <= original


def softmax_with_sink(scores, sinks):
    """gpt_oss eager_attention_forward: scores [B, H, Tq, Tk] (scaled, masked) get one more column, the head's
    learned sink logit; softmax over keys + sink (after subtracting the row maximum), then the sink column is
    dropped, so the sink only takes probability mass away (it has no value vector)."""
    column = sinks.reshape(1, -1, 1, 1).expand(scores.shape[0], -1, scores.shape[2], 1)
    combined = torch.cat((scores, column), dim=-1)
    combined = combined - combined.max(dim=-1, keepdim=True).values
    return F.softmax(combined, dim=-1, dtype=combined.dtype)[..., :-1]


def hf_loss(logits, labels):
    """Mean cross-entropy of position t predicting label t+1 (transformers' ForCausalLMLoss)."""
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).float(), labels[:, 1:].reshape(-1))


def load_folder(folder):
    config = json.load(open(os.path.join(folder, "config.json")))
    weights = read_safetensors(os.path.join(folder, "model.safetensors"))
    if config.get("quantization_config", {}).get("quant_method") == "mxfp4":
        weights = dequantize_experts(weights)
    return CausalLM(config, weights)


def outputs_for(model, ref):
    """Recomputes every tensor a reference.safetensors holds (those present)."""
    ids, mask = ref["input_ids"], ref["attention_mask"]
    out = {}
    with torch.no_grad():
        out["logits"] = model.forward(ids)
        out["logits_masked"] = model.forward(ids, attention_mask=mask)
        out["loss"] = hf_loss(out["logits"], ids).reshape(1)
        if "greedy_prompt" in ref:
            new_tokens = ref["greedy_output"].shape[1] - ref["greedy_prompt"].shape[1]
            out["greedy_output"] = model.greedy(ref["greedy_prompt"], new_tokens)
        if "logits_short" in ref:
            out["logits_short"] = model.forward(ids[:, :ref["logits_short"].shape[1]])
    return out


def relative_error(ours, theirs):
    return ((ours.float() - theirs.float()).abs().max() / theirs.float().abs().max()).item()


def check_transformers_made():
    """Our forward against the folders transformers 5.17 wrote; returns the worst relative error."""
    worst = 0.0
    for name in TRANSFORMERS_MADE:
        folder = os.path.join(RESOURCES, name)
        ref = read_safetensors(os.path.join(folder, "reference.safetensors"))
        ours = outputs_for(load_folder(folder), ref)
        for key, value in ours.items():
            if key not in ref:
                continue
            if value.dtype == torch.int64:
                same = torch.equal(value, ref[key])
                print(f"check {name:32s} {key:14s} {'identical' if same else 'DIFFERENT'} {value.tolist()}")
                worst = max(worst, 0.0 if same else float("inf"))
            else:
                err = relative_error(value, ref[key])
                print(f"check {name:32s} {key:14s} max|diff|/max|ref| = {err:.3e}")
                worst = max(worst, err)
    print(f"check: worst relative error {worst:.3e} (tolerance {CHECK_TOLERANCE:g})")
    return worst



# ----------------------------------------------------------------------------------------------------------
# Fixtures: tiny random models written as transformers 5.x's save_pretrained writes them.
# ----------------------------------------------------------------------------------------------------------
SIZES = {"vocab_size": 256, "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
         "intermediate_size": 128, "max_position_embeddings": 128, "num_hidden_layers": 2,
         "initializer_range": 0.1, "attention_dropout": 0.0, "use_cache": True, "dtype": "float32"}
WINDOW = 6  # sliding windows bite at 16 tokens
DEFAULT_ROPE = {"rope_theta": 10000.0, "rope_type": "default"}
GEMMA_TOKENS = {"pad_token_id": 0, "eos_token_id": 1, "bos_token_id": 2}


def gemma_config():
    return dict(SIZES, architectures=["GemmaForCausalLM"], model_type="gemma", head_dim=16,
                hidden_act="gelu_pytorch_tanh", rms_norm_eps=1e-6, tie_word_embeddings=True,
                rope_parameters=dict(DEFAULT_ROPE), attention_bias=False, use_bidirectional_attention=None,
                **GEMMA_TOKENS)


def gemma2_config():
    return dict(SIZES, architectures=["Gemma2ForCausalLM"], model_type="gemma2", head_dim=16,
                hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6, tie_word_embeddings=True,
                rope_parameters=dict(DEFAULT_ROPE), attention_bias=False, query_pre_attn_scalar=24,
                sliding_window=WINDOW, layer_types=["sliding_attention", "full_attention"],
                attn_logit_softcapping=2.0, final_logit_softcapping=3.0, use_bidirectional_attention=None,
                **GEMMA_TOKENS)


def gemma3_text_config():
    rope = {"full_attention": {"factor": 8.0, "rope_theta": 1000000.0, "rope_type": "linear"},
            "sliding_attention": {"rope_theta": 10000.0, "rope_type": "default"}}
    return dict(SIZES, architectures=["Gemma3ForCausalLM"], model_type="gemma3_text", num_hidden_layers=3,
                head_dim=16, hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6, tie_word_embeddings=True,
                rope_parameters=rope, attention_bias=False, query_pre_attn_scalar=24, sliding_window=WINDOW,
                layer_types=["sliding_attention", "sliding_attention", "full_attention"],
                attn_logit_softcapping=None, final_logit_softcapping=None, use_bidirectional_attention=False,
                **GEMMA_TOKENS)


def phi3_config(**overrides):
    config = dict(SIZES, architectures=["Phi3ForCausalLM"], model_type="phi3", hidden_act="silu",
                  rms_norm_eps=1e-5, tie_word_embeddings=False, resid_pdrop=0.0, embd_pdrop=0.0,
                  original_max_position_embeddings=128, sliding_window=WINDOW,
                  rope_parameters=dict(DEFAULT_ROPE, partial_rotary_factor=1.0),
                  bos_token_id=1, eos_token_id=2, pad_token_id=None)
    config.update(overrides)
    return config


def phi3_longrope_config():
    # Phi-4-mini style: half of each head rotates; short factors up to 8 positions, long factors beyond.
    rope = {"rope_type": "longrope", "rope_theta": 10000.0, "partial_rotary_factor": 0.5,
            "original_max_position_embeddings": 8, "short_factor": [1.0, 1.25, 1.5, 2.0],
            "long_factor": [2.0, 4.0, 8.0, 16.0]}
    return phi3_config(max_position_embeddings=32, original_max_position_embeddings=8, sliding_window=None,
                       rope_parameters=rope)


def mistral_sliding_config():
    return dict(SIZES, architectures=["MistralForCausalLM"], model_type="mistral", head_dim=16, hidden_act="silu",
                rms_norm_eps=1e-6, tie_word_embeddings=False, rope_parameters=dict(DEFAULT_ROPE),
                sliding_window=WINDOW, bos_token_id=1, eos_token_id=2, pad_token_id=None)


def qwen2_sliding_config():
    # Qwen2Config: sliding_window is kept only with use_sliding_window; layers i >= max_window_layers slide.
    return dict(SIZES, architectures=["Qwen2ForCausalLM"], model_type="qwen2", hidden_act="silu", rms_norm_eps=1e-6,
                tie_word_embeddings=False, rope_parameters=dict(DEFAULT_ROPE), use_sliding_window=True,
                sliding_window=WINDOW, max_window_layers=1, layer_types=["full_attention", "sliding_attention"],
                bos_token_id=None, eos_token_id=None, pad_token_id=None)


MOE_TERMS = {"output_router_logits": False, "router_aux_loss_coef": 0.001}


def mixtral_config():
    # MixtralConfig: every layer sparse, top-k always renormalised; head_dim None means hidden / heads
    return dict(SIZES, **MOE_TERMS, architectures=["MixtralForCausalLM"], model_type="mixtral", head_dim=None,
                hidden_act="silu", rms_norm_eps=1e-5, tie_word_embeddings=False, rope_parameters=dict(DEFAULT_ROPE),
                sliding_window=None, intermediate_size=32, num_local_experts=4, num_experts_per_tok=2,
                router_jitter_noise=0.0, bos_token_id=1, eos_token_id=2, pad_token_id=None)


def qwen2_moe_config():
    # Qwen2MoeConfig.__post_init__: sliding_window becomes 0 without use_sliding_window; layer_types written
    return dict(SIZES, **MOE_TERMS, architectures=["Qwen2MoeForCausalLM"], model_type="qwen2_moe", num_hidden_layers=3,
                hidden_act="silu", rms_norm_eps=1e-6, tie_word_embeddings=False, rope_parameters=dict(DEFAULT_ROPE),
                use_sliding_window=False, sliding_window=0, max_window_layers=28, layer_types=["full_attention"] * 3,
                intermediate_size=96, decoder_sparse_step=1, moe_intermediate_size=32,
                shared_expert_intermediate_size=48, num_experts_per_tok=2, num_experts=4, norm_topk_prob=False,
                mlp_only_layers=[1], qkv_bias=True, bos_token_id=None, eos_token_id=None, pad_token_id=None)


def gpt_oss_config():
    # GptOssConfig (v5 @strict): attention_bias and layer_types are fields (written); no swiglu_limit/alpha field;
    # router_aux_loss_coef's class default is 0.9. rope: yarn's ramp at head_dim 16 and 32 original positions
    # spans rotary pairs 0..1.09 (truncate: false) or 0..2 (true), so pair 1 mixes and truncate changes it.
    rope = {"rope_type": "yarn", "rope_theta": 150000.0, "factor": 8.0, "beta_fast": 32.0, "beta_slow": 1.0,
            "truncate": False, "original_max_position_embeddings": 32}
    return dict(SIZES, architectures=["GptOssForCausalLM"], model_type="gpt_oss", output_router_logits=False,
                router_aux_loss_coef=0.9, head_dim=16, hidden_act="silu", rms_norm_eps=1e-5,
                tie_word_embeddings=False, rope_parameters=rope, attention_bias=True, sliding_window=4,
                layer_types=["sliding_attention", "full_attention"], intermediate_size=32, max_position_embeddings=256,
                num_local_experts=4, num_experts_per_tok=2, bos_token_id=None, eos_token_id=None, pad_token_id=None)


# what openai/gpt-oss-20b's config.json adds: the experts are MXFP4, everything else stays unquantized
GPT_OSS_MXFP4 = {"quant_method": "mxfp4", "modules_to_not_convert": [
    "model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head"]}


def qwen3_moe_config():
    # Qwen3MoeConfig: attribute_map stores num_experts as num_local_experts, which save_pretrained writes
    return dict(SIZES, **MOE_TERMS, architectures=["Qwen3MoeForCausalLM"], model_type="qwen3_moe",
                hidden_act="silu", rms_norm_eps=1e-6, tie_word_embeddings=False, rope_parameters=dict(DEFAULT_ROPE),
                attention_bias=False, use_sliding_window=False, sliding_window=None, intermediate_size=96,
                decoder_sparse_step=1, moe_intermediate_size=16, num_experts_per_tok=2, num_local_experts=8,
                norm_topk_prob=True, mlp_only_layers=[], bos_token_id=None, eos_token_id=None, pad_token_id=None)


# the families' default ids lie outside the tiny vocabulary (nn.Embedding's padding_idx would refuse them)
NO_SPECIAL_TOKENS = {"pad_token_id": None, "bos_token_id": None, "eos_token_id": None}


def olmoe_config():
    # OlmoeConfig (v5 @strict): every layer sparse, experts as wide as intermediate_size, the field is num_experts
    # (num_local_experts is its attribute_map alias); no head_dim or sliding_window field. The published
    # allenai/OLMoE-1B-7B-0924's choices: norm_topk_prob false, clip_qkv null, router_aux_loss_coef 0.01, untied.
    return dict(SIZES, **NO_SPECIAL_TOKENS, architectures=["OlmoeForCausalLM"], model_type="olmoe",
                hidden_act="silu", rms_norm_eps=1e-5, tie_word_embeddings=False, attention_bias=False,
                rope_parameters=dict(DEFAULT_ROPE), clip_qkv=None, intermediate_size=32, num_experts=4,
                num_experts_per_tok=2, norm_topk_prob=False, output_router_logits=False, router_aux_loss_coef=0.01)


def granite_config():
    # GraniteConfig (v5 @strict): head_dim is hidden / heads (no field). The scalars are Granite 3.3 8B's,
    # attention_multiplier 1 / head_dim as there (0.0078125 = 1/128 at head_dim 128). Untied, unlike Granite 3.x:
    # with a tied head the 12x embedding dominates this tiny model's residual stream and greedy decoding repeats
    # the prompt's last token (every seed tried), which would test nothing of the cache.
    return dict(SIZES, **NO_SPECIAL_TOKENS, architectures=["GraniteForCausalLM"], model_type="granite",
                hidden_act="silu", rms_norm_eps=1e-6, tie_word_embeddings=False, rope_parameters=dict(DEFAULT_ROPE),
                attention_bias=True, mlp_bias=False, embedding_multiplier=12.0, residual_multiplier=0.22,
                attention_multiplier=0.0625, logits_scaling=16.0)


# The Granite mixtures' folders (granitemoe, granitemoeshared and granite4_hybrid_torch.py's granite4_h and
# granite4_h_moe) are smaller than SIZES: hidden 32, 4 query and 2 kv heads of head_dim 8, vocab 128, which keeps the
# working tree the GPU machine receives small
GRANITE_MOE_SIZES = {"vocab_size": 128, "hidden_size": 32}


def granitemoe_config():
    # GraniteMoeConfig (v5 @strict): granite's fields without mlp_bias, plus the experts' (intermediate_size is each
    # expert's width); no head_dim and no position_embedding_type field: every layer rotates. The published
    # granite-3.x-1b-a400m / 3b-a800m say attention_bias false and tie their head; here q/k/v/o carry biases
    # (GraniteMoeAttention gives all four one flag) and the head is untied, as in the granite folder.
    granite = {key: value for key, value in granite_config().items() if key != "mlp_bias"}
    return dict(granite, **MOE_TERMS, **GRANITE_MOE_SIZES, architectures=["GraniteMoeForCausalLM"],
                model_type="granitemoe", num_hidden_layers=4, intermediate_size=16, num_local_experts=4,
                num_experts_per_tok=2)


def granitemoeshared_config():
    # GraniteMoeSharedConfig: GraniteMoeConfig's fields plus shared_intermediate_size (the shared MLP's width; 0 would
    # mean no shared MLP). attention_bias false here, as the published Granite 3 mixtures, so that both flags occur.
    return dict(granitemoe_config(), architectures=["GraniteMoeSharedForCausalLM"], model_type="granitemoeshared",
                attention_bias=False, shared_intermediate_size=24)


# GraniteMoeHybridConfig's Mamba-2 fields: save_pretrained writes every field, unused or not. mamba_d_head "auto"
# becomes mamba_expand * hidden_size // mamba_n_heads (1 here) in __post_init__; time_step_limit's infinity is
# written as _encode_special_floats tags it.
GRANITE4_MAMBA_FIELDS = {"mamba_n_heads": 128, "mamba_n_groups": 1, "mamba_d_state": 256, "mamba_d_head": 1,
                         "mamba_d_conv": 4, "mamba_expand": 2, "mamba_chunk_size": 256, "mamba_conv_bias": True,
                         "mamba_proj_bias": False, "time_step_limit": [0.0, {"__float__": "Infinity"}]}


def granite4_config(position_embedding_type="rope"):
    # GraniteMoeHybridConfig (v5 @strict) as granite-4.0-micro: every layer attention (save_pretrained writes the
    # remapped "full_attention" under layer_types), no experts, the dense shared_mlp as wide as
    # shared_intermediate_size; intermediate_size (the experts' width) is unused and differs. No head_dim field.
    # Granite 3's scalars, and untied like the granite folder, unlike granite-4.0-micro: tied, greedy decoding repeats
    # the prompt's last token for every seed and embedding std tried (0.005 to 0.1), with and without rope.
    return dict(SIZES, **NO_SPECIAL_TOKENS, **MOE_TERMS, **GRANITE4_MAMBA_FIELDS,
                architectures=["GraniteMoeHybridForCausalLM"], model_type="granitemoehybrid", hidden_act="silu",
                rms_norm_eps=1e-6, tie_word_embeddings=False, rope_parameters=dict(DEFAULT_ROPE),
                attention_bias=False, embedding_multiplier=12.0, residual_multiplier=0.22,
                attention_multiplier=0.0625, logits_scaling=16.0, num_local_experts=0, num_experts_per_tok=2,
                shared_intermediate_size=96, position_embedding_type=position_embedding_type,
                layer_types=["full_attention"] * SIZES["num_hidden_layers"])


def granite4_nope_config():
    return granite4_config(position_embedding_type=None)


def olmo2_config():
    return dict(SIZES, **NO_SPECIAL_TOKENS, architectures=["Olmo2ForCausalLM"], model_type="olmo2",
                hidden_act="silu", rms_norm_eps=1e-6, tie_word_embeddings=False, attention_bias=False,
                rope_parameters={"rope_theta": 500000.0, "rope_type": "default"})


def olmo3_config():
    # Olmo3Config.convert_rope_params_to_dict keys rope_parameters by layer type: a published config's rope_scaling
    # (yarn for the Olmo 3 releases) goes to full_attention only, sliding_attention keeps the default rope;
    # Olmo3RotaryEmbedding computes one table per layer type. Two layers, one of each type (the
    # default rule, every 4th layer full, would need four; save_pretrained writes layer_types either way).
    yarn = {"rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": 8, "beta_fast": 32.0,
            "beta_slow": 1.0, "rope_theta": 500000.0}
    rope = {"full_attention": yarn, "sliding_attention": {"rope_theta": 500000.0, "rope_type": "default"}}
    return dict(SIZES, **NO_SPECIAL_TOKENS, architectures=["Olmo3ForCausalLM"], model_type="olmo3",
                max_position_embeddings=64, hidden_act="silu", rms_norm_eps=1e-6, tie_word_embeddings=False,
                attention_bias=False, rope_parameters=rope, sliding_window=WINDOW,
                layer_types=["sliding_attention", "full_attention"])


def smollm3_config():
    # SmolLM3Config.__post_init__ fills no_rope_layers and layer_types, so save_pretrained writes both
    return dict(SIZES, architectures=["SmolLM3ForCausalLM"], model_type="smollm3", num_hidden_layers=3,
                hidden_act="silu", rms_norm_eps=1e-6, tie_word_embeddings=True, attention_bias=False, mlp_bias=False,
                rope_parameters={"rope_theta": 2000000.0, "rope_type": "default"}, use_sliding_window=False,
                sliding_window=None, no_rope_layers=[1, 1, 0], no_rope_layer_interval=4,
                layer_types=["full_attention"] * 3, **NO_SPECIAL_TOKENS)


# name -> (config, seed, std of the q/k projections, std of the embedding[, std of the untied head, else 0.1])
FIXTURES = {
    "gemma": (gemma_config, 21, 0.1, 0.1),
    "gemma2": (gemma2_config, 22, 0.15, 0.2),  # large enough that both softcaps bend the values
    "gemma3_text": (gemma3_text_config, 23, 0.1, 0.1),
    "phi3": (phi3_config, 24, 0.1, 0.1),
    "phi3_longrope": (phi3_longrope_config, 25, 0.1, 0.1),
    "mistral_sliding": (mistral_sliding_config, 26, 0.1, 0.1),
    "qwen2_sliding": (qwen2_sliding_config, 27, 0.1, 0.1),
    # seeds picked among 28..87 for the widest routing gaps (check_routing_gap) with a clear greedy margin
    "mixtral": (mixtral_config, 38, 0.1, 0.1),
    "qwen2_moe": (qwen2_moe_config, 62, 0.1, 0.1),
    "qwen3_moe": (qwen3_moe_config, 86, 0.1, 0.1),
    "gpt_oss": (gpt_oss_config, 102, 0.1, 0.1),  # picked among 88..147 likewise
    "olmoe": (olmoe_config, 345, 0.1, 0.1),  # picked among 190..389 likewise
    # seeds picked among 150..189 for varied greedy tokens with a clear margin
    "granite": (granite_config, 157, 0.1, 0.1),
    "olmo2": (olmo2_config, 177, 0.1, 0.1),
    "olmo3": (olmo3_config, 163, 0.1, 0.1),
    "smollm3": (smollm3_config, 154, 0.1, 0.1),
    # q/k std 0.3: attention_multiplier 1/16 (not 1/4) leaves std-0.1 scores so flat that rope barely moves the
    # outputs; seeds picked among 400..519 for varied greedy tokens with the clearest margin, and greedy tokens
    # that change when rope is switched on or off
    "granite4": (granite4_config, 407, 0.3, 0.1),
    "granite4_nope": (granite4_nope_config, 405, 0.3, 0.1),
    # q/k std 0.3 likewise, head std 0.5 (as granite4_h_moe: logits_scaling 16 leaves std-0.1 logits near 0.2 and
    # greedy margins near 1e-3); seeds picked among 600..999: every expert chosen in every layer, routing gap above
    # 1e-3 (check_routing_gap), at least 9 different generated tokens, then the clearest greedy margin
    "granitemoe": (granitemoe_config, 955, 0.3, 0.1, 0.5),
    "granitemoeshared": (granitemoeshared_config, 805, 0.3, 0.1, 0.5),
}
# folder -> the module beside this file that writes it: qwen3_5_torch.py (gated DeltaNet + gated attention: the
# text model, then the same as Qwen3_5ForConditionalGeneration; likewise Qwen3.5-MoE, every MLP a sparse block) and
# granite4_hybrid_torch.py (Granite 4.0 H: Mamba-2 + attention layers, dense or with experts)
HYBRID_FIXTURES = {"qwen3_5": "qwen3_5_torch", "qwen3_5_vl": "qwen3_5_torch", "qwen3_5_moe": "qwen3_5_torch",
                   "qwen3_5_moe_vl": "qwen3_5_torch", "granite4_h": "granite4_hybrid_torch",
                   "granite4_h_moe": "granite4_hybrid_torch"}


def random_weights(config, seed, qk_std, embed_std, head_std=0.1):
    """Hugging Face tensor names, N(0, 0.1) matrices; norm weights random so (1 + w) and w differ visibly."""
    g = torch.Generator().manual_seed(seed)
    gemma = config["model_type"] in GEMMA_FAMILIES

    def normal(std, *shape):
        return torch.randn(*shape, generator=g) * std

    def norm_weight(size):
        return normal(0.2, size) if gemma else 1.0 + normal(0.1, size)

    hidden, inter = config["hidden_size"], config["intermediate_size"]
    head_dim = head_dim_of(config)
    q_size, kv_size = config["num_attention_heads"] * head_dim, config["num_key_value_heads"] * head_dim
    w = {"model.embed_tokens.weight": normal(embed_std, config["vocab_size"], hidden)}
    for i in range(config["num_hidden_layers"]):
        a, m, p = f"model.layers.{i}.self_attn.", f"model.layers.{i}.mlp.", f"model.layers.{i}."
        granite_mlp = config["model_type"] in GRANITE_MOE_FAMILIES  # shared_mlp and/or block_sparse_moe
        dense = not is_sparse_layer(config, i) and not granite_mlp
        norms = ["input_layernorm", "post_attention_layernorm"]
        if config["model_type"] in ("gemma2", "gemma3_text"):
            norms += ["pre_feedforward_layernorm", "post_feedforward_layernorm"]
        if config["model_type"] in OLMO_FAMILIES:
            norms = ["post_attention_layernorm", "post_feedforward_layernorm"]
        for name in norms:
            w[p + name + ".weight"] = norm_weight(hidden)
        q, k, v = normal(qk_std, q_size, hidden), normal(qk_std, kv_size, hidden), normal(0.1, kv_size, hidden)
        if config["model_type"] == "phi3":
            w[a + "qkv_proj.weight"] = torch.cat((q, k, v))
            w[m + "gate_up_proj.weight"] = normal(0.1, 2 * inter, hidden)
        else:
            w[a + "q_proj.weight"], w[a + "k_proj.weight"], w[a + "v_proj.weight"] = q, k, v
            if dense:
                w[m + "gate_proj.weight"] = normal(0.1, inter, hidden)
                w[m + "up_proj.weight"] = normal(0.1, inter, hidden)
        if config["model_type"] == "qwen2" or config.get("qkv_bias") or config.get("attention_bias"):
            for name, size in (("q_proj", q_size), ("k_proj", kv_size), ("v_proj", kv_size)):
                w[a + name + ".bias"] = normal(0.1, size)
        if config["model_type"] in ("gemma3_text", "qwen3_moe"):
            w[a + "q_norm.weight"], w[a + "k_norm.weight"] = norm_weight(head_dim), norm_weight(head_dim)
        if config["model_type"] in PROJECTION_QK_NORM_FAMILIES:  # across the whole projection, each head its own
            w[a + "q_norm.weight"], w[a + "k_norm.weight"] = norm_weight(q_size), norm_weight(kv_size)
        w[a + "o_proj.weight"] = normal(0.1, hidden, q_size)
        if config.get("attention_bias"):
            w[a + "o_proj.bias"] = normal(0.1, hidden)
        if config["model_type"] == "gpt_oss":
            w[a + "sinks"] = normal(1.0, config["num_attention_heads"])  # comparable with the scores: they bite
            w.update(gpt_oss_experts(config, i, g, normal))
        elif granite_mlp:
            experts, shared = granite_mlp_parts(config)
            if shared:  # input_linear's rows: gate | up
                width = config["shared_intermediate_size"]
                w[p + "shared_mlp.input_linear.weight"] = normal(0.1, 2 * width, hidden)
                w[p + "shared_mlp.output_linear.weight"] = normal(0.1, hidden, width)
            if experts:
                w.update(granite_expert_weights(config, i, normal))
        elif dense:
            w[m + "down_proj.weight"] = normal(0.1, hidden, inter)
        else:
            w.update(expert_weights(config, i, normal))
    w["model.norm.weight"] = norm_weight(hidden)
    if not config["tie_word_embeddings"]:
        w["lm_head.weight"] = normal(head_std, config["vocab_size"], hidden)
    return w


def expert_weights(config, i, normal):
    """One sparse layer: router (E, C), each expert's gate/up (I, C) and down (C, I), qwen2_moe's shared expert."""
    p, hidden = moe_prefix(config, i), config["hidden_size"]
    width = config.get("moe_intermediate_size") or config["intermediate_size"]  # Mixtral's experts: intermediate
    gate, up, down = EXPERT_PROJECTIONS[config["model_type"]]
    w = {p + "gate.weight": normal(0.1, num_experts_of(config), hidden)}
    for e in range(num_experts_of(config)):
        q = f"{p}experts.{e}."
        w[q + gate + ".weight"], w[q + up + ".weight"] = normal(0.1, width, hidden), normal(0.1, width, hidden)
        w[q + down + ".weight"] = normal(0.1, hidden, width)
    if config.get("shared_expert_intermediate_size"):
        shared = config["shared_expert_intermediate_size"]
        for name, shape in (("gate_proj", (shared, hidden)), ("up_proj", (shared, hidden)),
                            ("down_proj", (hidden, shared))):
            w[f"{p}shared_expert.{name}.weight"] = normal(0.1, *shape)
        w[p + "shared_expert_gate.weight"] = normal(0.1, 1, hidden)
    return w


# gpt_oss's MXFP4 block exponents (scale - 127), drawn from low..high-1: gate_up large enough that both clamps (at 7)
# cut a fair share of values, down small enough that the experts' outputs stay comparable with the residual stream
GATE_UP_EXPONENTS, DOWN_EXPONENTS = (-3, 0), (-8, -6)


def gpt_oss_experts(config, i, g, normal):
    """One gpt_oss layer's router and experts, the experts as openai/gpt-oss-20b stores them: MXFP4 blocks and
    scales (random codes and exponents) plus float biases. dequantize_experts turns them into the float model."""
    p, hidden, inter = f"model.layers.{i}.mlp.", config["hidden_size"], config["intermediate_size"]
    experts = config["num_local_experts"]
    w = {p + "router.weight": normal(0.1, experts, hidden), p + "router.bias": normal(0.3, experts)}
    for name, rows, columns, (low, high) in (("gate_up_proj", 2 * inter, hidden, GATE_UP_EXPONENTS),
                                              ("down_proj", hidden, inter, DOWN_EXPONENTS)):
        w[f"{p}experts.{name}_blocks"] = torch.randint(0, 256, (experts, rows, columns // 32, 16), generator=g,
                                                       dtype=torch.uint8)
        w[f"{p}experts.{name}_scales"] = (127 + torch.randint(low, high, (experts, rows, columns // 32),
                                                              generator=g)).to(torch.uint8)
        w[f"{p}experts.{name}_bias"] = normal(0.5, experts, rows)
    return w


def gradient_names(config):
    """The weights whose gradients a mixture-of-experts reference holds; the first are layer 0's router's."""
    p = moe_prefix(config, 0)
    if config["model_type"] == "gpt_oss":
        return router_names(config, 0) + [
            p + "experts." + name for name in ("gate_up_proj", "gate_up_proj_bias", "down_proj", "down_proj_bias")
        ] + ["model.layers.0.self_attn." + name for name in ("sinks", "q_proj.weight", "o_proj.bias")] + [
            "model.layers.1.self_attn.sinks", "model.norm.weight"]
    if config["model_type"] == "qwen3_5_moe_text":  # layer 0 mixes tokens with the gated DeltaNet
        mixer = ["model.layers.0.linear_attn.in_proj_qkv.weight", "model.layers.0.linear_attn.A_log"]
    else:
        mixer = ["model.layers.0.self_attn.q_proj.weight"]
    names = [p + "gate.weight", f"{p}experts.1.{EXPERT_PROJECTIONS[config['model_type']][2]}.weight",
             *mixer, "model.norm.weight"]
    if config["model_type"] == "olmoe":  # the expert's gate and up rows too, and the whole-projection q/k norms
        names += [f"{p}experts.1.{projection}.weight" for projection in EXPERT_PROJECTIONS["olmoe"][:2]]
        names += ["model.layers.0.self_attn.q_norm.weight", "model.layers.0.self_attn.k_norm.weight"]
    if config.get("shared_expert_intermediate_size"):
        names += [p + "shared_expert_gate.weight", p + "shared_expert.up_proj.weight"]
    return names


MOE0 = "model.layers.0.block_sparse_moe."
# layer 0's router and experts as stored (the hub's names): Granite's mixtures' references hold their gradients
GRANITE_MOE_GRADIENT_NAMES = [MOE0 + n for n in ("router.layer.weight", "input_linear.weight", "output_linear.weight")]


def granite_gradient_names(model):
    """What a granitemoe / granitemoeshared reference differentiates: layer 0's router, experts, query projection
    and shared MLP, and the final norm."""
    shared = ["model.layers.0.shared_mlp.input_linear.weight"] if model.granite_shared_mlp else []
    return GRANITE_MOE_GRADIENT_NAMES + ["model.layers.0.self_attn.q_proj.weight"] + shared + ["model.norm.weight"]


def loss_gradients(model, ids, names):
    """The logits of ids and d hf_loss(logits, ids) / d each named weight; the model's class is built again around
    the differentiable weights."""
    leaves = {name: model.w[name].clone().requires_grad_(True) for name in names}
    with torch.enable_grad():
        differentiable = type(model)(model.c, dict(model.w, **leaves))
        logits = differentiable.forward(ids)
        grads = torch.autograd.grad(hf_loss(logits, ids), [leaves[name] for name in names])
    return logits.detach(), dict(zip(names, grads))


def moe_outputs(model, ids, mask):
    """aux_loss of the masked batch; d loss / d weight for the unmasked batch (plain next-token cross-entropy, no
    aux term); d aux_loss / d the router weights of layer 0 (the first names). model is a CausalLM or another
    SparseMoe model class (qwen3_5_torch.Qwen35LM), built again around the differentiable weights."""
    names = gradient_names(model.c)
    routers = router_names(model.c, 0)
    leaves = {name: model.w[name].clone().requires_grad_(True) for name in names}
    with torch.enable_grad():
        differentiable = type(model)(model.c, dict(model.w, **leaves))
        loss = hf_loss(differentiable.forward(ids), ids)
        grads = torch.autograd.grad(loss, [leaves[name] for name in names], allow_unused=True)
        if any(grad is None for grad in grads):  # an expert no token chose: its gradient would be no test
            sys.exit(f"{model.family}: no token of the batch routes to expert 1 of layer 0; change the seed")
        differentiable.forward(ids, attention_mask=mask)
        aux = load_balancing_loss(differentiable.router_logits, num_experts_of(model.c), model.top_k, mask)
        aux_grads = torch.autograd.grad(aux, [leaves[name] for name in routers])
    model.smallest_routing_gap = min(model.smallest_routing_gap, differentiable.smallest_routing_gap)
    out = {"aux_loss": aux.detach().reshape(1)}
    out.update({f"aux_grad.{name}": grad for name, grad in zip(routers, aux_grads)})
    out.update({f"grad.{name}": grad for name, grad in zip(names, grads)})
    return out


def reference_for(model, seed):
    g = torch.Generator().manual_seed(seed + 1)
    ids = torch.randint(0, model.c["vocab_size"], (2, 16), generator=g)
    mask = torch.ones_like(ids)
    mask[1, -4:] = 0
    ref = {"input_ids": ids, "attention_mask": mask, "greedy_prompt": ids[:1, :6].clone(),
           "greedy_output": torch.zeros(1, 16, dtype=torch.int64)}
    if model.c["rope_parameters"].get("rope_type") == "longrope":
        ref["logits_short"] = torch.zeros(2, 6, model.c["vocab_size"])
    ref.update(outputs_for(model, ref))
    if model.family in MOE_FAMILIES:
        ref.update(moe_outputs(model, ids, mask))
    if model.granite_experts:
        _, grads = loss_gradients(model, ids, granite_gradient_names(model))
        ref.update({f"grad.{name}": grad for name, grad in grads.items()})
    return ref


def bites(name, model, ref):
    """Each special feature changes the outputs of this fixture; prints the evidence, fails if one does not."""
    ids = ref["input_ids"]
    evidence = {}
    if "sliding_attention" in model.layer_types:
        unbounded = CausalLM(dict(model.c, sliding_window=1 << 20), model.w)
        evidence["sliding window"] = relative_error(unbounded.forward(ids), ref["logits"])
    if model.attn_softcap is not None:
        model.forward(ids)
        # tanh(x) bends visibly once |x| reaches the cap: ratio > 1 means the attention softcap saturates
        evidence["attention softcap max|score|/cap"] = model.attn_softcap_ratio
    if model.final_softcap is not None:
        evidence["final softcap max|logit|/cap"] = model.final_softcap_ratio
    if model.family in MOE_FAMILIES:
        evidence.update(moe_bites(model, ref))
    evidence.update(family_rule_bites(model, ref))
    if "logits_short" in ref:
        params = model.c["rope_parameters"]
        short = CausalLM(dict(model.c, rope_parameters=dict(params, long_factor=params["short_factor"])), model.w)
        evidence["long factors used at 16 tokens"] = relative_error(short.forward(ids), ref["logits"])
        long = CausalLM(dict(model.c, rope_parameters=dict(params, short_factor=params["long_factor"])), model.w)
        evidence["short factors used at 6 tokens"] = relative_error(long.forward(ids[:, :6]), ref["logits_short"])
        for switch in CausalLM.LONGROPE_SWITCHES[1:]:
            other = model.greedy(ref["greedy_prompt"], 10, longrope_switch=switch)
            print(f"  {name}: greedy_output if generate's longrope switch were {switch!r}: {other.tolist()} "
                  f"({'same as' if torch.equal(other, ref['greedy_output']) else 'differs from'} 'recompute')")
    # greedy tokens must not hinge on rounding: the winner leads the runner-up clearly at every step
    recomputed = model.forward(ref["greedy_output"])[0, 5:-1]
    top2 = recomputed.topk(2, dim=-1).values
    evidence["smallest greedy margin"] = (top2[:, 0] - top2[:, 1]).min().item()
    # without longrope's switch, one uncached forward must pick the tokens the cached decoding picked
    if "logits_short" not in ref and not torch.equal(recomputed.argmax(-1), ref["greedy_output"][0, 6:]):
        sys.exit(f"{name}: cached greedy decoding disagrees with an uncached forward")
    for what, value in evidence.items():
        print(f"  {name}: {what}: {value:.3f}")
        if value < (1.0 if "softcap" in what else 1e-3):
            sys.exit(f"{name}: {what} does not bite ({value})")


GRANITE_SCALARS = ("embedding_multiplier", "residual_multiplier", "attention_multiplier", "logits_scaling")


def family_rule_bites(model, ref):
    """How far the logits move when one of Granite's, OLMo's, OLMoE's or SmolLM3's rules is changed."""
    ids, logits, evidence, variant_of = ref["input_ids"], ref["logits"], {}, type(model)

    def moved(config=model.c, weights=model.w, **attributes):
        variant = variant_of(config, weights)
        vars(variant).update(attributes)
        return relative_error(variant.forward(ids), logits)

    if model.family in GRANITE_FAMILIES:
        for scalar in GRANITE_SCALARS:
            evidence[f"{scalar} 1, not {model.c[scalar]}"] = moved(dict(model.c, **{scalar: 1.0}))
    if model.family == "granitemoehybrid":
        other = None if model.c["position_embedding_type"] == "rope" else "rope"
        evidence[f"position_embedding_type {other}"] = moved(dict(model.c, position_embedding_type=other))
    elif model.family in GRANITE_MOE_FAMILIES:  # GraniteMoeAttention always rotates
        evidence["rotary dropped"] = moved(rotated=[0] * model.c["num_hidden_layers"])
    if model.family in GRANITE_MOE_FAMILIES:
        evidence.update(granite_mlp_bites(model, moved))
    if model.olmo:
        evidence["post-sublayer norms dropped"] = moved(post_norms=False)
    if model.projection_qk_norm:
        evidence["q/k norm per head, not across heads"] = moved(qk_norm_across_heads=False)
    if model.family == "olmo3":  # one rope for every layer: what Olmo3Model did before its per-layer-type tables
        for kind in LAYER_TYPES:
            same = {t: model.c["rope_parameters"][kind] for t in LAYER_TYPES}
            evidence[f"{kind}'s rope on every layer"] = moved(dict(model.c, rope_parameters=same))
    if model.family == "smollm3":
        rotated = [1] * model.c["num_hidden_layers"]
        evidence["NoPE layer rotated like the others"] = moved(dict(model.c, no_rope_layers=rotated))
    return evidence


def halves_swapped(weights, suffix, dim):
    """weights with the two halves along dim swapped in every tensor whose name ends with suffix."""
    return {n: torch.cat(t.chunk(2, dim)[::-1], dim) if n.endswith(suffix) else t for n, t in weights.items()}


def granite_mlp_bites(model, moved):
    """Granite's MLP rules, each changed in turn; moved(weights=..., **attributes) is how far the logits go."""
    evidence, k = {}, model.top_k
    if model.granite_shared_mlp:
        evidence["shared_mlp's up half as the gate"] = moved(
            weights=halves_swapped(model.w, "shared_mlp.input_linear.weight", 0))
    if model.granite_experts:
        evidence["experts' up halves as the gates"] = moved(
            weights=halves_swapped(model.w, "block_sparse_moe.input_linear.weight", 1))
        evidence["router: full-softmax probabilities, not softmax of the top-k"] = moved(renormalize=False)
        evidence[f"{k + 1} experts per token, not {k}"] = moved(top_k=k + 1)
        alone = " (shared MLP alone)" if model.granite_shared_mlp else ""
        evidence["experts dropped" + alone] = moved(granite_experts=0)
        if model.granite_shared_mlp:
            evidence["shared MLP dropped (experts alone)"] = moved(granite_shared_mlp=False)
    return evidence


def print_routing(name, model, ids):
    """How many top-k choices each expert gets per layer over ids (model's router_logits, one [N, E] per layer);
    fails when an expert gets none or when a choice hinges on rounding (check_routing_gap)."""
    model.forward(ids)
    for i, logits in enumerate(model.router_logits):
        counts = torch.bincount(logits.topk(model.top_k, dim=-1).indices.reshape(-1), minlength=logits.shape[-1])
        print(f"  {name}: layer {i} expert choices over input_ids: {counts.tolist()}")
        if (counts == 0).any():
            sys.exit(f"{name}: an expert of layer {i} gets no token; change the seed")
    check_routing_gap(name, model)


def moe_bites(model, ref):
    """How far the logits (or aux_loss) move when one routing rule is changed (model: a CausalLM or another
    SparseMoe model class)."""
    ids, logits, evidence, variant_of = ref["input_ids"], ref["logits"], {}, type(model)
    model.forward(ids, attention_mask=ref["attention_mask"])
    padding_counted = load_balancing_loss(model.router_logits, num_experts_of(model.c), model.top_k)
    evidence["aux_loss counting the padding"] = relative_error(padding_counted, ref["aux_loss"])
    flipped = variant_of(model.c, model.w)
    flipped.renormalize = not model.renormalize
    evidence[f"top-k {'not ' if model.renormalize else ''}renormalised"] = relative_error(flipped.forward(ids), logits)
    wider = variant_of(dict(model.c, num_experts_per_tok=model.top_k + 1), model.w)
    evidence[f"{model.top_k + 1} experts per token, not {model.top_k}"] = relative_error(wider.forward(ids), logits)
    if any(".shared_expert" in name for name in model.w):
        unshared = {name: t for name, t in model.w.items() if ".shared_expert" not in name}
        evidence["without the shared expert"] = relative_error(variant_of(model.c, unshared).forward(ids), logits)
        ungated = variant_of(model.c, model.w)
        ungated.shared_expert_gated = False
        evidence["shared expert without its sigmoid gate"] = relative_error(ungated.forward(ids), logits)
    for i in model.c.get("mlp_only_layers", []):
        # layer i routed instead of dense, with layer 0's router and experts standing in for weights it lacks
        first, here = moe_prefix(model.c, 0), moe_prefix(model.c, i)
        borrowed = dict(model.w, **{here + n[len(first):]: t for n, t in model.w.items() if n.startswith(first)})
        sparse = variant_of(dict(model.c, mlp_only_layers=[]), borrowed)
        evidence[f"layer {i} sparse (layer 0's experts) instead of dense"] = relative_error(sparse.forward(ids), logits)
    if model.family == "gpt_oss":
        evidence.update(gpt_oss_bites(model, ref))
    return evidence


CLAMPED_SHARE = 0.05  # each clamp must cut at least this share of the values it sees


def gpt_oss_bites(model, ref):
    """Attention sinks, yarn's truncate flag, the router bias and each part of the clamped SwiGLU."""
    ids, logits, evidence = ref["input_ids"], ref["logits"], {}
    sinkless = {name: t for name, t in model.w.items() if not name.endswith(".sinks")}  # no sink column at all
    evidence["without attention sinks"] = relative_error(CausalLM(model.c, sinkless).forward(ids), logits)
    params = model.c["rope_parameters"]
    truncated = CausalLM(dict(model.c, rope_parameters=dict(params, truncate=True)), model.w)
    evidence["yarn truncate: true"] = relative_error(truncated.forward(ids), logits)
    unbiased = dict(model.w, **{n: torch.zeros_like(t) for n, t in model.w.items() if n.endswith("router.bias")})
    evidence["router bias zeroed"] = relative_error(CausalLM(model.c, unbiased).forward(ids), logits)
    for what, change in (("no clamp on gate", {"gate_limit": math.inf}), ("no clamp on up", {"up_limit": math.inf}),
                         ("gate/up as halves, not interleaved", {"interleaved": False}),
                         ("up without + 1", {"up_offset": 0.0})):
        variant = CausalLM(model.c, model.w)
        vars(variant).update(change)
        evidence[what] = relative_error(variant.forward(ids), logits)
    model.clamp_counts.zero_()
    model.forward(ids)
    seen, gates, ups = model.clamp_counts.tolist()
    print(f"  {model.family}: clamped at {SWIGLU_LIMIT}: {gates / seen:.1%} of gates, {ups / seen:.1%} of ups "
          f"({int(seen)} each, unmasked batch)")
    if min(gates, ups) / seen < CLAMPED_SHARE:
        sys.exit(f"{model.family}: a SwiGLU clamp cuts under {CLAMPED_SHARE:.0%} of its values; "
                 "raise GATE_UP_EXPONENTS")
    return evidence


ROUTING_GAP = 1e-3


def check_routing_gap(name, model):
    """Every token's k-th router probability leads its (k+1)-th clearly, so rounding cannot change an expert."""
    gap = model.smallest_routing_gap
    print(f"  {name}: smallest routing gap (k-th minus (k+1)-th router probability, every forward): {gap:.2e}")
    if gap < ROUTING_GAP:
        sys.exit(f"{name}: a token's expert choice hinges on rounding (gap {gap:.2e} < {ROUTING_GAP}); change the seed")


# Fixtures whose weights stay float32 draws, stored as float32: rounded to bfloat16, gpt_oss's smallest routing gap
# falls to 9.98e-4, under ROUTING_GAP (a token's experts would hinge on rounding), and its seed is part of the fixture
FLOAT32_FIXTURES = ("gpt_oss",)


def bf16_values(weights):
    """The floating tensors rounded to bfloat16 and widened back to float32, the others as they are: the fixtures'
    weights are drawn, then rounded, so that model.safetensors stores them in bfloat16 (half the bytes) while the
    references are still computed in float32 from exactly the stored values."""
    return {n: t.bfloat16().float() if t.is_floating_point() else t for n, t in weights.items()}


def write_model_folder(folder, config, weights, dtype=torch.bfloat16):
    """config.json as save_pretrained writes it (config's dtype stays float32: the forward of the references) and
    model.safetensors with every floating tensor stored in dtype; bfloat16 needs the weights to be bf16_values."""
    stored = {n: t.to(dtype) if t.is_floating_point() else t for n, t in weights.items()}
    for n, t in weights.items():
        if t.is_floating_point() and not torch.equal(stored[n].float(), t):  # NOTE: else the file is another model
            sys.exit(f"{folder}: weight {n} is not a bfloat16 value; round the weights with bf16_values first")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(json.dumps(config, indent=2, sort_keys=True) + "\n")
    write_safetensors(os.path.join(folder, "model.safetensors"), stored)


def write_mxfp4_twin(name, config, packed, ref, dtype):
    """NAME_mxfp4: NAME's model with its experts still packed, as openai/gpt-oss-20b is published; loading it
    (dequantize_experts) must give NAME's logits exactly."""
    folder = os.path.join(RESOURCES, "references", name + "_mxfp4")
    # config's dtype stays float32 (the hub's file names none); the unquantized tensors are stored as NAME's are
    write_model_folder(folder, dict(config, quantization_config=GPT_OSS_MXFP4), packed, dtype)
    twin = load_folder(folder)
    # transformers dequantizes into bfloat16 by default: harmless, as every MXFP4 value is exact there
    for weight in (t for n, t in twin.w.items() if n.endswith(("gate_up_proj", "down_proj"))):
        if not torch.equal(weight.to(torch.bfloat16).float(), weight):
            sys.exit(f"{name}_mxfp4: a dequantized expert weight is not exact in bfloat16")
    if not torch.equal(twin.forward(ref["input_ids"]), ref["logits"]):
        sys.exit(f"{name}_mxfp4 does not load to {name}'s logits")
    print(f"wrote {name}_mxfp4: loads to {name}'s logits exactly")


def write_fixtures(check_error, names):
    for module in sorted(set(HYBRID_FIXTURES.values())):  # hybrid layers live in their own files, which import this
        hybrid = [name for name in names if HYBRID_FIXTURES.get(name) == module]
        if hybrid:
            importlib.import_module(module).write(hybrid, lambda name: os.path.join(RESOURCES, "references", name))
    for name in (name for name in names if name not in HYBRID_FIXTURES):
        make_config, seed, *stds = FIXTURES[name]
        config = make_config()
        packed = random_weights(config, seed, *stds)
        dtype = torch.float32 if name in FLOAT32_FIXTURES else torch.bfloat16
        if dtype == torch.bfloat16:
            packed = bf16_values(packed)
        weights = dequantize_experts(packed)
        model = CausalLM(config, weights)
        ref = reference_for(model, seed)
        write_model_folder(os.path.join(RESOURCES, "references", name), config, weights, dtype)
        write_safetensors(os.path.join(RESOURCES, "references", name, "reference.safetensors"), ref)
        print(f"wrote {name}: loss {ref['loss'].item():.4f}, max|logit| {ref['logits'].abs().max().item():.3f}, "
              f"greedy {ref['greedy_output'].tolist()}")
        if model.family in MOE_FAMILIES:
            print(f"  {name}: aux_loss {ref['aux_loss'].item():.6f}")
            check_routing_gap(name, model)
        if model.granite_experts:
            print_routing(name, model, ref["input_ids"])
        bites(name, CausalLM(config, weights), ref)
        if any(n.endswith(MXFP4_PACKED) for n in packed):
            write_mxfp4_twin(name, config, packed, ref, dtype)
    versions = {"torch": torch.__version__, "producer": "tools/reference/families_torch.py",
                "outputs_from": "a plain-PyTorch re-implementation, not transformers itself",
                "checked_against": {"folders": TRANSFORMERS_MADE, "made_by": "transformers 5.17.0",
                                    "worst_relative_error": float(f"{check_error:.3e}")},
                "follows_transformers_source": TRANSFORMERS_SOURCE}
    with open(os.path.join(RESOURCES, "references", "families_versions.json"), "w") as f:
        f.write(json.dumps(versions, indent=1) + "\n")

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the transformers-made folders")
    parser.add_argument("--write", action="store_true", help="check, then write the fixture folders")
    parser.add_argument("--only", nargs="+", choices=sorted(FIXTURES) + list(HYBRID_FIXTURES),
                        default=list(FIXTURES) + list(HYBRID_FIXTURES), metavar="NAME",
                        help="with --write: only these folders (another CPU's float32 kernels may change the last "
                             "bits of the others)")
    args = parser.parse_args()
    if not (args.check or args.write):
        parser.error("give --check or --write")
    torch.set_num_threads(1)  # deterministic reductions
    check_error = check_transformers_made()
    if check_error > CHECK_TOLERANCE:
        sys.exit("the re-implementation does not reproduce transformers' outputs; no fixture written")
    if args.write:
        with torch.no_grad():
            write_fixtures(check_error, args.only)


if __name__ == "__main__":
    main()
