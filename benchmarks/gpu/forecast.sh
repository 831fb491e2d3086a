#!/usr/bin/env bash
# The side-by-side configurations of issue 15 on the fake CUDA device (fakecuda:0, core's test classes: every launch
# checked against its kernel's signature, nothing computed), one JSON line each with the step's peak tensor memory,
# launches and product work: what a change does to a GPU step, measured without a GPU. Then greedy generation from
# bf16 weights in both precisions (GenerationBenchmark: per decoding step). Needs `mvn install` (-DskipTests is
# enough) first.
#
#   benchmarks/gpu/forecast.sh > benchmarks/results/logs/gpu-forecast-fakecuda-$(date +%F).jsonl
set -euo pipefail
cd "$(dirname "$0")/../.."
deps=$(mktemp)
mvn -B -q -o -ntp dependency:build-classpath -pl benchmarks -Dmdep.outputFile="$deps" >/dev/null 2>&1
CP="benchmarks/target/classes:core/target/test-classes:$(cat "$deps")"
rm -f "$deps"

# name | config | batch | seq | flags
CONFIGS=(
    "qwen2-0.5b LoRA|qwen2-0.5b-shape|8|512|"
    "llama-1.1b LoRA|llama-1.1b-shape|8|512|"
    "qwen2-0.5b LoRA + checkpointing|qwen2-0.5b-shape|8|512|--gradient-checkpointing"
    "llama-1.1b LoRA + checkpointing|llama-1.1b-shape|8|512|--gradient-checkpointing"
    "llama-1.1b LoRA B2 x S2048|llama-1.1b-shape|2|2048|"
    "llama-1.1b DoRA|llama-1.1b-shape|8|512|--dora"
    "llama-1.1b QLoRA|llama-1.1b-shape|8|512|--qlora"
    "llama-1.1b QLoRA + checkpointing|llama-1.1b-shape|8|512|--qlora --gradient-checkpointing"
    "qwen2.5-7b QLoRA + checkpointing B4 x S1024|qwen2.5-7b-shape|4|1024|--qlora --gradient-checkpointing"
    "qwen2.5-7b LoRA + checkpointing B4 x S1024|qwen2.5-7b-shape|4|1024|--gradient-checkpointing"
)
for entry in "${CONFIGS[@]}"; do
    IFS='|' read -r name config batch seq flags <<< "$entry"
    # shellcheck disable=SC2086
    java -Xmx16g --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp "$CP" \
        dev.finetune4j.benchmarks.gpu.LoraThroughputBenchmark --config "$config" --batch "$batch" --seq "$seq" \
        --steps 1 --warmup 1 --device fakecuda:0 $flags 2>/dev/null | grep '^{' | tail -1 |
        python3 -c 'import json, sys
r = json.loads(sys.stdin.read())
print(json.dumps({"name": sys.argv[1], **{k: r[k] for k in
      ("peak_gib", "launches_per_step", "gemm_tflop_per_step", "gemm_f32_share")}}))' "$name"
done

# name | config | precision | batch | prompt | new tokens
GENERATIONS=(
    "llama-1.1b generation f32|llama-1.1b-shape|f32|8|512|16"
    "llama-1.1b generation bf16-mixed|llama-1.1b-shape|bf16-mixed|8|512|16"
    "qwen2.5-7b generation bf16-mixed|qwen2.5-7b-shape|bf16-mixed|4|1024|8"
)
for entry in "${GENERATIONS[@]}"; do
    IFS='|' read -r name config precision batch prompt new <<< "$entry"
    java -Xmx16g --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp "$CP" \
        dev.finetune4j.benchmarks.gpu.GenerationBenchmark "$config" fakecuda:0 "$precision" "$batch" "$prompt" "$new" \
        2>/dev/null | grep '^{' | tail -1 |
        python3 -c 'import json, sys
r = json.loads(sys.stdin.read())
print(json.dumps({"name": sys.argv[1], **{k: r[k] for k in
      ("peak_gib", "launches_per_step", "gemm_gflop_per_step", "gemm_f32_share")}}))' "$name"
done
