"""Produces the reference outputs that finetune4j's tests compare against, for architectures and settings
that ../shared/fixtures does not cover. Run where torch, transformers and peft are installed:

    python3 tools/reference/make_references.py OUT_DIR

Writes OUT_DIR/<name>/ folders in the same layout as the shared hf-tiny fixtures (config.json,
model.safetensors, reference.safetensors, lora/), a LoRA training trajectory and DPO log-probabilities.
Everything is computed in float32 on the CPU with eager attention and fixed seeds; model.safetensors stores the
weights, rounded to bfloat16 values after transformers initialises them, as bfloat16.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F
import transformers
import peft
from safetensors.torch import load_file, save_file

OUT = sys.argv[1]
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
COMMON = dict(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
              initializer_range=0.1, tie_word_embeddings=False)


def make_config(kind):
    if kind == "qwen3":
        return transformers.Qwen3Config(head_dim=32, rope_theta=10000.0, **COMMON)
    if kind == "mistral":
        return transformers.MistralConfig(sliding_window=None, rope_theta=10000.0, **COMMON)
    if kind == "llama_rope_llama3":
        rope = {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                "high_freq_factor": 4.0, "original_max_position_embeddings": 8}
        return with_rope(transformers.LlamaConfig(**COMMON), rope)
    if kind == "qwen2_rope_yarn":
        rope = {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "original_max_position_embeddings": 8}
        return with_rope(transformers.Qwen2Config(**COMMON), rope)
    raise ValueError(kind)


def with_rope(config, rope):
    if hasattr(config, "rope_parameters"):
        config.rope_parameters = rope
    else:
        config.rope_scaling = rope
        config.rope_theta = rope["rope_theta"]
    return config


def hf_loss(logits, labels):
    shift = logits[:, :-1].reshape(-1, logits.shape[-1])
    return F.cross_entropy(shift, labels[:, 1:].reshape(-1), ignore_index=-100)


def build(kind, seed):
    """transformers' own initialisation, every weight then rounded to a bfloat16 value: model.safetensors stores them
    as bfloat16 (half the bytes), and everything below is computed in float32 from exactly those values."""
    torch.manual_seed(seed)
    config = make_config(kind)
    model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager").float()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.bfloat16().float())
    model.eval()
    folder = os.path.join(OUT, kind)
    model.save_pretrained(folder, safe_serialization=True)
    weights = os.path.join(folder, "model.safetensors")
    save_file({n: t.bfloat16() for n, t in load_file(weights).items()}, weights, metadata={"format": "pt"})
    return model, folder


def reference(kind, seed, with_lora):
    model, folder = build(kind, seed)
    g = torch.Generator().manual_seed(seed + 1)
    ids = torch.randint(0, 256, (2, 16), generator=g)
    mask = torch.ones_like(ids)
    mask[1, -4:] = 0
    ref = {"input_ids": ids, "attention_mask": mask}
    with torch.no_grad():
        ref["logits"] = model(input_ids=ids).logits
        ref["logits_masked"] = model(input_ids=ids, attention_mask=mask).logits
        ref["loss"] = model(input_ids=ids, labels=ids).loss.reshape(1)
        prompt = ids[:1, :6]
        ref["greedy_prompt"] = prompt
        ref["greedy_output"] = model.generate(prompt, max_new_tokens=10, do_sample=False, use_cache=True,
                                              pad_token_id=0, eos_token_id=None)
    if with_lora:
        torch.manual_seed(seed + 2)
        cfg = peft.LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=TARGETS, init_lora_weights=False)
        pm = peft.get_peft_model(model, cfg)
        pm.save_pretrained(os.path.join(folder, "lora"))
        pm.eval()
        with torch.no_grad():
            ref["lora_logits"] = pm(input_ids=ids).logits
        pm.train()
        loss = pm(input_ids=ids, labels=ids).loss
        loss.backward()
        ref["lora_loss"] = loss.detach().reshape(1)
        for name, p in pm.named_parameters():
            if p.requires_grad:
                ref["lora_grad." + name] = p.grad.detach().clone()
        pm.eval()
        with torch.no_grad():
            merged = pm.merge_and_unload()
            ref["merged_logits"] = merged(input_ids=ids).logits
    save_file({k: v.detach().clone().contiguous() for k, v in ref.items()}, os.path.join(folder, "reference.safetensors"))


def trajectory(kind, seed):
    """10 LoRA steps exactly as ../shared/fixtures/train/llama, on another architecture."""
    model, folder = build(kind, seed)
    out = os.path.join(OUT, kind + "_train")
    torch.manual_seed(42)
    cfg = peft.LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=TARGETS)
    pm = peft.get_peft_model(model, cfg)
    pm.save_pretrained(os.path.join(out, "adapter_init"))
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(0, 256, (4, 24), generator=g)
    labels = ids.clone()
    labels[:, :8] = -100
    save_file({"input_ids": ids, "labels": labels}, os.path.join(out, "batch.safetensors"))
    params = [p for p in pm.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    pm.train()
    losses, norms = [], []
    for _ in range(10):
        loss = pm(input_ids=ids, labels=labels).loss
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(params, 1.0)))
        losses.append(float(loss))
        opt.step()
        opt.zero_grad()
    pm.save_pretrained(os.path.join(out, "adapter_final"))
    json.dump({"source_model": kind, "lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01,
               "clip_grad_norm": 1.0, "steps": 10, "losses_before_step": losses,
               "grad_norms_before_clipping": norms}, open(os.path.join(out, "trajectory.json"), "w"), indent=1)


def dpo_logps(kind):
    """Summed response log-probabilities under base+LoRA (policy) and the base (reference)."""
    folder = os.path.join(OUT, kind)
    base = transformers.AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager").float()
    pm = peft.PeftModel.from_pretrained(base, os.path.join(folder, "lora"))
    pm.eval()
    g = torch.Generator().manual_seed(11)
    examples = []

    def logp(prompt, response):
        ids = torch.tensor([prompt + response])
        with torch.no_grad():
            lp = torch.log_softmax(pm(input_ids=ids).logits[0, :-1], -1)
        targets = ids[0, 1:]
        picked = lp[torch.arange(len(targets)), targets][len(prompt) - 1:]
        return float(picked.sum())

    for _ in range(6):
        rnd = lambda lo, hi: torch.randint(0, 256, (int(torch.randint(lo, hi, (1,), generator=g)),), generator=g).tolist()
        prompt, chosen, rejected = rnd(3, 7), rnd(2, 6), rnd(2, 6)
        e = {"prompt": prompt, "chosen": chosen, "rejected": rejected,
             "policy_chosen_logp": logp(prompt, chosen), "policy_rejected_logp": logp(prompt, rejected)}
        with pm.disable_adapter():
            e["reference_chosen_logp"] = logp(prompt, chosen)
            e["reference_rejected_logp"] = logp(prompt, rejected)
        examples.append(e)
    json.dump({"examples": examples}, open(os.path.join(OUT, kind + "_dpo.json"), "w"), indent=1)


if __name__ == "__main__":
    torch.set_default_dtype(torch.float32)
    os.makedirs(OUT, exist_ok=True)
    reference("qwen3", 3, with_lora=True)
    reference("mistral", 4, with_lora=False)
    reference("llama_rope_llama3", 5, with_lora=False)
    reference("qwen2_rope_yarn", 6, with_lora=False)
    trajectory("qwen3", 3)
    dpo_logps("qwen3")
    json.dump({"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
              open(os.path.join(OUT, "versions.json"), "w"))
    print("done")
