#!/usr/bin/env bash
# Issue 15's side-by-side measurement on a bare GPU machine: for each configuration, our LoraThroughputBenchmark
# and then Hugging Face PEFT (hf_peft_bench.py, beside this script), one after the other, from the folder
# benchmarks/gpu/package.sh built (.device/gpu). Writes under $OUT/side-by-side: results.jsonl (one JSON line per run),
# side-by-side.md (the table with card, date and commit), logs/ (each run's output) and environment.txt.
# The whole call keeps within BUDGET_S seconds (default 450, inside the device call's 8 minutes): a run that
# would start with less than MIN_RUN_S (default 45) left is skipped, and the table says so.
#
#   device run, carry [".device/gpu"]:  benchmarks/gpu/side-by-side.sh
#   dry run of the plumbing on a CPU:    SHAPES=tiny benchmarks/gpu/side-by-side.sh
# SHAPES=tiny swaps every configuration's model for the tiny shape on the CPU (B2 x S32, 1 + 2 steps); the anchor
# has no tiny shape, so its runs are skipped then, as they are wherever python3's torch has no CUDA.
# Each run of ours ends with one profiled step (after the timed ones): the table's second part says where its device
# time went, by kernel and product shape, and each run's log holds the whole profile.
# After the configurations, ATTENTION_S seconds (default 40, kept out of their budget) time the attention kernels alone
# (AttentionKernelBenchmark: one llama-1.1b layer, f32 and bf16 inputs): attention.jsonl and the table's last section.
# Every configuration of ours runs in PRECISION (default bf16-mixed: bf16 frozen weights and BF16_MIXED training,
# the anchor's bf16 model; f32 for float32), and its JSON line says which.
set -uo pipefail
cd "$(dirname "$0")/../.."
PKG=.device/gpu
# a folder of its own, so that check.sh can write to the same $OUT in the same device call
OUT=${OUT:-$PKG/out}/side-by-side
BUDGET_S=${BUDGET_S:-450}
MIN_RUN_S=${MIN_RUN_S:-45}
ATTENTION_S=${ATTENTION_S:-40}
SHAPES=${SHAPES:-real}
PRECISION=${PRECISION:-bf16-mixed}
START=$(date +%s)
mkdir -p "$OUT/logs"
: > "$OUT/results.jsonl"
: > "$OUT/runs.tsv"

runtime=$(mktemp -d)
if ! "$(dirname "$0")/unpack.sh" "$PKG" "$runtime" 2>&1 | tee -a "$OUT/side-by-side.md"; then
    exit 2
