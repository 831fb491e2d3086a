"""PyTorch CPU anchor for the CPU-S configuration of BENCHMARKS.md, run beside LoraTrainBenchmark.

A LLaMA-style decoder written out by hand (RMSNorm, rotary, grouped-query attention, SwiGLU), float32, LoRA
r 8 / alpha 16 on all seven projections, AdamW lr 1e-4 weight decay 0.01, gradient clipping at 1.0, batch
8 x 128 random ids, the loss on ids shifted by one. Prints training tokens/s (median of 10 steps after 3
warm-up steps), forward-only tokens/s (no grad, the same medians) and peak RSS.

    OMP_WAIT_POLICY=PASSIVE taskset -c 2,3 python3 cpu_s_lora_torch.py --threads 2 --attention manual [--moe]
--moe: CPU-S-MoE, each MLP a Mixtral-style mixture of 16 experts of width 176, 4 per token (the dense MLP's 704
active), routed as transformers' MixtralSparseMoeBlock does (float32 softmax, top-k renormalised, a loop over the
experts that index_add_s each expert's weighted output), LoRA on every expert's w1/w2/w3.
--attention manual: softmax(q k^T / sqrt(d) + causal mask) v with matmuls, as the recorded anchor (PyTorch 1.13
has no fused attention); --attention sdpa: F.scaled_dot_product_attention, what PyTorch 2 users get (the run
fails on 1.13, the rest of benchmarks/cpu-s-side-by-side.sh goes on).
"""
import argparse
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB, HIDDEN, LAYERS, HEADS, KV_HEADS, INTER = 4096, 256, 4, 8, 4, 704
EXPERTS, PER_TOKEN, EXPERT_INTER = 16, 4, 176
BATCH, SEQ, RANK, ALPHA = 8, 128, 8, 16
HEAD_DIM = HIDDEN // HEADS


class LoraLinear(nn.Module):
    def __init__(self, fan_in, fan_out):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(fan_out, fan_in) * 0.02, requires_grad=False)
        self.lora_a = nn.Parameter(torch.randn(RANK, fan_in) / fan_in ** 0.5)
        self.lora_b = nn.Parameter(torch.zeros(fan_out, RANK))
        self.scaling = ALPHA / RANK

    def forward(self, x):
        return F.linear(x, self.weight) + self.scaling * F.linear(F.linear(x, self.lora_a), self.lora_b)


class RmsNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim), requires_grad=False)
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate(x, cos, sin):
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


