"""LoRA adapters on stacked experts (target_parameters) made by Python PEFT over transformers, with their logits: what
PeftMadeExpertAdaptersTest loads into finetune4j.

    cd /tmp && /tmp/tfvenv/bin/python <repo>/tools/reference/peft_expert_adapters.py

For each case, over core's reference folder of its family, writes peft/src/test/resources/peft-made-experts/<case>/:
PEFT's adapter_config.json and adapter_model.safetensors (init_lora_weights=False: A and B both drawn, so that every
expert's update is non-zero), and expected.safetensors (the reference's input_ids and attention_mask, the adapted
model's logits without and with the mask). The cases cover the two orientations transformers holds experts in:
gpt-oss's (E, in, out), marked is_transposed, and Mistral 4's, Gemma 4's and Qwen3-VL-MoE's (E, out, in).
"""
import json
import os

import torch
import transformers
import peft
from safetensors.torch import load_file, save_file

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
REFERENCES = os.path.join(REPO, "core", "src", "test", "resources", "references")
OUT = os.path.join(REPO, "peft", "src", "test", "resources", "peft-made-experts")
# case: (family, target_parameters, target_modules); Gemma 4's lists down_proj first, which PEFT nests outside anyway
CASES = {
    "gpt_oss": ("gpt_oss", ["mlp.experts.gate_up_proj", "mlp.experts.down_proj"], ["o_proj"]),
    "mistral4": ("mistral4", ["mlp.experts.gate_up_proj", "mlp.experts.down_proj"], ["o_proj"]),
    "gemma4_text_moe": ("gemma4_text_moe", ["experts.down_proj", "experts.gate_up_proj"], []),
    "qwen3_vl_moe": ("qwen3_vl_moe", ["mlp.experts.down_proj"], []),
}


def load(folder):
    architectures = json.load(open(os.path.join(folder, "config.json"))).get("architectures") or []
    if any(a.endswith("ForConditionalGeneration") for a in architectures):
        cls = transformers.AutoModelForImageTextToText
    else:
        # transformers 5.17's AutoModelForCausalLM maps no mistral4: the class config.json names
        cls = getattr(transformers, architectures[0])
    return cls.from_pretrained(folder, attn_implementation="eager").float().eval()


for case, (family, parameters, modules) in CASES.items():
    folder = os.path.join(REFERENCES, family)
    torch.manual_seed(2026)
    model = peft.get_peft_model(load(folder), peft.LoraConfig(r=4, lora_alpha=8, target_modules=modules,
                                                              target_parameters=parameters, init_lora_weights=False))
    reference = load_file(os.path.join(folder, "reference.safetensors"))
    ids, mask = reference["input_ids"], reference["attention_mask"]
    with torch.no_grad():
        logits = model(input_ids=ids).logits
        masked = model(input_ids=ids, attention_mask=mask).logits
    out = os.path.join(OUT, case)
    model.save_pretrained(out)
    os.remove(os.path.join(out, "README.md"))  # PEFT's model card, nothing the test reads
    save_file({"input_ids": ids.contiguous(), "attention_mask": mask.contiguous(), "logits": logits.contiguous(),
               "logits_masked": masked.contiguous()}, os.path.join(out, "expected.safetensors"),
              metadata={"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__})
    print(case, sorted(k for k in load_file(os.path.join(out, "adapter_model.safetensors")) if "experts" in k)[:4])
