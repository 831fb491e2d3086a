#!/usr/bin/env bash
# Runs the GPU test suite on a bare GPU machine from the folder benchmarks/gpu/package.sh built (.device/gpu): the
# CUDA backend's own tests (package dev.finetune4j.core.backend.cuda) and every module's model-level checks on the
# GPU (test classes named *OnCudaTest: the Hugging Face reference models, training of every PEFT method, DPO, host
# work per step, serving with adapters, an adapter trained on the GPU in Python PEFT, the quickstart), each against
# the CPU. Writes its logs under $OUT: check.log (the console launcher's tree and summary), environment.txt (GPU,
# driver and CUDA libraries found) and the JUnit XML report. A test that runs past 150 s fails alone; the whole run
# stops after 5 minutes.
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
mkdir -p "$OUT/reports"
if [ ! -f "$PKG/jdk.tgz" ]; then
    echo "no $PKG/jdk.tgz: run benchmarks/gpu/package.sh here and carry $PKG" | tee "$OUT/check.log"
    exit 2
fi
runtime=$(mktemp -d)
tar xzf "$PKG/jdk.tgz" -C "$runtime"
{
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
    echo "CUDA libraries:"
    for d in /usr/local/cuda/lib64 /usr/local/nvidia/lib64 /opt/*/.venv/lib/python3*/site-packages/nvidia/*/lib; do
        ls "$d" 2>/dev/null | grep -E '^lib(cuda|cublas|cublasLt|nvrtc)\.so' | sed "s:^:  $d/:"
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
    CP="$CP:$PKG/test-classes/$m"
done
CP="$CP:peft/src/test/resources:core/src/test/resources"
for m in "$PKG"/classes/*; do
    CP="$CP:$m"
done
for jar in "$PKG"/lib/*.jar; do
    CP="$CP:$jar"
done
# The tests' emulated CUDA device stays off on a GPU machine, so that the device time goes to the GPU.
timeout 300 "$runtime/jdk/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx32g \
    -Dfinetune4j.emulatedCuda="${EMULATED_CUDA:-off}" -cp "${CP#:}" org.junit.platform.console.ConsoleLauncher execute \
    --scan-class-path "$PKG/test-classes/core:$PKG/test-classes/peft:$PKG/test-classes/samples" \
    --include-classname '^dev\.finetune4j\.core\.backend\.cuda\..*Test$|^dev\.finetune4j\..*OnCudaTest$' \
    --config junit.jupiter.execution.timeout.default=150s \
    --details tree --disable-banner --disable-ansi-colors --reports-dir "$OUT/reports" 2>&1 | tee "$OUT/check.log"
status=${PIPESTATUS[0]}
echo "exit status $status" | tee -a "$OUT/check.log"
exit "$status"