class Mlp(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.gate = LoraLinear(HIDDEN, width)
        self.up = LoraLinear(HIDDEN, width)
        self.down = LoraLinear(width, HIDDEN)

    def forward(self, h):
        return self.down(F.silu(self.gate(h)) * self.up(h))


class SparseMoe(nn.Module):
    """transformers' MixtralSparseMoeBlock: top-k of a float32 softmax, renormalised, experts in a loop."""

    def __init__(self):
        super().__init__()
        self.router = nn.Parameter(torch.randn(EXPERTS, HIDDEN) * 0.02, requires_grad=False)
        self.experts = nn.ModuleList(Mlp(EXPERT_INTER) for _ in range(EXPERTS))

    def forward(self, h):
        b, t, c = h.shape
        flat = h.reshape(-1, c)
        weights = torch.softmax(F.linear(flat, self.router), dim=-1, dtype=torch.float)
        weights, chosen = torch.topk(weights, PER_TOKEN, dim=-1)
        weights = (weights / weights.sum(dim=-1, keepdim=True)).to(flat.dtype)
        out = torch.zeros_like(flat)
        mask = F.one_hot(chosen, num_classes=EXPERTS).permute(2, 1, 0)
        for e, expert in enumerate(self.experts):
            slot, token = torch.where(mask[e])
            if token.numel():
                out.index_add_(0, token, expert(flat[token]) * weights[token, slot, None])
        return out.reshape(b, t, c)


class Layer(nn.Module):
    def __init__(self, attention, moe):
        super().__init__()
        self.attention = attention
        self.input_norm = RmsNorm(HIDDEN)
        self.post_norm = RmsNorm(HIDDEN)
        self.q = LoraLinear(HIDDEN, HEADS * HEAD_DIM)
        self.k = LoraLinear(HIDDEN, KV_HEADS * HEAD_DIM)
        self.v = LoraLinear(HIDDEN, KV_HEADS * HEAD_DIM)
        self.o = LoraLinear(HEADS * HEAD_DIM, HIDDEN)
        self.mlp = SparseMoe() if moe else Mlp(INTER)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        h = self.input_norm(x)
        q = self.q(h).view(b, t, HEADS, HEAD_DIM).transpose(1, 2)
        k = self.k(h).view(b, t, KV_HEADS, HEAD_DIM).transpose(1, 2)
        v = self.v(h).view(b, t, KV_HEADS, HEAD_DIM).transpose(1, 2)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        k = k.repeat_interleave(HEADS // KV_HEADS, dim=1)
        v = v.repeat_interleave(HEADS // KV_HEADS, dim=1)
        if self.attention == "sdpa":
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            scores = q @ k.transpose(-1, -2) / HEAD_DIM ** 0.5 + mask
            a = torch.softmax(scores, dim=-1) @ v
        x = x + self.o(a.transpose(1, 2).reshape(b, t, HIDDEN))
        h = self.post_norm(x)
        return x + self.mlp(h)


class Decoder(nn.Module):
    def __init__(self, attention, moe):
        super().__init__()
        self.embed = nn.Parameter(torch.randn(VOCAB, HIDDEN) * 0.02, requires_grad=False)
        self.layers = nn.ModuleList(Layer(attention, moe) for _ in range(LAYERS))
        self.norm = RmsNorm(HIDDEN)
        self.lm_head = nn.Parameter(torch.randn(VOCAB, HIDDEN) * 0.02, requires_grad=False)
        inv_freq = 1.0 / 10000 ** (torch.arange(0, HEAD_DIM, 2).float() / HEAD_DIM)
        angles = torch.outer(torch.arange(SEQ).float(), inv_freq)
        angles = torch.cat((angles, angles), dim=-1)
        self.cos, self.sin = angles.cos(), angles.sin()
        self.mask = torch.full((SEQ, SEQ), float("-inf")).triu(1)

    def forward(self, ids):
        x = F.embedding(ids, self.embed)
        for layer in self.layers:
            x = layer(x, self.cos, self.sin, self.mask)
        return F.linear(self.norm(x), self.lm_head)


def loss_of(model, ids):
    logits = model(ids)
    return F.cross_entropy(logits[:, :-1].reshape(-1, VOCAB), ids[:, 1:].reshape(-1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--attention", choices=["manual", "sdpa"], default="manual")
    parser.add_argument("--moe", action="store_true", help="CPU-S-MoE: a mixture of experts in each layer")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = Decoder(args.attention, args.moe)
    name = "CPU-S-MoE" if args.moe else "CPU-S"
    ids = torch.randint(0, VOCAB, (BATCH, SEQ), generator=torch.Generator().manual_seed(1))

    forward_seconds = []
    for _ in range(13):
        start = time.perf_counter()
        with torch.no_grad():
            model(ids)
        forward_seconds.append(time.perf_counter() - start)

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4, weight_decay=0.01)
    step_seconds = []
    for _ in range(13):
        start = time.perf_counter()
        loss = loss_of(model, ids)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step_seconds.append(time.perf_counter() - start)

    tokens = BATCH * SEQ
    step = statistics.median(step_seconds[3:])
    print(f"torch {torch.__version__}, {args.threads} threads, attention {args.attention}, "
          f"{torch.__config__.parallel_info().splitlines()[0]}")
    print(f"{name} LoRA training: {tokens / step:.0f} tokens/s (median step {step * 1e3:.1f} ms of 10), loss {loss.item():.4f}")
    print(f"{name} forward, no grad: {tokens / statistics.median(forward_seconds[3:]):.0f} tokens/s")
    print(f"peak RSS (ru_maxrss): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} kB")


if __name__ == "__main__":
    main()
