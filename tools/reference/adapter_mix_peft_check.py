"""Checks the adapter-mixing golden values (adapter_mix_torch.py) against Python PEFT's own add_weighted_adapter.

    python3 tools/reference/adapter_mix_peft_check.py peft/src/test/resources/hf-tiny/llama OUT_JSON [MIXED_DIR]

Needs torch, transformers, peft and safetensors (the GPU machine's stack; runs on its CPU). Loads hf-tiny/llama with
adapters a (lora), b and c (mix/adapter_b, mix/adapter_c), runs PEFT's add_weighted_adapter for every case of
adapter_mix_torch.py and writes, per type, the largest difference to combined.safetensors (factors, or B A for
the SVD types). Expected: float32 rounding (~1e-7) everywhere except the SVD types on adapters with alpha != r,
where PEFT 0.21 applies each adapter's scaling twice (finetune4j and the golden values once; PEFT PR #3111).

MIXED_DIR (optional): folders written by `finetune4j mix-adapters`, each loaded with PeftModel.from_pretrained;
the script records whether every tensor loaded and the logits on a fixed input.
"""
import json
import os
import sys

import peft
import torch
import transformers
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(__file__))
from adapter_mix_torch import CASES  # noqa: E402  (the case list the golden values were written with)

llama_dir, out = sys.argv[1], sys.argv[2]
mixed_dir = sys.argv[3] if len(sys.argv) > 3 else None
folders = {"a": os.path.join(llama_dir, "lora"), "b": os.path.join(llama_dir, "mix", "adapter_b"),
           "c": os.path.join(llama_dir, "mix", "adapter_c")}
golden = load_file(os.path.join(llama_dir, "mix", "combined.safetensors"))
results = {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
           "types": {}, "loaded": {}}

for kind, names, weights, density, sign_method, svd_rank in CASES:
    base = transformers.AutoModelForCausalLM.from_pretrained(llama_dir, attn_implementation="eager").float()
    model = peft.PeftModel.from_pretrained(base, folders[names[0]], adapter_name=names[0])
    for n in names[1:]:
        model.load_adapter(folders[n], adapter_name=n)
    model.add_weighted_adapter(list(names), list(weights), "mixed", combination_type=kind, svd_rank=svd_rank,
                               density=density, majority_sign_method=sign_method)
    state = peft.get_peft_model_state_dict(model, adapter_name="mixed")
    worst = 0.0
    for key, expected_a in golden.items():
        if not key.startswith(kind + "/") or not key.endswith("lora_A.weight"):
            continue
        a_name = key[len(kind) + 1:]
        b_name = a_name.replace("lora_A", "lora_B")
        expected_b = golden[kind + "/" + b_name]
        actual_a, actual_b = state[a_name].float(), state[b_name].float()
        if kind.endswith("svd"):
            diff = (actual_b @ actual_a - expected_b @ expected_a).abs().max()
        else:
            diff = torch.maximum((actual_a - expected_a).abs().max(), (actual_b - expected_b).abs().max())
        worst = max(worst, float(diff))
    results["types"][kind] = {"max_abs_diff": worst, "r": model.peft_config["mixed"].r}

if mixed_dir:
    ids = torch.tensor([[1, 17, 42, 99, 3, 250, 7, 64, 128, 5]])
    for case in sorted(os.listdir(mixed_dir)):
        folder = os.path.join(mixed_dir, case)
        base = transformers.AutoModelForCausalLM.from_pretrained(llama_dir, attn_implementation="eager").float()
        model = peft.PeftModel.from_pretrained(base, folder)
        with torch.no_grad():
            logits = model(input_ids=ids).logits
        results["loaded"][case] = {"logits_sum": float(logits.sum()), "logits_0_0_0": float(logits[0, 0, 0])}

with open(out, "w") as f:
    json.dump(results, f, indent=1)
print(json.dumps(results["types"], indent=1))
