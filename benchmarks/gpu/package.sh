#!/usr/bin/env bash
# Builds the folder the GPU check and the side-by-side benchmark run from on a bare GPU machine
# (benchmarks/gpu/check.sh, benchmarks/gpu/side-by-side.sh) in .device/gpu (git-ignored; name it in the device
# tool's carry):
#   runtime.tar.xz  one xz archive (benchmarks/gpu/unpack.sh unpacks it, with Python where xz is missing) of
#     jdk/              a jlink'd JDK 25 (modules uncompressed and libjvm stripped, so that xz packs them tighter)
#     classes/M.jar     the classes and resources of modules core, peft, data, eval, gguf, samples and benchmarks
#     test-classes/M.jar  the test classes of core, peft and samples, without their resources: the fixtures travel
#                       in the working tree (src/test/resources), and check.sh puts them on the class path from there
#     lib/              the libraries those classes load (Jackson, SLF4J, Guava, picocli) and JUnit's console launcher
#   every jar stored without compression, so that xz compresses the class files themselves: 5.5 MB of jars where
#   their deflated copies took 12.5 MB, however packed
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
HEADROOM_MIB=1
MODULES="core peft data eval gguf samples benchmarks"
TESTED="core peft samples"
# The libraries the GPU suite, the quickstart and the benchmark load. Not carried: the Hugging Face tokenizers'
# native library (no test on the GPU reads a tokenizer.json), Lucene (data augmentation), and what the other modules
# bring (Spark, Helidon, ONNX Runtime).
LIBS='^(jackson-(core|databind|annotations)|slf4j-(api|simple)|guava|failureaccess|picocli)-[0-9]'

if [ ! -f "$CONSOLE" ]; then
    mvn -B -ntp -q dependency:get -Dartifact="org.junit.platform:junit-platform-console-standalone:$JUNIT"
fi
# Compiles the modules and their tests without running them and writes each module's test class path in the same
# reactor, so that the project's own modules resolve to their target folders: nothing is installed into ~/.m2, and a
# fresh machine needs no install first.
mvn -B -ntp -o -q test-compile dependency:build-classpath -pl "$(echo $MODULES | tr ' ' ',')" -am \
    -Dmdep.includeScope=test -Dmdep.outputFile=target/gpu-classpath.txt

rm -rf "$OUTDIR"
mkdir -p "$OUTDIR"
# NOTE: jdk.zipfs is added to the brief's module list: the console launcher scans the test jars through it. java.xml
# is left out (1.8 MB after xz), so check.sh reads the failures from the launcher's summary instead of an XML report.
runtime=$(mktemp -d)
mkdir -p "$runtime/lib" "$runtime/classes" "$runtime/test-classes"
jlink --add-modules java.base,jdk.incubator.vector,java.logging,jdk.unsupported,jdk.zipfs \
    --strip-debug --no-man-pages --no-header-files --compress=zip-0 --output "$runtime/jdk"
strip --strip-unneeded "$runtime/jdk/lib/server/libjvm.so"
for m in $MODULES; do
    jar --create --no-compress --file "$runtime/classes/$m.jar" -C "$m/target/classes" .
done
for m in $TESTED; do
    jar --create --no-compress --file "$runtime/test-classes/$m.jar" -C "$m/target/test-classes" dev
done
cp "$CONSOLE" "$runtime/lib/junit-platform-console-standalone.jar"
tr ':' '\n' < samples/target/gpu-classpath.txt | while read -r jar; do
    if basename "$jar" | grep -Eq "$LIBS"; then cp "$jar" "$runtime/lib/"; fi
done
# the libraries' jars rewritten with their entries stored (same names, order and bytes)
python3 - "$runtime"/lib/*.jar <<'PY'
import copy, shutil, sys, zipfile
for path in sys.argv[1:]:
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(path + ".stored", "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            stored = copy.copy(info)
            stored.compress_type = zipfile.ZIP_STORED
            dst.writestr(stored, src.read(info))
    shutil.move(path + ".stored", path)
PY
tar cf - -C "$runtime" jdk classes test-classes lib | xz -9e -T2 > "$OUTDIR/runtime.tar.xz"
rm -rf "$runtime"
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!benchmarks/results' || echo '-dirty')" > "$OUTDIR/commit.txt"

# in bytes: whole MiB rounded down would hide up to 2 MiB of the limit
tree_bytes=$(git ls-files -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
size_bytes=$(du -sb "$OUTDIR" | cut -f1)
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
echo "$OUTDIR: $(mib "$size_bytes") MiB, with the working tree's $(mib "$tree_bytes") MiB" \
    "$(mib $((size_bytes + tree_bytes))) of ${LIMIT_MIB} MiB"
if [ $((size_bytes + tree_bytes + HEADROOM_MIB * 1048576)) -gt $((LIMIT_MIB * 1048576)) ]; then
    echo "too large to travel with the working tree; drop what the GPU run does not load" >&2
    exit 1
fi
