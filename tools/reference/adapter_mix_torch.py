"""Golden values for finetune4j's adapter mixing (peft's dev.finetune4j.peft.mix, PEFT's add_weighted_adapter).

    /usr/bin/python3 tools/reference/adapter_mix_torch.py peft/src/test/resources/hf-tiny/llama

Needs torch and numpy only (no peft, no safetensors package). Reads LLAMA_DIR/lora (an adapter written by Python
PEFT 0.21: r 4, alpha 8, all seven projections), writes two more adapters for the same base made from fixed seeds,
and writes LLAMA_DIR/mix/:

- adapter_b/: r 4, alpha 16, q_proj, v_proj, down_proj
- adapter_c/: r 2, alpha 4 with rsLoRA (scaling 4 / sqrt(2)), q_proj, o_proj
- combined.safetensors: for each combination type, the combined lora_A / lora_B of the layer-0 modules, keyed
  "<type>/<PEFT tensor name>"; and "svd_case.<name>/{matrix,U,S,Vh}", torch.linalg.svd (in float64) of small matrices. Everything is stored as
  float32, the dtype finetune4j's safetensors reader and PEFT's adapters use.

The rules are PEFT's (src/peft/tuners/lora/model.py and src/peft/utils/merge_utils.py at main, 2026-08), re-written
here from their description and evaluated in float64 (PEFT works in the adapters' float32), with one deliberate difference: the SVD types weight each adapter's delta
(which already carries its scaling alpha / r) by the user's weight only. PEFT's main branch multiplies the scaling in
a second time there; the fix is PEFT PR #3111. With alpha == r both agree.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

LAYER0 = "base_model.model.model.layers.0."
# (type, adapters, weights, density, sign method, svd rank): MixFixtureTest runs the same arguments in Java, and
# adapter_mix_peft_check.py in Python PEFT
CASES = [
    ("linear", "ab", [0.7, -0.4], None, "total", None),
    ("ties", "ab", [0.7, 0.5], 0.5, "total", None),
    ("magnitude_prune", "ab", [0.7, 0.5], 0.3, "total", None),
    ("dare_linear", "ab", [0.7, -0.4], 1.0, "total", None),
    ("dare_ties", "ab", [0.7, 0.5], 1.0, "frequency", None),
    ("cat", "abc", [0.7, -0.4, 1.5], None, "total", None),
    ("svd", "abc", [0.7, -0.4, 1.5], None, "total", 10),
    ("ties_svd", "abc", [0.7, 0.5, 1.5], 0.5, "frequency", 3),
    ("magnitude_prune_svd", "ab", [0.7, 0.5], 0.4, "total", None),
    ("dare_linear_svd", "ab", [0.7, -0.4], 1.0, "total", 6),
    ("dare_ties_svd", "ac", [0.7, 0.5], 1.0, "total", None),
]


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        start, end = info["data_offsets"]
        data = np.frombuffer(raw[8 + n + start:8 + n + end], dtype="<f4").reshape(info["shape"])
        out[name] = torch.from_numpy(data.copy())
    return out


def write_safetensors(path, tensors):
    dtypes = {torch.float32: ("F32", "<f4"), torch.float64: ("F64", "<f8")}
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        code, np_type = dtypes[t.dtype]
        blob = t.numpy().astype(np_type).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def make_adapter(folder, template_config, shapes, r, alpha, rslora, targets, seed):
    """A LoRA adapter with random non-zero A and B on `targets` of both layers, as PEFT would save it."""
    g = torch.Generator().manual_seed(seed)
    tensors = {}
    for module, (out_features, in_features) in shapes.items():
        if module.split(".")[-1] in targets:
            tensors[module + ".lora_A.weight"] = torch.randn(r, in_features, generator=g) * 0.2
            tensors[module + ".lora_B.weight"] = torch.randn(out_features, r, generator=g) * 0.2
    config = dict(template_config, r=r, lora_alpha=alpha, use_rslora=rslora, target_modules=targets)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    write_safetensors(os.path.join(folder, "adapter_model.safetensors"), tensors)
    return {"config": config, "tensors": tensors}


def scaling(config):
    return config["lora_alpha"] / (math.sqrt(config["r"]) if config["use_rslora"] else config["r"])


# ---- merge rules (merge_utils.py): task tensors stacked on dim 0, weights broadcast over the rest ----

def keep_largest(t, density):
    if density >= 1:
        return t
    k = int(density * t.numel())
    mask = torch.zeros(t.numel(), dtype=t.dtype)
    mask[torch.topk(t.abs().reshape(-1), k=k, largest=True).indices] = 1
    return t * mask.reshape(t.shape)


def weighted(stacked, weights):
    return stacked * weights.reshape(weights.shape + (1,) * (stacked.dim() - 1))


def elect_and_merge(stacked, weights, sign_method):
    votes = stacked.sum(0) if sign_method == "total" else stacked.sign().sum(0)
    majority = torch.where(votes >= 0, 1.0, -1.0).to(stacked.dtype)
    agree = stacked.sign() == majority
    total = (weighted(stacked, weights) * agree).sum(0)
    return total / torch.clamp(agree.sum(0), min=1.0)


def merge(rule, tensors, weights, density, sign_method):
    """One PEFT rule over a list of same-shape tensors. DARE only at density 1, where it drops nothing."""
    if rule in ("linear", "svd"):
        return weighted(torch.stack(tensors), weights).sum(0)
    if rule in ("dare_linear", "dare_ties"):
        assert density >= 1, "DARE's random drops are not reproducible across libraries: golden values at density 1"
        rule = "linear" if rule == "dare_linear" else "ties"
        return merge(rule, tensors, weights, density, sign_method)
    pruned = torch.stack([keep_largest(t, density) for t in tensors])
    if rule == "magnitude_prune":
        return weighted(pruned, weights).sum(0)
    if rule == "ties":
        return elect_and_merge(pruned, weights, sign_method)
    raise ValueError(rule)


def combine(kind, adapters, weights, density=None, sign_method="total", svd_rank=None):
    """The combined adapter's tensors for every module any adapter has."""
    modules = sorted({k[:-len(".lora_A.weight")] for a in adapters for k in a["tensors"] if k.endswith(".lora_A.weight")})
    ranks = [a["config"]["r"] for a in adapters]
    out = {}
    for m in modules:
        present = [(a, w) for a, w in zip(adapters, weights) if m + ".lora_A.weight" in a["tensors"]]
        As = [a["tensors"][m + ".lora_A.weight"].double() for a, _ in present]
        Bs = [a["tensors"][m + ".lora_B.weight"].double() for a, _ in present]
        scaled = [w * scaling(a["config"]) for a, w in present]
        if kind == "cat":
            rank = sum(ranks)
            A = torch.cat([a * s for a, s in zip(As, scaled)], 0)
            B = torch.cat(Bs, 1)
            A = torch.cat([A, torch.zeros(rank - A.shape[0], A.shape[1], dtype=A.dtype)], 0)
            B = torch.cat([B, torch.zeros(B.shape[0], rank - B.shape[1], dtype=B.dtype)], 1)
        elif kind.endswith("svd"):
            rank = svd_rank or max(ranks)
            deltas = [b @ a * scaling(x["config"]) for a, b, (x, _) in zip(As, Bs, present)]
            user_weights = torch.tensor([w for _, w in present], dtype=torch.float64)
            delta = merge(kind[:-len("_svd")] if kind != "svd" else "svd", deltas, user_weights, density, sign_method)
            U, S, Vh = torch.linalg.svd(delta, full_matrices=True)
            B = U[:, :rank] @ torch.diag(S[:rank])
            A = Vh[:rank, :]
        else:
            sign = torch.tensor([1.0 if s >= 0 else -1.0 for s in scaled], dtype=torch.float64)
            root = torch.tensor([math.sqrt(abs(s)) for s in scaled], dtype=torch.float64)
            A = merge(kind, As, root * sign, density, sign_method)
            B = merge(kind, Bs, root, density, sign_method)
        out[m + ".lora_A.weight"] = A.float()
        out[m + ".lora_B.weight"] = B.float()
    return out


