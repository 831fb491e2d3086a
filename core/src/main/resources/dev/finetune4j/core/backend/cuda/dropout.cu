// DropoutKernels: inverted dropout with the mask drawn by Philox4x32-10 exactly as
// dev.finetune4j.core.backend.Philox: key (seed low, seed high), counter (index / 4 low, high, site, step),
// element i takes output i % 4, uniform = (output >> 8) * 2^-24.
#include "common.cuh"

__device__ unsigned int philox_output(unsigned long long seed, unsigned long long step, unsigned long long site,
                                      unsigned long long block, int which) {
    unsigned int c0 = (unsigned int) block, c1 = (unsigned int) (block >> 32);
    unsigned int c2 = (unsigned int) site, c3 = (unsigned int) step;
    unsigned int k0 = (unsigned int) seed, k1 = (unsigned int) (seed >> 32);
    for (int r = 0; r < 10; ++r) {
        unsigned int hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        unsigned int hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        unsigned int n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return which == 0 ? c0 : which == 1 ? c1 : which == 2 ? c2 : c3;
}

// out[i] = uniform(i) < p ? 0 : x[i] * (1 / (1 - p)), the scale rounded once to float32 as on the CPU.
// x: any float view; out: contiguous F32.
extern "C" __global__ void dropout(const void* x, int xType, View xv, float p, unsigned long long seed,
                                   unsigned long long step, unsigned long long site, float* out, long long n) {
    float scale = 1.0f / (1.0f - p);
    FOR_EACH(i, n) {
        unsigned int bits = philox_output(seed, step, site, (unsigned long long) i >> 2, (int) (i & 3));
        float u = (float) (bits >> 8) * 5.9604644775390625e-8f;
        out[i] = u < p ? 0.0f : load_f(x, xType, view_at(xv, i)) * scale;
    }
}
