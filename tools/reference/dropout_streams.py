"""finetune4j's dropout masks in Python, bit for bit: java.util.SplittableRandom (the model's dropout stream, one stream
per layer seeded by the model's next draw) and Philox4x32-10 as dev.finetune4j.core.backend.Philox draws it (key =
the 64-bit seed, counter = (element index / 4, site 0, step 0), element i takes output i % 4, uniform = top 24 bits
* 2^-24, dropped when below p, kept ones times float32(1 / (1 - p))).

`patched_dropout(model, layers)` replaces torch.nn.functional.dropout while it is active, so that transformers and
PEFT draw exactly the masks finetune4j draws in training mode: each call with p > 0 takes the next key from the
current stream (the model's, or inside a module of `layers` that module's own).
"""
import contextlib

import numpy as np
import torch

MASK64 = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15


class SplittableRandom:
    """java.util.SplittableRandom(seed).nextLong(), as unsigned 64-bit values."""

    def __init__(self, seed):
        self.seed = seed & MASK64

    def next_long(self):
        self.seed = (self.seed + GOLDEN_GAMMA) & MASK64
        z = self.seed
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)


def philox_uniform(seed, n):
    """The uniform floats of elements 0 .. n-1 under key (seed, step 0, site 0), as float32."""
    blocks = (n + 3) // 4
    c0 = np.arange(blocks, dtype=np.uint64)
    c1 = (c0 >> np.uint64(32)).astype(np.uint32)
    c0 = (c0 & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    c2 = np.zeros(blocks, dtype=np.uint32)
    c3 = np.zeros(blocks, dtype=np.uint32)
    k0 = np.uint32(seed & 0xFFFFFFFF)
    k1 = np.uint32(seed >> 32)
    for _ in range(10):
        p0 = c0.astype(np.uint64) * np.uint64(0xD2511F53)
        p1 = c2.astype(np.uint64) * np.uint64(0xCD9E8D57)
        n0 = (p1 >> np.uint64(32)).astype(np.uint32) ^ c1 ^ k0
        n1 = (p1 & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        n2 = (p0 >> np.uint64(32)).astype(np.uint32) ^ c3 ^ k1
        n3 = (p0 & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        c0, c1, c2, c3 = n0, n1, n2, n3
        k0 = np.uint32((int(k0) + 0x9E3779B9) & 0xFFFFFFFF)
        k1 = np.uint32((int(k1) + 0xBB67AE85) & 0xFFFFFFFF)
    out = np.stack([c0, c1, c2, c3], axis=1).reshape(-1)[:n]
    return (out >> np.uint32(8)).astype(np.float32) * np.float32(2.0 ** -24)


def mask(seed, shape, p):
    """The factors (0 or float32(1 / (1 - p))) finetune4j multiplies a contiguous tensor of `shape` by."""
    p32 = np.float32(p)
    keep = np.float32(1) / (np.float32(1) - p32)
    u = philox_uniform(seed, int(np.prod(shape)))
    return torch.from_numpy(np.where(u < p32, np.float32(0), keep).reshape(shape))


@contextlib.contextmanager
def patched_dropout(seed, layers=()):
    """Within the block, F.dropout draws finetune4j's masks from SplittableRandom(seed) (per layer in `layers`)."""
    model_stream = SplittableRandom(seed)
    state = {"current": model_stream, "draws": 0}
    original = torch.nn.functional.dropout

    def dropout(input, p=0.5, training=True, inplace=False):
        if not training or p == 0:
            return input
        key = state["current"].next_long()
        state["draws"] += 1
        return input.contiguous() * mask(key, tuple(input.shape), p)

    def enter(module, args):
        state["current"] = SplittableRandom(model_stream.next_long())

    def leave(module, args, output):
        state["current"] = model_stream

    handles = [h for layer in layers for h in (layer.register_forward_pre_hook(enter),
                                               layer.register_forward_hook(leave))]
    torch.nn.functional.dropout = dropout
    try:
        yield state
    finally:
        torch.nn.functional.dropout = original
        for h in handles:
            h.remove()


if __name__ == "__main__":
    # the values dev.finetune4j.core.backend.Philox and java.util.SplittableRandom give (checked in Java)
    r = SplittableRandom(1234)
    s1, s2 = r.next_long(), r.next_long()
    signed = lambda v: v - (1 << 64) if v >> 63 else v
    assert (signed(s1), signed(s2), signed(SplittableRandom(s2).next_long())) == (
        -4968325692281840421, -7509856599009106652, -6230388654128638865)
    u = philox_uniform(s1, 1002)
    expected = [0.8970367, 0.22386289, 0.17558265, 0.6792881, 0.9590607, 0.8476781]
    assert np.allclose(u[:6], expected, atol=1e-7) and abs(u[1001] - 0.27159214) < 1e-7, u[:6]
    print("SplittableRandom and Philox agree with Java")
