"""Loads adapters saved by finetune4j into Hugging Face PEFT and compares logits with finetune4j's.

    python3 tools/reference/check_interop.py INTEROP_DIR OUT_JSON [DEVICE]

Run from the repository root. DEVICE is where PEFT runs the models, "cpu" (the default) or "cuda".
INTEROP_DIR holds one folder per case (written by peft's InteropExportTest), each with adapter_config.json +
adapter_model.safetensors (finetune4j's PeftModel.save), case.json ({"base": <base model folder, relative to
the repository root>}) and expected.safetensors (input_ids, attention_mask, and finetune4j's logits without and
with the mask). A base whose config.json names a ...ForConditionalGeneration class (Qwen3-VL, which
AutoModelForCausalLM refuses) is loaded with AutoModelForImageTextToText, as its users load it; one that names a
...ForSequenceClassification class (RoBERTa, DistilBERT) with AutoModelForSequenceClassification, its logits (batch,
labels) compared whole (every row is read at its first token, so padding leaves no position to skip). A case that also
holds merged/ (the model with the adapter merged in, saved by finetune4j) gets that folder loaded with the same Auto
class, strictly (no missing or unexpected key), and its logits compared with finetune4j's adapted ones.
"""
import json
import os
import sys
import warnings

import torch
import transformers
import peft
from safetensors.torch import load_file

root, out = sys.argv[1], sys.argv[2]
device = sys.argv[3] if len(sys.argv) > 3 else "cpu"
results = {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
           "device": device, "cases": {}}


def auto_class(folder):
    architectures = json.load(open(os.path.join(folder, "config.json"))).get("architectures") or []
    if any(a.endswith("ForSequenceClassification") for a in architectures):
        return transformers.AutoModelForSequenceClassification
    conditional = any(a.endswith("ForConditionalGeneration") for a in architectures)
    if conditional:
        return transformers.AutoModelForImageTextToText
    # transformers 5.17 maps mistral4 to no AutoModelForCausalLM (only its pretraining and image-text-to-text
    # mappings name Mistral4ForCausalLM): the class config.json names loads it
    model_type = json.load(open(os.path.join(folder, "config.json"))).get("model_type")
    if model_type not in transformers.models.auto.modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        named = [getattr(transformers, a) for a in architectures if hasattr(transformers, a)]
        if named:
            return named[0]
    return transformers.AutoModelForCausalLM


def merged_logits(folder, ids, device):
    """The logits of the merged model in `folder`, loaded strictly (every tensor of the class, no other)."""
    merged, info = auto_class(folder).from_pretrained(folder, attn_implementation="eager", output_loading_info=True)
    unloaded = {k: v for k, v in info.items() if v}
    if unloaded:
        raise ValueError(f"merged folder {folder} did not load strictly: {unloaded}")
    with torch.no_grad():
        return merged.float().to(device).eval()(input_ids=ids).logits.cpu()


for case in sorted(os.listdir(root)):
    folder = os.path.join(root, case)
    if not os.path.isfile(os.path.join(folder, "adapter_config.json")):
        continue
    spec = json.load(open(os.path.join(folder, "case.json")))
    ours = load_file(os.path.join(folder, "expected.safetensors"))
    try:
        base = auto_class(spec["base"]).from_pretrained(spec["base"], attn_implementation="eager").float()
        with warnings.catch_warnings(record=True) as caught:  # PEFT warns of missing or unexpected adapter keys
            warnings.simplefilter("always")
            model = peft.PeftModel.from_pretrained(base, folder).to(device)
        model.eval()
        ids, mask = ours["input_ids"].to(device), ours["attention_mask"].to(device)
        with torch.no_grad():
            plain = model(input_ids=ids).logits.cpu()
            masked = model(input_ids=ids, attention_mask=mask).logits.cpu()
        # a causal LM's padded positions hold no prediction to compare; a classifier's logits are one row per sequence
        keep = ours["attention_mask"].bool() if plain.dim() == 3 else torch.ones(plain.shape[0], dtype=torch.bool)
        results["cases"][case] = {
            "peft_type": str(model.peft_config["default"].peft_type), "loaded": True,
            "adapter_tensors": len([k for k in model.state_dict() if "lora_" in k or "ia3_" in k]),
            "saved_module_tensors": len([k for k in model.state_dict() if "modules_to_save.default" in k]),
            "max_abs_diff_logits": (plain - ours["logits"]).abs().max().item(),
            "max_abs_diff_logits_masked": (masked - ours["logits_masked"])[keep].abs().max().item(),
            "peft_warnings": [str(w.message)[:300] for w in caught]}
        if os.path.isdir(os.path.join(folder, "merged")):
            results["cases"][case]["max_abs_diff_merged_logits"] = (
                merged_logits(os.path.join(folder, "merged"), ids, device) - ours["logits"]).abs().max().item()
    except Exception as e:  # record the failure and go on with the other cases
        results["cases"][case] = {"loaded": False, "error": repr(e)}
    print(case, results["cases"][case], flush=True)
json.dump(results, open(out, "w"), indent=1)
