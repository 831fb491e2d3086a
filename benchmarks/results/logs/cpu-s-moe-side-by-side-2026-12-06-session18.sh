#!/usr/bin/env bash
cd /work/main
. /work/env.sh
echo "machine: $(nproc) cores; $(lscpu | grep 'Model name' | tr -s ' '); load $(cat /proc/loadavg)"
echo "commit $(git rev-parse --short HEAD) + working tree"
echo "BLAS: $(ldconfig -p | grep -o 'libopenblas.so.0' | head -1) (Debian libopenblas0-pthread)"
for round in 1 2 3; do
  echo "== round $round $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
  OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 /usr/bin/python3 tools/reference/cpu_s_lora_torch.py --threads 2 --moe
  OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 /usr/bin/python3 tools/reference/cpu_s_lora_torch.py --threads 2
  java -XX:ActiveProcessorCount=2 -Xmx1g --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector \
      -cp benchmarks/target/benchmarks.jar dev.finetune4j.benchmarks.train.LoraTrainBenchmark --moe 2>&1 | grep -v -i warning
  java -XX:ActiveProcessorCount=2 -Xmx1g --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector \
      -cp benchmarks/target/benchmarks.jar dev.finetune4j.benchmarks.train.LoraTrainBenchmark 2>&1 | grep -v -i warning
done
