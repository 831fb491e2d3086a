package dev.finetune4j.core.backend.cuda;

import java.util.concurrent.atomic.AtomicLong;

/** A device's cuBLAS products and their floating-point operations by operand precision, for {@code Device.counters()}. */
final class GemmCounter {
    private final AtomicLong calls = new AtomicLong();
    private final AtomicLong half = new AtomicLong();
    private final AtomicLong float32 = new AtomicLong();

    /** Counts a product of (m x k) by (k x n), {@code batches} times, with operands of cuBLAS type {@code cudaType}. */
    void count(int cudaType, long m, long n, long k, long batches) {
        long flops = 2 * m * n * k * batches;
        calls.incrementAndGet();
        (cudaType == Cublas.R_32F ? float32 : half).addAndGet(flops);
    }

    long calls() {
        return calls.get();
    }

    long half() {
        return half.get();
    }

    long float32() {
        return float32.get();
    }
}
