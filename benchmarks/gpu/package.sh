#!/usr/bin/env bash
# Builds the folder the GPU check and the side-by-side benchmark run from on a bare GPU machine
# (benchmarks/gpu/check.sh, benchmarks/gpu/side-by-side.sh) in .device/gpu (git-ignored; name it in the device
# tool's carry):
#   jdk.tar.xz      a jlink'd JDK 25 (modules uncompressed and libjvm stripped, so that xz packs them tighter: 14 MB
#                   against gzip's 22; benchmarks/gpu/unpack-jdk.sh unpacks it, with Python where xz is missing)
#   classes/M.jar   the classes and resources of modules core, peft, data, eval, gguf, samples and benchmarks, each
#                   as a jar (a third of their size as folders)
#   test-classes/M.jar  the test classes of core, peft and samples, without their resources, each as a jar: the
#                   fixtures travel in the working tree (src/test/resources), and check.sh puts them on the class
#                   path from there
#   lib             the libraries those classes load (Jackson, SLF4J, Guava, picocli) and JUnit's console launcher
#   commit.txt      the commit they were built from
# The working tree and the carried folders may take 64 MiB together; this fails if the folder would leave less than
# HEADROOM_MIB of that.
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
LIMIT_MIB=64
HEADROOM_MIB=2
MODULES="core peft data eval gguf samples benchmarks"
TESTED="core peft samples"
# The libraries the GPU suite, the quickstart and the benchmark load. Not carried: the Hugging Face tokenizers'
# native library (no test on the GPU reads a tokenizer.json), Lucene (data augmentation), and what the other modules
# bring (Spark, Helidon, ONNX Runtime).
LIBS='^(jackson-(core|databind|annotations)|slf4j-(api|simple)|guava|failureaccess|picocli)-[0-9]'

if [ ! -f "$CONSOLE" ]; then
    mvn -B -ntp -q dependency:get -Dartifact="org.junit.platform:junit-platform-console-standalone:$JUNIT"
fi
# Compiles the modules and their tests without running them; installs nothing into ~/.m2.
mvn -B -ntp -o -q test-compile -pl "$(echo $MODULES | tr ' ' ',')" -am
mvn -B -ntp -o -q dependency:build-classpath -pl samples -Dmdep.includeScope=test \
    -Dmdep.outputFile="$PWD/samples/target/gpu-classpath.txt"

rm -rf "$OUTDIR"
mkdir -p "$OUTDIR/lib" "$OUTDIR/classes" "$OUTDIR/test-classes"
# NOTE: java.xml and jdk.zipfs are added to the brief's module list: the console launcher writes its XML report with
# the one and scans the test jars through the other.
runtime=$(mktemp -d)
jlink --add-modules java.base,jdk.incubator.vector,java.logging,jdk.unsupported,java.xml,jdk.zipfs \
    --strip-debug --no-man-pages --no-header-files --compress=zip-0 --output "$runtime/jdk"
strip --strip-unneeded "$runtime/jdk/lib/server/libjvm.so"
tar cf - -C "$runtime" jdk | xz -9e -T2 > "$OUTDIR/jdk.tar.xz"
rm -rf "$runtime"
for m in $MODULES; do
    jar --create --file "$OUTDIR/classes/$m.jar" -C "$m/target/classes" .
done
for m in $TESTED; do
    jar --create --file "$OUTDIR/test-classes/$m.jar" -C "$m/target/test-classes" dev
done
cp "$CONSOLE" "$OUTDIR/lib/junit-platform-console-standalone.jar"
tr ':' '\n' < samples/target/gpu-classpath.txt | while read -r jar; do
    if basename "$jar" | grep -Eq "$LIBS"; then cp "$jar" "$OUTDIR/lib/"; fi
done
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!benchmarks/results' || echo '-dirty')" > "$OUTDIR/commit.txt"

tree_mib=$(( $(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1) / 1048576 ))
size_mib=$(( $(du -sb "$OUTDIR" | cut -f1) / 1048576 ))
echo "$OUTDIR: ${size_mib} MiB, with the working tree's ${tree_mib} MiB $((size_mib + tree_mib)) of ${LIMIT_MIB} MiB"
if [ $((size_mib + tree_mib + HEADROOM_MIB)) -gt "$LIMIT_MIB" ]; then
    echo "too large to travel with the working tree; drop what the GPU run does not load" >&2
    exit 1
fi
