package dev.finetune4j.core.backend;

/**
 * Running totals of what a device has done since its backend opened: the host work a training step should not need
 * (transfers, driver allocations), and the arithmetic of its matrix products by the precision of their operands
 * (16-bit operands run on tensor cores; float32 ones at a fraction of that rate). Take one snapshot before a step
 * and one after, and subtract with {@link #since(DeviceCounters)}. Backends whose tensors live in host memory (the
 * CPU) count nothing.
 *
 * @param hostTransfers     copies between host memory and the device (each upload or read-back counts once)
 * @param driverAllocations requests for device memory that went to the driver rather than to the backend's cache
 * @param launches          kernels launched, a cuBLAS product counted as one (each costs a few microseconds of
 *                          launch latency, which CUDA graphs would save)
 * @param halfGemmFlops     floating-point operations (2 per multiply-add) of products with bf16 or f16 operands
 * @param float32GemmFlops  floating-point operations of products with float32 operands
 */
public record DeviceCounters(long hostTransfers, long driverAllocations, long launches, long halfGemmFlops,
                             long float32GemmFlops) {

    /** Counters of a backend that counts nothing. */
    public static final DeviceCounters NONE = new DeviceCounters(0, 0, 0, 0, 0);

    /**
     * What was counted between an earlier snapshot and this one.
     *
     * @param earlier a snapshot of the same device taken before this one
     * @return the differences
     */
    public DeviceCounters since(DeviceCounters earlier) {
        return new DeviceCounters(hostTransfers - earlier.hostTransfers, driverAllocations - earlier.driverAllocations,
                launches - earlier.launches, halfGemmFlops - earlier.halfGemmFlops,
                float32GemmFlops - earlier.float32GemmFlops);
    }
}
