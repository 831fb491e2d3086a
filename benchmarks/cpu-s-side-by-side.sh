#!/usr/bin/env bash
# CPU-S LoRA training, ours (LoraTrainBenchmark) and PyTorch's (tools/reference/cpu_s_lora_torch.py), one after
# the other on the same pinned cores, round after round, so that both see the same machine.
#
#   benchmarks/cpu-s-side-by-side.sh [rounds]
# Environment: CORES (default 2,3), PYTHON (a python3 with torch; default python3), JAVA and CP (default: the
# runtime and jars carried in .device/, see benchmarks/results/train.md; else java and benchmarks/target/benchmarks.jar).
# On the development machine: JAVA=$JAVA_HOME/bin/java CP=benchmarks/target/benchmarks.jar PYTHON=/usr/bin/python3 \
#   CORES=0,1 benchmarks/cpu-s-side-by-side.sh 3
set -u
cd "$(dirname "$0")/.."
rounds=${1:-3}
cores=${CORES:-2,3}
python=${PYTHON:-python3}
if [ -z "${JAVA:-}" ] && [ -f .device/jre25.tgz ]; then
    runtime=$(mktemp -d)
    tar xzf .device/jre25.tgz -C "$runtime"
    JAVA="$runtime/jre25/bin/java"
    CP=${CP:-.device/lib/*}
fi
java=${JAVA:-java}
classpath=${CP:-benchmarks/target/benchmarks.jar}

echo "machine: $(nproc) cores; $(lscpu | grep 'Model name' | tr -s ' '); pinned to cores $cores"
echo "ISA: $(grep -o -w 'avx2\|avx512f\|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')"
"$java" -version 2>&1 | head -1
for round in $(seq "$rounds"); do
    echo "== round $round"
    for attention in manual sdpa; do
        OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 taskset -c "$cores" \
            "$python" tools/reference/cpu_s_lora_torch.py --threads 2 --attention "$attention"
    done
    for heap in 1g 512m; do
        echo "finetune4j -Xmx$heap"
        taskset -c "$cores" "$java" -XX:ActiveProcessorCount=2 -Xmx$heap --enable-native-access=ALL-UNNAMED \
            --add-modules jdk.incubator.vector -cp "$classpath" \
            dev.finetune4j.benchmarks.train.LoraTrainBenchmark 2>&1 | grep -v -i warning
    done
done
