# Copied unchanged (apart from this line) from the shared reference folder: ../shared/bench/hf_peft_bench.py, issue 15's anchor; the GPU machine receives only the repository.
"""The GPU anchor: Hugging Face transformers + PEFT LoRA training throughput and peak memory, for running beside
our own GPU benchmark in the same call on the GPU machine (its python3 has torch, transformers and peft).

    python3 hf_peft_bench.py --config llama-1.1b-shape [--batch 8 --seq 512] [--gradient-checkpointing] [--dora]
                             [--steps 10 --warmup 3] [--json OUT.json]

Random weights (bf16), LoRA r=16 alpha=32, no dropout, on all seven projections, AdamW lr 1e-4 over the LoRA
parameters, labels = inputs (HF shift), SDPA attention. Prints one JSON line: tokens/s, step ms, peak GiB
(torch.cuda.max_memory_allocated), and MFU against 790 TFLOP/s bf16 (4 x frozen parameters x tokens/s; the
small LoRA and attention terms are left out, as in shared/BENCHMARKS.md).
"""
import argparse, json, time
import torch
import transformers as T
from peft import LoraConfig, get_peft_model

CONFIGS = {
    "qwen2-0.5b-shape": lambda: T.Qwen2Config(vocab_size=151936, hidden_size=896, intermediate_size=4864,
                                              num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                                              max_position_embeddings=4096, tie_word_embeddings=True),
    "llama-1.1b-shape": lambda: T.LlamaConfig(vocab_size=32000, hidden_size=2048, intermediate_size=5632,
                                              num_hidden_layers=22, num_attention_heads=32, num_key_value_heads=4,
                                              max_position_embeddings=4096),
    "qwen2.5-7b-shape": lambda: T.Qwen2Config(vocab_size=152064, hidden_size=3584, intermediate_size=18944,
                                              num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4,
                                              max_position_embeddings=4096, tie_word_embeddings=False),
}
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
PEAK_BF16_FLOPS = 790e12


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", choices=sorted(CONFIGS), required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--gradient-checkpointing", action="store_true")
    ap.add_argument("--dora", action="store_true")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--json")
    a = ap.parse_args()

    torch.manual_seed(0)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    cfg = CONFIGS[a.config]()
    cfg._attn_implementation = "sdpa"
    model = T.AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16).to("cuda")
    frozen = sum(p.numel() for p in model.parameters())
    if a.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    peft_model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=TARGETS,
                                                  use_dora=a.dora))
    opt = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(0, cfg.vocab_size, (a.batch, a.seq), device="cuda")

    def step():
        loss = peft_model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    for _ in range(a.warmup):
        step()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    torch.cuda.synchronize()
    dt = (time.perf_counter() - t) / a.steps
    tokens = a.batch * a.seq / dt
    result = {"system": "hf-peft", "config": a.config, "batch": a.batch, "seq": a.seq,
              "gradient_checkpointing": a.gradient_checkpointing, "dora": a.dora,
              "tokens_per_s": round(tokens, 1), "step_ms": round(dt * 1e3, 2),
              "peak_gib": round(torch.cuda.max_memory_allocated() / 2 ** 30, 3),
              "mfu": round(4 * frozen * tokens / PEAK_BF16_FLOPS, 4), "frozen_params": frozen,
              "final_loss": float(loss), "device": torch.cuda.get_device_name(),
              "torch": torch.__version__, "transformers": T.__version__}
    line = json.dumps(result)
    print(line, flush=True)
    if a.json:
        with open(a.json, "a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
