#!/usr/bin/env bash
# CPU-S LoRA training, ours and PyTorch's, on the same two pinned cores of one machine (the GPU machine has
# 16 idle cores and PyTorch; this development machine has neither). Needs the carried folder .device/:
# jre25.tgz (jlink of JDK 25) and lib/ (the benchmarks, core and peft jars and their few dependencies); see
# benchmarks/results/train.md for how it is built. Usage: benchmarks/gpu-machine/cpu-s-side-by-side.sh [rounds]
set -u
cd "$(dirname "$0")/../.."
rounds=${1:-3}
cores=${CORES:-2,3}
runtime=$(mktemp -d)
tar xzf .device/jre25.tgz -C "$runtime"
java="$runtime/jre25/bin/java"

echo "machine: $(nproc) cores; $(lscpu | grep 'Model name' | tr -s ' '); pinned to cores $cores"
echo "ISA: $(grep -o -w 'avx2\|avx512f\|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')"
"$java" -version 2>&1 | head -1
for round in $(seq "$rounds"); do
    echo "== round $round"
    for attention in manual sdpa; do
        OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 taskset -c "$cores" \
            python3 tools/reference/cpu_s_lora_torch.py --threads 2 --attention "$attention"
    done
    for heap in 1g 512m; do
        echo "finetune4j -Xmx$heap"
        taskset -c "$cores" "$java" -XX:ActiveProcessorCount=2 -Xmx$heap --enable-native-access=ALL-UNNAMED \
            --add-modules jdk.incubator.vector -cp ".device/lib/*" \
            dev.finetune4j.benchmarks.train.LoraTrainBenchmark 2>&1 | grep -v -i warning
    done
done
