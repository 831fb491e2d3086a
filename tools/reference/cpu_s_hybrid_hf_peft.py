"""HF PEFT anchor for the CPU-S hybrids, CPU-S-Qwen3.5 (LoraTrainBenchmark --qwen35, --family qwen35 here),
CPU-S-Granite-4.0-H (LoraTrainBenchmark --granite4h, --family granite4h) and CPU-S-LFM2 (--lfm2, --family lfm2):
transformers' own Qwen3_5ForCausalLM (its torch path: the chunked gated delta rule), GraniteMoeHybridForCausalLM (its
torch path: the chunked Mamba-2 scan) or Lfm2ForCausalLM (its torch convolution), eager attention, float32, random weights as transformers initialises them, LoRA r 8 / alpha 16 (PEFT) on every
projection of both layer kinds and the MLP, AdamW lr 1e-4 weight decay 0.01, gradient clipping at 1.0, batch 8 x 128
random ids, labels = ids (transformers shifts them). Prints training tokens/s (median of 10 steps after 3 warm-up
steps) and forward-only tokens/s (no grad, the same medians).

    OMP_WAIT_POLICY=PASSIVE python3 cpu_s_hybrid_hf_peft.py --family qwen35 --threads 2

Needs torch, transformers 5.x and peft (e.g. a virtual environment: pip install torch transformers peft).
"""
import argparse
import statistics
import time

import torch
import transformers
import peft

BATCH, SEQ, WARMUP, MEASURED = 8, 128, 3, 10
ATTENTION = ["q_proj", "k_proj", "v_proj", "o_proj"]
TARGETS = {"qwen35": ATTENTION + ["gate_proj", "up_proj", "down_proj", "in_proj_qkv", "in_proj_z", "in_proj_b",
                                  "in_proj_a", "out_proj"],
           "granite4h": ATTENTION + ["input_linear", "output_linear", "in_proj", "out_proj"],
           "lfm2": ["q_proj", "k_proj", "v_proj", "out_proj", "w1", "w3", "w2", "in_proj"]}
NAMES = {"qwen35": "CPU-S-Qwen3.5", "granite4h": "CPU-S-Granite-4.0-H", "lfm2": "CPU-S-LFM2"}


def qwen35():
    config = transformers.Qwen3_5TextConfig(
        vocab_size=4096, hidden_size=256, intermediate_size=704, num_hidden_layers=4, num_attention_heads=8,
        num_key_value_heads=4, head_dim=32, linear_num_key_heads=4, linear_num_value_heads=8,
        linear_key_head_dim=32, linear_value_head_dim=32, linear_conv_kernel_dim=4, max_position_embeddings=512,
        rms_norm_eps=1e-6, tie_word_embeddings=False,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.25})
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    return transformers.Qwen3_5ForCausalLM(config).float()


def granite4h():
    config = transformers.GraniteMoeHybridConfig(
        vocab_size=4096, hidden_size=256, shared_intermediate_size=704, num_local_experts=0, num_hidden_layers=4,
        num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=512, rms_norm_eps=1e-6,
        tie_word_embeddings=False, position_embedding_type="nope", mamba_n_heads=8, mamba_d_head=64, mamba_d_state=32,
        mamba_n_groups=1, mamba_d_conv=4, layer_types=["mamba", "mamba", "mamba", "attention"])
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    return transformers.GraniteMoeHybridForCausalLM(config).float()


def lfm2():
    config = transformers.Lfm2Config(
        vocab_size=4096, hidden_size=256, intermediate_size=704, block_auto_adjust_ff_dim=False, num_hidden_layers=4,
        num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=512, norm_eps=1e-6,
        tie_word_embeddings=False, conv_L_cache=3, conv_bias=False,
        layer_types=["conv", "conv", "conv", "full_attention"],
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    return transformers.Lfm2ForCausalLM(config).float()


FAMILIES = {"qwen35": qwen35, "granite4h": granite4h, "lfm2": lfm2}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--family", choices=sorted(TARGETS), default="qwen35")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    base = FAMILIES[args.family]()
    name = NAMES[args.family]
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 4096, (BATCH, SEQ), generator=g)
    seconds = []
    with torch.no_grad():
        for _ in range(WARMUP + MEASURED):
            t0 = time.perf_counter()
            base(input_ids=ids)
            seconds.append(time.perf_counter() - t0)
    forward = BATCH * SEQ / statistics.median(seconds[WARMUP:])
    lm = peft.get_peft_model(base, peft.LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=TARGETS[args.family]))
    optimizer = torch.optim.AdamW([p for p in lm.parameters() if p.requires_grad], lr=1e-4, weight_decay=0.01)
    seconds = []
    for _ in range(WARMUP + MEASURED):
        t0 = time.perf_counter()
        loss = lm(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in lm.parameters() if p.requires_grad], 1.0)
        optimizer.step()
        optimizer.zero_grad()
        seconds.append(time.perf_counter() - t0)
    median = statistics.median(seconds[WARMUP:])
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"{name} HF PEFT LoRA training: {BATCH * SEQ / median:.0f} tokens/s (median step {median * 1e3:.1f} ms "
          f"of {MEASURED})")
    print(f"{name} HF forward, no grad: {forward:.0f} tokens/s")


if __name__ == "__main__":
    main()
