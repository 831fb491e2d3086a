#!/usr/bin/env bash
# Runs every benchmark of benchmarks/RESULTS.md one after the other, for one quiet window on one machine.
# Usage: benchmarks/run-all.sh CORPORA_DIR LOG_DIR
#   CORPORA_DIR: written by `python3 ../shared/bench/corpora.py --dump CORPORA_DIR` (the anchors' exact corpora)
# Needs JDK 25 on PATH and `mvn -B -q -ntp install -DskipTests` done first (the shaded benchmarks jar).
set -euo pipefail
corpora=$1
logs=$2
mkdir -p "$logs"
jar=benchmarks/target/benchmarks.jar
flags=(--enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector)
run() {
  local name=$1
  shift
  echo "== $name (load: $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$logs/summary.txt"
  "$@" > "$logs/$name.log" 2>&1
  tail -n 12 "$logs/$name.log" | tee -a "$logs/summary.txt"
}
run jmh-core java -jar "$jar" 'core\.(Matmul|DecoderForward)Benchmark' -f 1 -wi 3 -i 5
run lora-train java -Xmx1g "${flags[@]}" -cp "$jar" dev.finetune4j.benchmarks.train.LoraTrainBenchmark
run metrics java "${flags[@]}" -cp "$jar" dev.finetune4j.benchmarks.eval.MetricsThroughput "$corpora" 3
run dedup java -Xmx3g "${flags[@]}" -cp "$jar" dev.finetune4j.benchmarks.data.DedupBenchmark "$corpora/dedup_docs.jsonl"
