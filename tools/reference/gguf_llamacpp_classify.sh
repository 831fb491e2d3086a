#!/usr/bin/env bash
# llama.cpp as the reference for finetune4j's GGUF export of encoder classifiers (gguf module): exports the cases of
# gguf/src/test/java/dev/finetune4j/gguf/EncoderReferenceCase.java, loads each GGUF in llama.cpp (the release that
# node-llama-cpp@3.22.1 ships, CPU build) and writes gguf/src/test/resources/llamacpp/<case>.json: the SHA-256 of
# the file llama.cpp read, the pooling type and labels it found, its tokens for each text and its scores for each row
# of ids (rank pooling: the classification head on the first token).
#
# usage: tools/reference/gguf_llamacpp_classify.sh
#   LLAMA_NPM_DIR  a folder where node-llama-cpp@3.22.1 is installed already (default: npm installs it into a
#                  temporary folder; npm's registry must be reachable)
#   LLAMA_SRC      llama.cpp's source of that release (default: cloned from the package's git bundle)
# Needs gcc, python3, Maven and JDK 25 (JAVA_HOME).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

source "$ROOT/tools/reference/llamacpp_release.sh"

gcc -O1 -o "$WORK/classify" "$ROOT/tools/reference/gguf_llamacpp_classify.c" -I"$SRC/include" -I"$SRC/ggml/include" \
  -L"$LIB" -l:libllama.v0.5.0.so -l:libggml.v0.5.0.so -l:libggml-base.so -Wl,-rpath,"$LIB"

(cd "$ROOT" && mvn -B -ntp -o -q test -pl gguf -am -Dtest=LlamaCppEncoderFixtureExport \
  -Dsurefire.failIfNoSpecifiedTests=false -Dgguf.encoder.out="$WORK/models")

OUT="$ROOT/gguf/src/test/resources/llamacpp"
mkdir -p "$OUT"
for model in "$WORK"/models/*.gguf; do
  name="$(basename "$model" .gguf)"
  "$WORK/classify" "$LIB" "$model" "$WORK/models/$name.texts" "$(cat "$WORK/models/$name.rows")" > "$WORK/$name.json"
  python3 - "$model" "$WORK/$name.json" "$OUT/$name.json" <<'PY'
import hashlib, json, sys
model, found, out = sys.argv[1:]
result = json.load(open(found))
result = {"sha256": hashlib.sha256(open(model, "rb").read()).hexdigest(), **result}
with open(out, "w") as f:
    json.dump(result, f, separators=(",", ":"))
    f.write("\n")
print(out, result["pooling_type"], result["labels"], [r["scores"] for r in result["rows"]])
PY
done
