package dev.finetune4j.core.backend;

/**
 * Running totals of the host work a device has done since its backend opened, for checking that training steps
 * keep their data on the device: take one snapshot before a step and one after, and subtract with
 * {@link #since(DeviceCounters)}. Backends whose tensors live in host memory (the CPU) count nothing.
 *
 * @param hostTransfers     copies between host memory and the device (each upload or read-back counts once)
 * @param driverAllocations requests for device memory that went to the driver rather than to the backend's cache
 */
public record DeviceCounters(long hostTransfers, long driverAllocations) {

    /** Counters of a backend that does no host transfers and no driver allocations. */
    public static final DeviceCounters NONE = new DeviceCounters(0, 0);

    /**
     * What was counted between an earlier snapshot and this one.
     *
     * @param earlier a snapshot of the same device taken before this one
     * @return the differences
     */
    public DeviceCounters since(DeviceCounters earlier) {
        return new DeviceCounters(hostTransfers - earlier.hostTransfers, driverAllocations - earlier.driverAllocations);
    }
}
