// Philox4x32-10 exactly as dev.finetune4j.core.backend.Philox: key (seed low, seed high), counter (index / 4 low,
// high, site, step), element i takes output i % 4, uniform = (output >> 8) * 2^-24. One device Philox for the
// dropout and attention families, so that every mask is the CPU's bit for bit. Included after common.cuh.
#pragma once

__device__ __forceinline__ unsigned int philox_output(unsigned long long seed, unsigned long long step,
                                                      unsigned long long site, unsigned long long block, int which) {
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

// The uniform float in [0, 1) of element `index`: its output's top 24 bits, exactly representable.
__device__ __forceinline__ float philox_uniform(unsigned long long seed, unsigned long long step,
                                                unsigned long long site, unsigned long long index) {
    unsigned int bits = philox_output(seed, step, site, index >> 2, (int) (index & 3));
    return (float) (bits >> 8) * 5.9604644775390625e-8f;
}
