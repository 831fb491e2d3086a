"""Recomputes fixture folders with real transformers and reports how far each stored tensor is from it.

    python3 tools/reference/verify_with_transformers.py FOLDER [FOLDER...]

For a machine where torch and transformers 5.x are installed (no GPU and no network needed). Each FOLDER holds
config.json, model.safetensors and reference.safetensors, e.g. the ones tools/reference/families_torch.py
writes under core/src/test/resources/references/. The model is loaded with
AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager", local_files_only=True) in float32 on
the CPU; logits, logits_masked, loss, logits_short (where stored) and greedy_output are recomputed exactly as the
fixtures were defined. Prints one line per folder and tensor (largest |difference| over largest |stored value|,
or whether the greedy tokens are identical) and ends with `verified N of M`; exits 1 when any check fails
(relative error above 1e-4, different tokens, or a folder that does not load).

Each grad.NAME a reference holds is recomputed as the gradient of the plain loss above, each grad_long.NAME as that
of the loss of long_input_ids (labels = the same ids), whose logits are long_logits (references/qwen3_5). A
mixture-of-experts folder (its reference holds `aux_loss`) also gets aux_loss (the model's router load-balancing
loss for input_ids with attention_mask, output_router_logits=True) and each aux_grad.NAME (the gradient of aux_loss)
recomputed; there NAME is the hub's per-expert name, which transformers 5 loads into fused expert tensors, so an
expert's slice of that tensor is compared. Qwen3-VL-MoE's hub (references/qwen3_vl_moe) stores its experts fused,
mlp.experts.gate_up_proj (E, hidden, 2I) and mlp.experts.down_proj (E, I, hidden), which transformers 5 loads
transposed (1, 2) (conversion_mapping's "qwen3_vl_moe"): their gradients are compared in the hub's orientation.

A folder whose reference holds `left_attention_mask` (references/granite4_h, granite4_h_moe, lfm2, lfm2_moe,
glm4_moe, ernie4_5_moe, deepseek_v3, deepseek_v3_lite) also gets logits_left_padded: the logits for input_ids with
that mask (its row 1 padded on the left). The Granite mixtures' checkpoints (granite4_h_moe, and Granite 3's
granitemoe and granitemoeshared) keep the published expert names (block_sparse_moe.input_linear / output_linear /
router.layer), which transformers 5 loads into block_sparse_moe.experts.gate_up_proj / experts.down_proj / router
(conversion_mapping's "granitemoe" renamings): their grad.NAME are those parameters' gradients. LFM2-MoE's
(lfm2_moe) keeps one tensor per expert (feed_forward.experts.N.w1 / w3 / w2), fused on load as Mixtral's, and
GLM-4.5's, ERNIE-4.5-MoE's and DeepSeek-V3's (glm4_moe, ernie4_5_moe, deepseek_v3, deepseek_v3_lite) likewise
(mlp.experts.N.gate_proj / up_proj / down_proj). Their references hold no aux_loss (transformers 5.17 computes none
for the first ones; ERNIE's only with output_router_logits, off by default). The folders of STRICT_LOAD must load
without a missing, unexpected or mismatched key (checked as one more line): their tensor names are under test too.
Only tensors of layers at index num_hidden_layers and beyond may be left unloaded there (references/glm4_moe stores
two of GLM-4.5's multi-token-prediction layer, model.layers.4.*, which transformers reports as unexpected: its
ignore patterns name the published models' layer 46 and 92 only; deepseek_v3 and deepseek_v3_lite one each, at
model.layers.4 and model.layers.2, where DeepSeek-V3's pattern names layer 61 only).

A folder whose config.json names a ...ForConditionalGeneration class (references/qwen3_5_vl, qwen3_5_moe_vl) is
loaded with AutoModelForImageTextToText. It has no reference of its own: TWINS names the folder beside it whose
reference it must reproduce (its language model is that folder's model); its text-only outputs are recomputed, not
gradients nor aux_loss (the parameter names differ). It stores no weights either: they are that folder's, renamed as
qwen3_5_torch.conditional_generation_weights names them, written into a temporary copy here.

A folder whose reference holds `labels` (references/qwen2_cls from classifier_torch.py) is a sequence classifier:
it is loaded with AutoModelForSequenceClassification and its pooled logits and loss (input_ids with
attention_mask, the stored labels) are recomputed.
"""
import json
import os
import re
import shutil
import sys
import tempfile
import traceback

import torch
import transformers
from safetensors.torch import load_file

TOLERANCE = 1e-4
# folder -> the sibling folder whose reference.safetensors it must reproduce
TWINS = {"qwen3_5_vl": "qwen3_5", "qwen3_5_moe_vl": "qwen3_5_moe"}
# folders whose model.safetensors must load with no missing, unexpected or mismatched key
STRICT_LOAD = ("granite4_h", "granite4_h_moe", "granitemoe", "granitemoeshared", "lfm2", "lfm2_moe", "glm4_moe",
               "ernie4_5_moe", "deepseek_v3", "deepseek_v3_lite", "qwen3_next", "deepseek_v2_lite", "deepseek_v2",
               "qwen3_vl_moe")
