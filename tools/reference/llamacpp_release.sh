# Sourced by the llama.cpp reference scripts (gguf_llamacpp.sh, gguf_llamacpp_classify.sh), with WORK a temporary
# folder: sets LIB, the folder of the CPU build of llama.cpp that node-llama-cpp@3.22.1 ships, and SRC, that release's
# source, from LLAMA_NPM_DIR and LLAMA_SRC when given, else npm-installed and cloned into WORK.
NPM_DIR="${LLAMA_NPM_DIR:-}"
if [[ -z "$NPM_DIR" ]]; then
  NPM_DIR="$WORK/npm"
  mkdir -p "$NPM_DIR"
  (cd "$NPM_DIR" && npm install --no-save --ignore-scripts --no-audit --no-fund node-llama-cpp@3.22.1 >/dev/null)
fi
LIB="$NPM_DIR/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
SRC="${LLAMA_SRC:-}"
if [[ -z "$SRC" ]]; then
  SRC="$WORK/llama.cpp"
  git clone --quiet "$NPM_DIR/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$SRC"
fi
