"""Loads an adapter saved by finetune4j into Hugging Face PEFT and compares logits with finetune4j's.

Usage: python3 interop_check.py <adapter-dir> <base-model-dir>
The adapter folder holds expected.safetensors (input_ids, attention_mask, logits, logits_masked) written by
InteropExportTest. Prints the largest absolute differences; exits 1 above 1e-4.
"""
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

adapter_dir, base_dir = sys.argv[1], sys.argv[2]
expected = load_file(f"{adapter_dir}/expected.safetensors")
base = AutoModelForCausalLM.from_pretrained(base_dir, torch_dtype=torch.float32, attn_implementation="eager")
model = PeftModel.from_pretrained(base, adapter_dir).eval()
with torch.no_grad():
    logits = model(input_ids=expected["input_ids"]).logits
    masked = model(input_ids=expected["input_ids"], attention_mask=expected["attention_mask"]).logits
d = (logits - expected["logits"]).abs().max().item()
real = expected["attention_mask"].bool()
dm = (masked - expected["logits_masked"])[real].abs().max().item()
print(f"peft loaded {len(model.state_dict())} tensors; max |diff| logits {d:.3g}, masked (real positions) {dm:.3g}")
sys.exit(0 if max(d, dm) <= 1e-4 else 1)
