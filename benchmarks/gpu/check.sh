#!/usr/bin/env bash
# Runs the GPU test suite on a bare GPU machine from the folder benchmarks/gpu/package.sh built (.device/gpu): the
# CUDA backend's own tests (package dev.finetune4j.core.backend.cuda) and every module's model-level checks on the
# GPU (test classes named *OnCudaTest: the Hugging Face reference models, training of every PEFT method, DPO, host
# work per step, serving with adapters, an adapter trained on the GPU in Python PEFT, the quickstart), each against
# the CPU. Writes its logs under $OUT: check.log (the console launcher's tree, and its summary, which lists each
# failure with its class and exception) and environment.txt (GPU, driver and CUDA libraries found). A test that runs
# past 150 s fails alone; the suite stops after 5 minutes.
# A kernel that faults loses the process's CUDA context, and every test after it would fail the same way. So each
# test class that failed on a lost context runs again in a JVM of its own, while the 6 minutes last: check-isolated.log
# holds those runs, so that one faulting kernel does not hide what the rest of the suite would have shown.
#
#   device run, carry [".device/gpu"]:  benchmarks/gpu/check.sh
#   dry run here, without a GPU:         EMULATED_CUDA=on benchmarks/gpu/check.sh
# EMULATED_CUDA=on runs the same suite on the emulated CUDA device (needs g++) instead of turning it off, so that
# the carried folder's class path and fixtures are exercised before device time is spent.
# Exit status: the console launcher's (0 when every test passed or was skipped).
set -uo pipefail
cd "$(dirname "$0")/../.."
PKG=.device/gpu
OUT=${OUT:-$PKG/out}
mkdir -p "$OUT"
rm -f "$OUT/check.log" "$OUT/check-isolated.log"
runtime=$(mktemp -d)
if ! "$(dirname "$0")/unpack.sh" "$PKG" "$runtime" 2>&1 | tee -a "$OUT/check.log"; then
    exit 2
fi
{
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
    echo "CUDA libraries:"
    for d in /usr/local/cuda/lib64 /usr/local/nvidia/lib64 /opt/*/.venv/lib/python3*/site-packages/nvidia/*/lib; do
        ls "$d" 2>/dev/null | grep -E '^lib(cuda|cublas|cublasLt|nvrtc|nccl)\.so' | sed "s:^:  $d/:"
    done
} > "$OUT/environment.txt" 2>&1
# A fresh kernel cache, so that the run compiles every family with NVRTC.
export XDG_CACHE_HOME=$(mktemp -d)
# Every launch waits for its kernel, so that a kernel that faults is named in the failing test's exception.
export FINETUNE4J_CUDA_SYNC=1
# Tensors an op's kernel should overwrite whole start as NaN, so that a kernel that leaves an element unwritten fails.
export FINETUNE4J_CUDA_POISON=1
# Everything on the JVM's own class path (not the launcher's --class-path): tests that start a child JVM pass it
# java.class.path. The fixtures come from the working tree: peft's before core's, whose hf-tiny folders peft's hold
# with their adapters added.
CP=""
for m in core peft samples; do
    CP="$CP:$runtime/test-classes/$m.jar"
done
CP="$CP:peft/src/test/resources:core/src/test/resources"
for m in "$runtime"/classes/*; do
    CP="$CP:$m"
done
for jar in "$runtime"/lib/*.jar; do
    CP="$CP:$jar"
done
START=$(date +%s)
# Runs the console launcher with the given selectors, writing its tree and summary to $1, for at most $2 seconds (no
# XML report: the carried JDK leaves out java.xml, 1.8 MB of the 64 MiB that travel). The tests' emulated CUDA device stays off on a GPU machine, so that the device time goes to the GPU.
suite() {
    local log=$1 seconds=$2; shift 2
    timeout "$seconds" "$runtime/jdk/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector \
        -Xmx32g -Dfinetune4j.emulatedCuda="${EMULATED_CUDA:-off}" -cp "${CP#:}" \
        org.junit.platform.console.ConsoleLauncher execute "$@" \
        --config junit.jupiter.execution.timeout.default=150s \
        --details tree --disable-banner --disable-ansi-colors 2>&1 | tee -a "$log"
    return "${PIPESTATUS[0]}"
}
# On a GPU, the checks of the sources that need g++ or nvcc rather than the card (they ran where the kernels were
# written) are left out, so that device time goes to the card's tests.
host_only='^$'
[ "${EMULATED_CUDA:-off}" = on ] || host_only='.*\.KernelSourcesCompileTest$'
suite "$OUT/check.log" 300 \
    --scan-class-path "$runtime/test-classes/core.jar:$runtime/test-classes/peft.jar:$runtime/test-classes/samples.jar" \
    --include-classname '^dev\.finetune4j\.core\.backend\.cuda\..*Test$|^dev\.finetune4j\..*OnCudaTest$' \
    --exclude-classname "$host_only"
status=$?
echo "exit status $status" | tee -a "$OUT/check.log"

# The classes with a test that failed on a lost context (CudaException's message says so), in the order they ran:
# read from the summary's "Failures (N):" list, where each entry's header line starts with its engine's name, then
# its MethodSource or ClassSource names the class, and its "=> " lines hold the exception.
lost=$(python3 - "$OUT/check.log" <<'PY' 2>/dev/null
import re, sys
classes, entry = [], None
def close(entry):
    if entry and 'CUDA context of this process is lost' in entry[1] and entry[0] and entry[0] not in classes:
        classes.append(entry[0])
in_failures = False
for line in open(sys.argv[1], encoding='utf-8', errors='replace'):
    if re.match(r'^Failures \(\d+\):', line):
        in_failures = True
        continue
    if not in_failures:
        continue
    if line.startswith('Test run finished') or re.match(r'^\[ *\d+ ', line):
        close(entry)
        entry, in_failures = None, False
    elif line.startswith('  JUnit '):
        close(entry)
        entry = [None, '']
    elif entry is not None:
        source = re.search(r"(?:Method|Class)Source \[className = '([\w.$]+)'", line)
        if source and entry[0] is None:
            entry[0] = source.group(1)
        entry[1] += line
close(entry)
print('\n'.join(classes))
PY
)
for class in $lost; do
    left=$(( 360 - ($(date +%s) - START) ))
    if [ "$left" -lt 20 ]; then
        echo "not run again, the 6 minutes are spent: $class" | tee -a "$OUT/check-isolated.log"
        continue
    fi
    echo "=== $class, alone in a fresh JVM (the suite's run lost its CUDA context)" | tee -a "$OUT/check-isolated.log"
    suite "$OUT/check-isolated.log" "$left" --select-class "$class" > /dev/null
    echo "exit status $?" | tee -a "$OUT/check-isolated.log"
done
exit "$status"