# model types whose hub stores the fused experts transposed (1, 2) from transformers' parameters
TRANSPOSED_EXPERTS = {"qwen3_vl_moe": (".mlp.experts.gate_up_proj", ".mlp.experts.down_proj")}


def twin_folder(folder, text_folder):
    """A temporary copy of a vision-language twin: its config.json beside its text folder's weights renamed as the
    ...ForConditionalGeneration checkpoint holds them, with the vision tower's and mtp tensors (zeros) it carries."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import qwen3_5_torch as q
    from safetensors.torch import save_file
    out = tempfile.mkdtemp()
    shutil.copy(os.path.join(folder, "config.json"), out)
    config = json.load(open(os.path.join(folder, "config.json")))["text_config"]
    weights = {(q.LANGUAGE_MODEL + n[len("model."):] if n.startswith("model.") else n): t
               for n, t in load_file(os.path.join(text_folder, "model.safetensors")).items()}
    moe = "moe" in config["model_type"]
    extra = dict(q.VISUAL_AND_MTP_SHAPES, **(q.MOE_MTP_SHAPES if moe else {}))
    weights.update({n: torch.zeros(*shape) for n, shape in extra.items()})
    save_file(weights, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    return out


def after_the_last_layer(key, layers):
    """A tensor of a layer at index num_hidden_layers or beyond (model.layers.N.*, N >= layers): the published
    GLM-4.5 and DeepSeek-V3 checkpoints' multi-token-prediction layer, which transformers does not load."""
    layer = re.match(r"model\.layers\.(\d+)\.", key)
    return layer is not None and int(layer[1]) >= layers


def recompute(model, ref):
    ids, mask = ref["input_ids"], ref["attention_mask"]
    out = {}
    with torch.no_grad():
        out["logits"] = model(input_ids=ids).logits
        out["logits_masked"] = model(input_ids=ids, attention_mask=mask).logits
        out["loss"] = model(input_ids=ids, labels=ids).loss.reshape(1)
        if "left_attention_mask" in ref:
            out["logits_left_padded"] = model(input_ids=ids, attention_mask=ref["left_attention_mask"]).logits
        if "logits_short" in ref:
            out["logits_short"] = model(input_ids=ids[:, :ref["logits_short"].shape[1]]).logits
        if "long_input_ids" in ref:
            out["long_logits"] = model(input_ids=ref["long_input_ids"]).logits
        if "greedy_prompt" in ref:
            prompt = ref["greedy_prompt"]
            new_tokens = ref["greedy_output"].shape[1] - prompt.shape[1]
            out["greedy_output"] = model.generate(prompt, attention_mask=torch.ones_like(prompt),
                                                  max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                                                  do_sample=False, use_cache=True, pad_token_id=0,
                                                  eos_token_id=None)
    return out


# an expert's hub projection -> (fused parameter, which rows of the expert's slice): conversion_mapping stacks the
# experts and concatenates gate (w1) before up (w3) along the rows of gate_up_proj
EXPERT_SLICES = {"w1": ("gate_up_proj", 0), "gate_proj": ("gate_up_proj", 0), "w3": ("gate_up_proj", 1),
                 "up_proj": ("gate_up_proj", 1), "w2": ("down_proj", None), "down_proj": ("down_proj", None)}
# Granite's hub names of its stacked experts and router -> the parameters transformers 5 loads them into
GRANITE_RENAMES = {"block_sparse_moe.input_linear.weight": "block_sparse_moe.experts.gate_up_proj",
                   "block_sparse_moe.output_linear.weight": "block_sparse_moe.experts.down_proj",
                   "block_sparse_moe.router.layer.weight": "block_sparse_moe.router.weight"}


def fused_gradient(parameters, name):
    """d loss / d a stored (hub) weight: Mixtral's block_sparse_moe is mlp, and each expert's projection is a slice
    of mlp.experts.gate_up_proj (gate rows, then up rows) or mlp.experts.down_proj (LFM2-MoE's feed_forward.experts
    likewise); Granite's stacked expert tensors and router are renamed whole (GRANITE_RENAMES)."""
    for hub, loaded in GRANITE_RENAMES.items():
        if name.endswith(hub):
            return parameters[name[:-len(hub)] + loaded].grad
    name = name.replace(".block_sparse_moe.", ".mlp.")
    expert = re.fullmatch(r"(.*\.(?:mlp|feed_forward)\.experts)\.(\d+)\.(\w+)\.weight", name)
    if not expert:
        return parameters[name].grad
    fused, half = EXPERT_SLICES[expert[3]]
    grad = parameters[f"{expert[1]}.{fused}"].grad[int(expert[2])]
    return grad if half is None else grad.chunk(2, dim=0)[half]