def main(llama_dir):
    mix_dir = os.path.join(llama_dir, "mix")
    with open(os.path.join(llama_dir, "lora", "adapter_config.json")) as f:
        config_a = json.load(f)
    a = {"config": config_a, "tensors": read_safetensors(os.path.join(llama_dir, "lora", "adapter_model.safetensors"))}
    shapes = {k[:-len(".lora_A.weight")]: (a["tensors"][k.replace("lora_A", "lora_B")].shape[0], t.shape[1])
              for k, t in a["tensors"].items() if k.endswith(".lora_A.weight")}
    b = make_adapter(os.path.join(mix_dir, "adapter_b"), config_a, shapes, 4, 16, False,
                     ["q_proj", "v_proj", "down_proj"], seed=11)
    c = make_adapter(os.path.join(mix_dir, "adapter_c"), config_a, shapes, 2, 4, True, ["q_proj", "o_proj"], seed=12)

    adapters = {"a": a, "b": b, "c": c}
    golden = {}
    for kind, names, weights, density, sign_method, svd_rank in CASES:
        for name, t in combine(kind, [adapters[n] for n in names], weights, density, sign_method, svd_rank).items():
            if name.startswith(LAYER0):  # layer 0 only keeps the fixture small; layer 1 follows the same code
                golden[kind + "/" + name] = t

    # SVD cases: float32 inputs (what finetune4j's safetensors reader takes), decomposed in float64, stored as float32
    g = torch.Generator().manual_seed(13)
    wide = torch.randn(5, 8, generator=g).double()
    low_rank = (torch.randn(7, 2, generator=g) @ torch.randn(2, 6, generator=g)).double()
    for name, matrix in (("wide", wide), ("tall", wide.T.contiguous()), ("low_rank", low_rank)):
        U, S, Vh = torch.linalg.svd(matrix, full_matrices=False)
        golden.update({f"svd_case.{name}/matrix": matrix.float(), f"svd_case.{name}/U": U.float(),
                       f"svd_case.{name}/S": S.float(), f"svd_case.{name}/Vh": Vh.float()})
    write_safetensors(os.path.join(mix_dir, "combined.safetensors"), golden)
    print("torch", torch.__version__, "wrote", len(golden), "tensors to", mix_dir)


if __name__ == "__main__":
    main(sys.argv[1])
