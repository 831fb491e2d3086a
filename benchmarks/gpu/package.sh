#!/usr/bin/env bash
# Builds the folder the GPU check and the side-by-side benchmark run from on a bare GPU machine
# (benchmarks/gpu/check.sh, benchmarks/gpu/side-by-side.sh): a jlink'd JDK 25 (jdk.tgz), core's classes and test
# classes, their dependencies (with core's test scope: JUnit's console launcher, an SLF4J binding), peft's and the
# benchmarks' classes, and the commit they were built from (commit.txt), in .device/gpu (git-ignored; name it in
# the device tool's carry). Fails if the folder is over the 48 MiB it may take of the 64 MiB that travel with the
# working tree.
#
#   benchmarks/gpu/package.sh
# Environment: JAVA_HOME (a JDK 25; default /usr/lib/jvm/temurin-25-jdk-amd64), M2 (default ~/.m2/repository).
set -euo pipefail
cd "$(dirname "$0")/../.."
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
export JAVA_HOME PATH="$JAVA_HOME/bin:$PATH"
M2=${M2:-$HOME/.m2/repository}
JUNIT=$(sed -n 's:.*<junit.version>\(.*\)</junit.version>.*:\1:p' pom.xml)
CONSOLE="$M2/org/junit/platform/junit-platform-console-standalone/$JUNIT/junit-platform-console-standalone-$JUNIT.jar"
OUTDIR=.device/gpu
LIMIT_MIB=48

if [ ! -f "$CONSOLE" ]; then
    mvn -B -ntp -q dependency:get -Dartifact="org.junit.platform:junit-platform-console-standalone:$JUNIT"
fi
# Compiles core and its tests, and the benchmarks with what they need, without running them (no install into ~/.m2).
mvn -B -ntp -o -q test-compile -pl core,benchmarks -am
mvn -B -ntp -o -q dependency:build-classpath -pl core -Dmdep.includeScope=test -Dmdep.outputFile="$PWD/core/target/gpu-classpath.txt"

rm -rf "$OUTDIR"
mkdir -p "$OUTDIR/lib" "$OUTDIR/test-classes"
# NOTE: java.xml is added to the brief's module list: the console launcher writes its XML report with it.
# The runtime travels as a gzip'd tar: its libjvm.so alone would take 29 of the 64 MiB.
runtime=$(mktemp -d)
jlink --add-modules java.base,jdk.incubator.vector,java.logging,jdk.unsupported,java.xml \
    --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output "$runtime/jdk"
tar czf "$OUTDIR/jdk.tgz" -C "$runtime" jdk
rm -rf "$runtime"
cp -r core/target/classes "$OUTDIR/classes"
# Test classes only: the GPU tests read no fixtures, and the fixtures would take room the limit needs.
cp -r core/target/test-classes/dev core/target/test-classes/META-INF "$OUTDIR/test-classes/"
cp "$CONSOLE" "$OUTDIR/lib/junit-platform-console-standalone.jar"
# The benchmark's classes over core's: peft's and its own (the JMH, eval and data classes beside it are not loaded;
# Jackson and SLF4J come with core's dependencies in lib).
cp -r peft/target/classes "$OUTDIR/peft-classes"
cp -r benchmarks/target/classes "$OUTDIR/bench-classes"
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!benchmarks/results' || echo '-dirty')" > "$OUTDIR/commit.txt"
# JUnit comes inside the console launcher; the tokenizers' native library is not needed by the GPU tests.
tr ':' '\n' < core/target/gpu-classpath.txt | grep -v -e /org/junit/ -e /org/opentest4j/ -e /org/apiguardian/ \
    -e /ai/djl/huggingface/ | while read -r jar; do cp "$jar" "$OUTDIR/lib/"; done

size_mib=$(( $(du -sb "$OUTDIR" | cut -f1) / 1048576 ))
echo "$OUTDIR: ${size_mib} MiB (limit ${LIMIT_MIB} MiB)"
if [ "$size_mib" -gt "$LIMIT_MIB" ]; then
    echo "too large to travel with the working tree; drop dependencies the GPU tests do not need" >&2
    exit 1
fi