def gradients(model, loss, names):
    parameters = dict(model.named_parameters())
    model.zero_grad()
    loss.backward()
    transposed = TRANSPOSED_EXPERTS.get(model.config.model_type, ())
    return {name: fused_gradient(parameters, name).transpose(1, 2) if name.endswith(transposed) else
            fused_gradient(parameters, name) for name in names}


def recompute_gradients(model, ref):
    """grad.NAME: d loss(input_ids) / d NAME; grad_long.NAME: d loss(long_input_ids) / d NAME."""
    out = {}
    for prefix, ids_key in (("grad.", "input_ids"), ("grad_long.", "long_input_ids")):
        names = [key[len(prefix):] for key in ref if key.startswith(prefix)]
        if names:
            ids = ref[ids_key]
            loss = model(input_ids=ids, labels=ids).loss
            out.update({prefix + n: g for n, g in gradients(model, loss, names).items()})
    return out


def recompute_aux(model, ref):
    ids, mask = ref["input_ids"], ref["attention_mask"]
    aux_names = [key[len("aux_grad."):] for key in ref if key.startswith("aux_grad.")]
    aux = model(input_ids=ids, attention_mask=mask, output_router_logits=True).aux_loss
    out = {f"aux_grad.{n}": g for n, g in gradients(model, aux, aux_names).items()}
    out["aux_loss"] = aux.detach().reshape(1)
    return out


def recompute_classifier(model, ref):
    with torch.no_grad():
        out = model(input_ids=ref["input_ids"], attention_mask=ref["attention_mask"], labels=ref["labels"])
    return {"logits": out.logits, "loss": out.loss.reshape(1)}


def verify(folder):
    """Returns (checks passed, checks made) for one folder, printing a line per check."""
    name = os.path.basename(os.path.normpath(folder))
    try:
        twin = TWINS.get(name)
        ref = load_file(os.path.join(folder, "..", twin, "reference.safetensors") if twin else
                        os.path.join(folder, "reference.safetensors"))
        if twin:
            folder = twin_folder(folder, os.path.join(folder, "..", twin))
        classifier = "labels" in ref
        with open(os.path.join(folder, "config.json")) as f:
            conditional = json.load(f)["architectures"][0].endswith("ForConditionalGeneration")
        auto = (transformers.AutoModelForSequenceClassification if classifier else
                transformers.AutoModelForImageTextToText if conditional else transformers.AutoModelForCausalLM)
        model, loading = auto.from_pretrained(folder, attn_implementation="eager", local_files_only=True,
                                              dtype=torch.float32, output_loading_info=True)
        model = model.to("cpu").eval()
        ours = recompute_classifier(model, ref) if classifier else recompute(model, ref)
        if not classifier and not twin:
            ours.update(recompute_gradients(model, ref))
            if "aux_loss" in ref:
                ours.update(recompute_aux(model, ref))
    except Exception:  # report the folder as failed and go on with the others
        print(f"{name:20s} FAILED to load or run:\n{traceback.format_exc()}", flush=True)
        return 0, 1
    passed = made = 0
    if name in STRICT_LOAD:
        skipped = {key for key in loading["unexpected_keys"]
                   if after_the_last_layer(key, model.config.get_text_config().num_hidden_layers)}
        stray = {kind: set(keys) - skipped for kind, keys in loading.items()
                 if kind in ("missing_keys", "unexpected_keys", "mismatched_keys") and set(keys) - skipped}
        after = f" (not loaded, after the last layer: {sorted(skipped)})" if skipped else ""
        print(f"{name:20s} {'load':14s} {stray or 'every tensor name matched'}{after}", flush=True)
        passed, made = int(not stray), 1
    for key, value in ours.items():
        expected = ref[key]
        if value.dtype == torch.int64:
            ok = value.shape == expected.shape and torch.equal(value, expected)
            detail = "identical" if ok else f"DIFFERENT: transformers {value.tolist()} stored {expected.tolist()}"
        else:
            err = ((value.float() - expected.float()).abs().max() / expected.float().abs().max()).item()
            ok = err <= TOLERANCE
            detail = f"max|diff|/max|stored| = {err:.3e}{'' if ok else '  ABOVE ' + str(TOLERANCE)}"
        print(f"{name:20s} {key:14s} {detail}", flush=True)
        passed += ok
    return passed, made + len(ours)


def main():
    folders = sys.argv[1:]
    if not folders:
        sys.exit(__doc__)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")
    passed = made = 0
    for folder in folders:
        p, m = verify(folder)
        passed, made = passed + p, made + m
    print(f"verified {passed} of {made}")
    sys.exit(0 if passed == made else 1)


if __name__ == "__main__":
    main()
