"""GPT-2 LoRA loss and gradients with dropout switched off, which the shared hf-tiny/gpt2 reference cannot
give (it was taken in train mode with GPT-2's dropout of 0.1, drawing torch's random numbers).

    python3 tools/reference/gpt2_lora_grad_reference.py HF_TINY_GPT2_DIR OUT.safetensors

Same inputs and adapter as the shared fixture; writes lora_loss and lora_grad.<PEFT parameter name>.
"""
import sys

import torch
import transformers
import peft
from safetensors.torch import load_file, save_file

base_dir, out = sys.argv[1], sys.argv[2]
ref = load_file(f"{base_dir}/reference.safetensors")
base = transformers.AutoModelForCausalLM.from_pretrained(base_dir, attn_implementation="eager", resid_pdrop=0.0,
                                                        embd_pdrop=0.0, attn_pdrop=0.0).float()
model = peft.PeftModel.from_pretrained(base, f"{base_dir}/lora", is_trainable=True)
model.train()
ids = ref["input_ids"]
loss = model(input_ids=ids, labels=ids).loss
loss.backward()
tensors = {"input_ids": ids.clone(), "lora_loss": loss.detach().reshape(1).clone()}
for name, p in model.named_parameters():
    if p.requires_grad:
        tensors["lora_grad." + name] = p.grad.detach().clone()
save_file(tensors, out)
print("gpt2 lora_loss without dropout:", float(loss))
