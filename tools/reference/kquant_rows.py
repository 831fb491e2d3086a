"""Writes gguf/src/test/resources/kquants/rows.f32: 16 rows of 512 float32 values (two 256-value super-blocks each),
the inputs on which ggml's quantizers (tools/reference/ggml_quantize_rows.c) and finetune4j's must agree. Plain
Python (random with a fixed seed); the rows probe what a block encoder can get wrong: all-zero, constant, one-signed,
sparse and outlier blocks, values below ggml's GROUP_MAX_EPS, rounding ties on a grid, scales that differ by
sub-block, large magnitudes and bf16-rounded weights.

    python3 tools/reference/kquant_rows.py OUT_FILE [IMATRIX_FILE]

IMATRIX_FILE gets 512 column weights for the importance-matrix quantizers: mean squared activations as
llama-imatrix collects them (log-uniform over four decades, a few columns no input ever reached, so 0).
"""
import math
import random
import struct
import sys

N = 512
rnd = random.Random(20261206)


def bf16(x):
    bits = struct.unpack("<I", struct.pack("<f", x))[0]
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return struct.unpack("<f", struct.pack("<I", bits))[0]


rows = [
    [rnd.gauss(0, 0.02) for _ in range(N)],
    [rnd.gauss(0, 1) for _ in range(N)],
    [rnd.uniform(-0.15, 0.15) for _ in range(N)],
    [0.0] * N,
    [0.5] * N,
    [-0.25] * N,
    [rnd.uniform(0, 1) for _ in range(N)],
    [rnd.uniform(-1, 0) for _ in range(N)],
    [rnd.choice([-3.0, 3.0]) if rnd.random() < 0.02 else 0.0 for _ in range(N)],
    [rnd.gauss(0, 0.05) * (100 if rnd.random() < 0.01 else 1) for _ in range(N)],
    [rnd.gauss(0, 1e-20) for _ in range(256)] + [rnd.gauss(0, 0.1) for _ in range(256)],
    [0.125 * rnd.randint(-8, 7) for _ in range(N)],
    [rnd.gauss(0, 1) * 2.0 ** (i // 32 % 16 - 8) for i in range(N)],
    [rnd.gauss(0, 1e4) for _ in range(N)],
    [bf16(rnd.gauss(0, 0.03)) for _ in range(N)],
    [(i % 7 - 3) * (-1) ** i * 0.01 for i in range(N)],
]
if len(sys.argv) > 2:
    weights = [0.0 if rnd.random() < 0.02 else 10 ** rnd.uniform(-3, 1) for _ in range(N)]
    with open(sys.argv[2], "wb") as f:
        f.write(struct.pack("<%df" % N, *weights))
with open(sys.argv[1], "wb") as f:
    for row in rows:
        assert len(row) == N and all(math.isfinite(v) for v in row)
        f.write(struct.pack("<%df" % N, *row))
