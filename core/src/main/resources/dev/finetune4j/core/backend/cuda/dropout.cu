// DropoutKernels: inverted dropout with the mask drawn by Philox4x32-10 exactly as
// dev.finetune4j.core.backend.Philox (philox.cuh).
#include "common.cuh"
#include "philox.cuh"

// out[i] = uniform(i) < p ? 0 : x[i] * (1 / (1 - p)), the scale rounded once to float32 as on the CPU.
// x: any float view; out: contiguous F32.
extern "C" __global__ void dropout(const void* x, int xType, View xv, float p, unsigned long long seed,
                                   unsigned long long step, unsigned long long site, float* out, long long n) {
    float scale = 1.0f / (1.0f - p);
    FOR_EACH(i, n) {
        float u = philox_uniform(seed, step, site, (unsigned long long) i);
        out[i] = u < p ? 0.0f : load_f(x, xType, view_at(xv, i)) * scale;
    }
}
