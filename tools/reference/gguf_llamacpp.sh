#!/usr/bin/env bash
# llama.cpp as the reference for finetune4j's GGUF export (gguf module). Exports the tiny test models of
# gguf/src/test/java/dev/finetune4j/gguf/ReferenceCase.java, loads each GGUF in llama.cpp (the release that
# node-llama-cpp@3.22.1 ships, CPU build), reads it a second time with gguf-py's GGUFReader, and writes
# gguf/src/test/resources/llamacpp/<case>.json.gz (gzipped: the logits are most of the repository's weight on the GPU
# machine, where the working tree travels): the SHA-256 of the file llama.cpp read, llama.cpp's tokens for
# the texts, its logits for every position of the ids (float32 in base64; for a case that asks for it, an LFM2
# one, decoded in ubatches of that many tokens, recorded as n_ubatch), and what GGUFReader found. For a K-quant case (Q4_K_M, Q5_K_M,
# Q6_K...) or an I-quant one (IQ3_S, IQ4_NL, IQ4_XS) llama.cpp's llama-quantize also quantizes the case's float32 export, and the fixture lists what it wrote
# (each tensor's name, type, dimensions and the SHA-256 of its data), which the export must equal; an importance-matrix
# case passes llama-quantize the importance matrix finetune4j collected (written by LlamaCppFixtureExport), and
# llama.cpp's imatrix reader loads the matrix as ImportanceMatrix.save wrote it.
#
# usage: tools/reference/gguf_llamacpp.sh
#   CASES          a regular expression: only the cases whose name matches are exported and their fixtures written
#                  again (default: every case)
#   LLAMA_NPM_DIR  a folder where node-llama-cpp@3.22.1 is installed already (default: npm installs it into a
#                  temporary folder; npm's registry must be reachable)
#   LLAMA_SRC      llama.cpp's source of that release (default: cloned from the package's git bundle)
# Needs gcc, python3 with numpy, Maven and JDK 25 (JAVA_HOME).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

source "$ROOT/tools/reference/llamacpp_release.sh"

for tool in gguf_llamacpp llama_quantize; do
  gcc -O1 -o "$WORK/$tool" "$ROOT/tools/reference/$tool.c" -I"$SRC/include" -I"$SRC/ggml/include" \
    -L"$LIB" -l:libllama.v0.5.0.so -l:libggml.v0.5.0.so -l:libggml-base.so -Wl,-rpath,"$LIB"
done
g++ -std=c++17 -O1 -o "$WORK/imatrix_read" "$ROOT/tools/reference/imatrix_read.cpp" -I"$SRC/common" \
  -I"$SRC/include" -I"$SRC/ggml/include" -L"$LIB" -l:libllama-common.so -l:libllama.v0.5.0.so -l:libggml.v0.5.0.so \
  -l:libggml-base.so -Wl,-rpath,"$LIB"

(cd "$ROOT" && mvn -B -ntp -o -q test -pl gguf -am -Dtest=LlamaCppFixtureExport \
  -Dsurefire.failIfNoSpecifiedTests=false -Dgguf.reference.out="$WORK/models" -Dgguf.reference.cases="${CASES:-.*}")

