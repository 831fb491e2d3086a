package dev.finetune4j.core.backend.cuda;

import java.util.Map;

/**
 * Debugging aids of the CUDA backend, off unless asked for, since each costs time.
 *
 * @param syncEachLaunch      every launch waits for its kernel, so that a kernel that faults (an illegal address,
 *                            say) is named in the exception instead of surfacing at a later, unrelated call
 * @param poisonUninitialized memory handed out uninitialized ({@code Tensor.empty}) is filled with NaN bytes, so
 *                            that a kernel that reads its output before writing all of it shows as NaN
 */
record CudaChecks(boolean syncEachLaunch, boolean poisonUninitialized) {
    /** No checks: the backend's normal speed. */
    static final CudaChecks NONE = new CudaChecks(false, false);

    /**
     * The checks that {@code env} turns on ({@link CudaBackendProvider#SYNC_ENV},
     * {@link CudaBackendProvider#POISON_ENV}).
     */
    static CudaChecks from(Map<String, String> env) {
        return new CudaChecks("1".equals(env.get(CudaBackendProvider.SYNC_ENV)),
                "1".equals(env.get(CudaBackendProvider.POISON_ENV)));
    }
}