fi
CP="$runtime/classes/benchmarks.jar:$runtime/classes/peft.jar:$runtime/classes/core.jar"
for jar in "$runtime"/lib/*.jar; do
    [ "$(basename "$jar")" = junit-platform-console-standalone.jar ] || CP="$CP:$jar"
done
{
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
    python3 -c 'import torch, transformers, peft; print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
                "transformers", transformers.__version__, "peft", peft.__version__)' 2>&1
} > "$OUT/environment.txt"

if [ "$SHAPES" = tiny ]; then
    # DEVICE=emucuda:0 runs the dry run on the CUDA backend with its kernels emulated on the CPU (needs g++).
    DEVICE=${DEVICE:-cpu}; XMX=2g; STEPS=2; WARMUP=1; HF_WARMUP=1; HF_SKIP="the anchor has no tiny shape (dry run)"
    # The emulated device's provider is one of core's test classes, registered by its test resources (which travel
    # in the working tree, not in the package).
    [[ "$DEVICE" != emucuda:* ]] || CP="$CP:$runtime/test-classes/core.jar:core/src/test/resources"
else
    # Untimed steps first, so that both systems are timed in their steady state. The anchor's eager PyTorch reaches it
    # in a few steps (8). The JVM compiles our step's host code by call counts, so over tens of steps: on the fake
    # device (2 cores) the host's time per llama step over the 30 steps after the first 10 is 40 ms, after 25 24-28 ms,
    # after 40 20-22 ms and after 60 11-15 ms (results/logs/host-warmup-fakecuda-2026-12-05-session8.txt); while it
    # exceeds the device's time the device waits. 40 keeps the run inside its budget.
    DEVICE=cuda:0; XMX=${XMX:-96g}; STEPS=10; WARMUP=40; HF_WARMUP=8; HF_SKIP=""
    python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null || HF_SKIP="python3's torch has no CUDA here"
fi

# name | config | batch | seq | flags | systems (ours, hf: QLoRA has no anchor without bitsandbytes)
CONFIGS=(
    "qwen2-0.5b LoRA|qwen2-0.5b-shape|8|512||ours hf"
    "llama-1.1b LoRA|llama-1.1b-shape|8|512||ours hf"
    "qwen2-0.5b LoRA + checkpointing|qwen2-0.5b-shape|8|512|--gradient-checkpointing|ours hf"
    "llama-1.1b LoRA + checkpointing|llama-1.1b-shape|8|512|--gradient-checkpointing|ours hf"
    "llama-1.1b LoRA B2 x S2048|llama-1.1b-shape|2|2048||ours hf"
    "llama-1.1b DoRA|llama-1.1b-shape|8|512|--dora|ours hf"
    "llama-1.1b QLoRA|llama-1.1b-shape|8|512|--qlora|ours"
    # as PEFT's QLoRA recipe trains (prepare_model_for_kbit_training turns checkpointing on)
    "llama-1.1b QLoRA + checkpointing|llama-1.1b-shape|8|512|--qlora --gradient-checkpointing|ours"
    # checkpointed, as QLoRA practice trains a 7B (28 layers of activations at 4,096 tokens do not fit 12 GiB)
    "qwen2.5-7b QLoRA + checkpointing B4 x S1024|qwen2.5-7b-shape|4|1024|--qlora --gradient-checkpointing|ours"
)

# Runs one benchmark with what is left of the budget; records "name, system, status[, JSON line]" in runs.tsv.
run_one() {
    local name=$1 system=$2 log=$3; shift 3
    local left=$(( BUDGET_S - ATTENTION_S - ($(date +%s) - START) ))
    if [ "$left" -lt "$MIN_RUN_S" ]; then
        printf '%s\t%s\tskipped: %s s of the %s s budget left\n' "$name" "$system" "$left" "$BUDGET_S" >> "$OUT/runs.tsv"
        return
    fi
    timeout "$left" "$@" > "$log" 2>&1
    local status=$?
    local line
    line=$(grep '^{' "$log" | tail -1)
    if [ "$status" = 0 ] && [ -n "$line" ]; then
        echo "$line" >> "$OUT/results.jsonl"
        printf '%s\t%s\tok\t%s\n' "$name" "$system" "$line" >> "$OUT/runs.tsv"
    elif [ "$status" = 124 ]; then
        printf '%s\t%s\tstopped after %s s: the budget ran out\n' "$name" "$system" "$left" >> "$OUT/runs.tsv"
    else
        printf '%s\t%s\tfailed (exit %s): %s\n' "$name" "$system" "$status" \
            "$(grep -m1 -E 'Exception|Error' "$log" | cut -c1-160)" >> "$OUT/runs.tsv"
    fi
}

i=0
for entry in "${CONFIGS[@]}"; do
    IFS='|' read -r name config batch seq flags systems <<< "$entry"
    i=$((i + 1))
    if [ "$SHAPES" = tiny ]; then config=tiny; batch=2; seq=32; fi
    for system in $systems; do
        log="$OUT/logs/$i-$system.log"
        if [ "$system" = ours ]; then
            # shellcheck disable=SC2086
            run_one "$name" finetune4j "$log" "$runtime/jdk/bin/java" --enable-native-access=ALL-UNNAMED \
                --add-modules jdk.incubator.vector -Xmx"$XMX" -cp "$CP" \
                dev.finetune4j.benchmarks.gpu.LoraThroughputBenchmark --config "$config" --batch "$batch" \
                --seq "$seq" --steps "$STEPS" --warmup "$WARMUP" --device "$DEVICE" --precision "$PRECISION" --profile \
                $flags
        elif [ -n "$HF_SKIP" ]; then
            printf '%s\t%s\tskipped: %s\n' "$name" hf-peft "$HF_SKIP" >> "$OUT/runs.tsv"
        else
            # shellcheck disable=SC2086
            run_one "$name" hf-peft "$log" python3 benchmarks/gpu/hf_peft_bench.py --config "$config" \
                --batch "$batch" --seq "$seq" --steps "$STEPS" --warmup "$HF_WARMUP" $flags
        fi
    done
done

ATTENTION_ARGS=""
[ "$SHAPES" != tiny ] || ATTENTION_ARGS="1 4 2 64 32 2"
left=$(( BUDGET_S - ($(date +%s) - START) ))
# shellcheck disable=SC2086
timeout "$(( left > 5 ? left : 5 ))" "$runtime/jdk/bin/java" --enable-native-access=ALL-UNNAMED \
    --add-modules jdk.incubator.vector -Xmx"$XMX" -cp "$CP" dev.finetune4j.benchmarks.gpu.AttentionKernelBenchmark \
    "$DEVICE" $ATTENTION_ARGS > "$OUT/logs/attention.log" 2>&1
grep '^{' "$OUT/logs/attention.log" > "$OUT/attention.jsonl"

CARD=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
{
    python3 benchmarks/gpu/side_by_side_table.py "$OUT/runs.tsv" "${CARD:-no GPU (cpu dry run)}" \
        "$(cat "$PKG/commit.txt" 2>/dev/null || echo unknown)" "$SHAPES"
    echo
    echo "## Attention kernels alone (AttentionKernelBenchmark $DEVICE $ATTENTION_ARGS)"
    echo
    if [ -s "$OUT/attention.jsonl" ]; then
        sed 's/^/    /' "$OUT/attention.jsonl"
    else
        echo "Not measured: $(grep -m1 -E 'Exception|Error' "$OUT/logs/attention.log" | cut -c1-160 || true)"
    fi
} > "$OUT/side-by-side.md"
cat "$OUT/side-by-side.md"
echo "side-by-side: $(( $(date +%s) - START )) s of the $BUDGET_S s budget"
rm -rf "$runtime"