OUT="$ROOT/gguf/src/test/resources/llamacpp"
mkdir -p "$OUT"
for model in "$WORK"/models/*.gguf; do
  name="$(basename "$model" .gguf)"
  [[ "$name" == *.lora || "$name" == *.f32 || "$name" == *.imatrix ]] && continue
  lora="$WORK/models/$name.lora.gguf"
  [[ -f "$lora" ]] || lora=""
  ubatch=""
  [[ -f "$WORK/models/$name.ubatch" ]] && ubatch="$(cat "$WORK/models/$name.ubatch")"
  UBATCH="$ubatch" "$WORK/gguf_llamacpp" "$LIB" "$model" "$WORK/models/$name.texts" "$(cat "$WORK/models/$name.ids")" \
    $lora > "$WORK/$name.llamacpp.json"
  quantized=""
  if [[ -f "$WORK/models/$name.f32.gguf" ]]; then
    quantized="$WORK/$name.llama-quantize.gguf"
    ftype="$(PYTHONPATH="$SRC/gguf-py" python3 -c 'import sys; from gguf import GGUFReader
print(GGUFReader(sys.argv[1]).fields["general.file_type"].contents())' "$model")"
    imatrix=""
    [[ -f "$WORK/models/$name.imatrix" ]] && imatrix="$WORK/models/$name.imatrix"
    "$WORK/llama_quantize" "$WORK/models/$name.f32.gguf" "$quantized" "$ftype" $imatrix 2> "$WORK/$name.quantize.log"
  fi
  imatrix_read=""
  if [[ -f "$WORK/models/$name.imatrix.gguf" ]]; then
    imatrix_read="$WORK/$name.imatrix.read"
    "$WORK/imatrix_read" "$WORK/models/$name.imatrix.gguf" > "$imatrix_read"
  fi
  QUANTIZED="$quantized" IMATRIX_FILE="${imatrix_read:+$WORK/models/$name.imatrix.gguf}" IMATRIX_READ="$imatrix_read" \
    PYTHONPATH="$SRC/gguf-py" python3 - "$model" "$WORK/$name.llamacpp.json" "$WORK/models/$name.texts" "$OUT/$name.json.gz" $lora <<'PY'
import base64, gzip, hashlib, json, os, sys
import numpy as np
from gguf import GGUFReader

model, llamacpp, texts, out = sys.argv[1:5]
lora = sys.argv[5] if len(sys.argv) > 5 else None
reference = json.load(open(llamacpp))
reader = GGUFReader(model)

# llama-quantize's mixes: the K-quant ones and the I-quant ones
K_MIXES = {11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 15: "Q4_K_M", 17: "Q5_K_M", 18: "Q6_K", 25: "IQ4_NL",
           26: "IQ3_S", 30: "IQ4_XS"}

def matrix_type(file_type):
    return {0: "F32", 1: "F16", 32: "BF16", 7: "Q8_0", **K_MIXES}[file_type]

def check_types(reader, matrix):
    """1-D tensors, norms, learned positions, expert routers, biases (gpt-oss's stacked experts' are 2-D), the
    recurrent layers' convolution kernels (LFM2's shortconv.conv too) and Mamba-2's ssm_a and ssm_d (H, 1) stay F32,
    as does Gemma 4's per_layer_model_proj in a K-quant mix (llama-quantize keeps it); matrices (stacked experts too)
    take the file's type (Q8_0 rows that are not whole blocks: F16)."""
    tensors = []
    for t in reader.tensors:
        dims = [int(d) for d in t.shape]
        kind = t.tensor_type.name
        router = t.name.endswith((".ffn_gate_inp.weight", ".ffn_gate_inp_shexp.weight"))
        if (len(dims) == 1 or t.name.endswith("_norm.weight") or t.name == "position_embd.weight" or router
                or t.name.endswith(".bias")
                or t.name.endswith((".ssm_conv1d.weight", ".shortconv.conv.weight", ".ssm_a", ".ssm_d"))
                or matrix in K_MIXES.values() and t.name == "per_layer_model_proj.weight"):
            assert kind == "F32", (t.name, kind)
        elif matrix in K_MIXES.values():
            assert kind in ("Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q4_0", "Q5_0", "Q5_1", "Q8_0", "F16", "IQ3_S",
                            "IQ4_NL", "IQ4_XS"), (t.name, kind, matrix)
        else:
            assert kind == matrix or (matrix == "Q8_0" and kind == "F16" and dims[0] % 32 != 0), (t.name, kind, matrix)
        assert t.n_elements == int(np.prod(dims)), t.name
        tensors.append([t.name, kind, dims])
    return tensors

def value(field):
    return field.contents()

def float32_block(rows):
    """The (T, V) logits as little-endian float32 in base64: a third smaller than their decimals, as exact."""
    a = np.asarray(rows, dtype=np.float32)
    return {"shape": list(a.shape), "float32le": base64.b64encode(a.astype("<f4").tobytes()).decode("ascii")}

meta = {k: value(f) for k, f in reader.fields.items() if not k.startswith("tokenizer.ggml.") or k.endswith("_id")
        or k.endswith("model") or k.endswith("pre") or k.startswith("tokenizer.ggml.add")}
n_tokens = len(reader.fields["tokenizer.ggml.tokens"].contents())
assert n_tokens == reference["n_vocab"], (n_tokens, reference["n_vocab"])
tensors = check_types(reader, matrix_type(meta["general.file_type"]))
with open(texts, encoding="utf-8") as f:
    text_list = [line.rstrip("\n") for line in f]
fixture = {
    "sha256": hashlib.sha256(open(model, "rb").read()).hexdigest(),
    "gguf_py": {"metadata": meta, "tensors": tensors, "token_count": n_tokens},
    "texts": [{"text": t, **r} for t, r in zip(text_list, reference["texts"])],
    "ids": reference["ids"],
    "logits": float32_block(reference["logits"]),
}
if reference["n_ubatch"] < len(reference["ids"]):
    fixture["n_ubatch"] = reference["n_ubatch"]  # decoded in several ubatches (a case that asked for it)
if lora:
    adapter = GGUFReader(lora)
    lora_meta = {k: f.contents() for k, f in adapter.fields.items()}
    assert lora_meta["general.type"] == "adapter" and lora_meta["adapter.type"] == "lora", lora_meta
    assert lora_meta["general.architecture"] == meta["general.architecture"]
    names = {t.name: [int(d) for d in t.shape] for t in adapter.tensors}
    base = {t[0]: t[2] for t in tensors}
    for n, dims in names.items():
        stem = n[: -len(".lora_a")]
        assert n.endswith((".lora_a", ".lora_b")) and stem in base, n
        a, b = names[stem + ".lora_a"], names[stem + ".lora_b"]
        assert a[0] == base[stem][0] and b[1] == base[stem][1] and a[1] == b[0], (n, a, b, base[stem])
    fixture["lora"] = {"sha256": hashlib.sha256(open(lora, "rb").read()).hexdigest(), "metadata": lora_meta,
                       "tensors": check_types(adapter, matrix_type(lora_meta["general.file_type"]))}
if os.environ["QUANTIZED"]:
    # what llama-quantize wrote from the float32 export: the tensors the K-quant export must equal
    quantized = GGUFReader(os.environ["QUANTIZED"])
    assert quantized.fields["general.file_type"].contents() == meta["general.file_type"]
    fixture["llama_quantize"] = [[t.name, t.tensor_type.name, [int(d) for d in t.shape],
                                  hashlib.sha256(t.data.tobytes()).hexdigest()] for t in quantized.tensors]
def imatrix_entry(e):
    """The first count and the SHA-256 of the sums; a mixture's stacked experts add every expert's count."""
    counts = [int(n) for n in e[1].split(",")]
    sums = hashlib.sha256(b"".join(bytes.fromhex(v)[::-1] for v in e[2:])).hexdigest()
    return [counts[0], sums] + ([counts] if len(counts) > 1 else [])

if os.environ["IMATRIX_READ"]:
    # what llama.cpp's imatrix reader (common_imatrix_load) found in finetune4j's saved importance matrix
    with open(os.environ["IMATRIX_READ"]) as f:
        head, *entries = [line.rstrip("\n").split("\t") for line in f]
    fixture["imatrix_file"] = {
        "sha256": hashlib.sha256(open(os.environ["IMATRIX_FILE"], "rb").read()).hexdigest(),
        "has_metadata": head[0] == "1", "is_legacy": head[1] == "1", "chunk_count": int(head[2]),
        "chunk_size": int(head[3]), "datasets": head[4:],
        "entries": {e[0]: imatrix_entry(e) for e in entries}}
# mtime 0 and no file name in the header: the same fixture gives the same bytes
with open(out, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
    f.write(json.dumps(fixture, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
print(f"{out}: {len(tensors)} tensors, {n_tokens} tokens, {len(reference['ids'])} positions of logits")
PY
done
