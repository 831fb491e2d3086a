// QuantizationKernels: NF4 (4-bit NormalFloat, blocks of 64, block maxima double-quantized to 8 bits in groups of 256)
// in the layout of Nf4Format: [mean f32][group scales f32 x groups][block maxima codes s8 x blocks][4-bit codes,
// two per byte, element 2i in the high nibble]. Quantizing is four launches: block maxima, their mean (one block),
// group scales and maxima codes, then the 4-bit codes; each rounds as the CPU does.
#include "common.cuh"

#define NF4_BLOCK 64
#define NF4_GROUP 256

__constant__ float NF4_CODE[16] = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
    -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
    0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
    0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};

__device__ __forceinline__ long long nf4_blocks(long long n) { return (n + NF4_BLOCK - 1) / NF4_BLOCK; }
__device__ __forceinline__ long long nf4_groups(long long n) { return (nf4_blocks(n) + NF4_GROUP - 1) / NF4_GROUP; }
__device__ __forceinline__ float* nf4_scales(unsigned char* q) { return (float*) (q + 4); }
__device__ __forceinline__ long long nf4_absmax_at(long long n) { return 4 + 4 * nf4_groups(n); }
__device__ __forceinline__ long long nf4_codes_at(long long n) { return nf4_absmax_at(n) + nf4_blocks(n); }

// The maximum of block b as the dequantizer sees it: code / 127 * scale + mean.
__device__ __forceinline__ float nf4_block_max(const unsigned char* q, long long n, long long b) {
    signed char code = (signed char) q[nf4_absmax_at(n) + b];
    return (float) code / 127.0f * ((const float*) (q + 4))[b / NF4_GROUP] + ((const float*) q)[0];
}

// Index of the code value nearest to x (ties to the lower code), by binary search over the midpoints.
__device__ __forceinline__ int nf4_nearest(float x) {
    int lo = 0, hi = 15;
    while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (x > (NF4_CODE[mid] + NF4_CODE[mid + 1]) / 2.0f) lo = mid + 1; else hi = mid;
    }
    return lo;
}

// absmax[b] = max |x| over block b of the n values of src (contiguous, from element srcOffset). One thread per block.
extern "C" __global__ void nf4_absmax(const void* src, int srcType, long long srcOffset, long long n, float* absmax) {
    FOR_EACH(b, nf4_blocks(n)) {
        long long end = min(n, (b + 1) * NF4_BLOCK);
        float m = 0.0f;
        for (long long i = b * NF4_BLOCK; i < end; ++i) m = fmaxf(m, fabsf(load_f(src, srcType, srcOffset + i)));
        absmax[b] = m;
    }
}

// q's mean = the mean of the block maxima, summed in double. One block.
extern "C" __global__ void nf4_mean(const float* absmax, long long blocks, unsigned char* q) {
    double acc = 0.0;
    for (long long b = threadIdx.x; b < blocks; b += blockDim.x) acc += absmax[b];
    acc = block_sum_d(acc);
    if (threadIdx.x == 0) ((float*) q)[0] = (float) (acc / (double) blocks);
}

// Per group: its scale (the largest |absmax - mean|) and the 8-bit code of each block maximum. One thread per group.
extern "C" __global__ void nf4_scales(const float* absmax, long long n, unsigned char* q) {
    long long blocks = nf4_blocks(n);
    float mean = ((const float*) q)[0];
    FOR_EACH(g, nf4_groups(n)) {
        long long first = g * NF4_GROUP, last = min(blocks, first + NF4_GROUP);
        float scale = 0.0f;
        for (long long b = first; b < last; ++b) scale = fmaxf(scale, fabsf(absmax[b] - mean));
        nf4_scales(q)[g] = scale;
        for (long long b = first; b < last; ++b) {
            float code = scale == 0.0f ? 0.0f : floorf((absmax[b] - mean) / scale * 127.0f + 0.5f);
            q[nf4_absmax_at(n) + b] = (unsigned char) (signed char) (int) code;
        }
    }
}

// The 4-bit codes: one thread per byte (two values), each value scaled by its block's dequantized maximum.
extern "C" __global__ void nf4_codes(const void* src, int srcType, long long srcOffset, long long n, unsigned char* q) {
    FOR_EACH(p, (n + 1) / 2) {
        long long i = 2 * p;
        float m = nf4_block_max(q, n, i / NF4_BLOCK);
        float inv = m == 0.0f ? 0.0f : 1.0f / m;
        int hi = nf4_nearest(load_f(src, srcType, srcOffset + i) * inv);
        int lo = i + 1 < n ? nf4_nearest(load_f(src, srcType, srcOffset + i + 1) * inv) : 0;
        q[nf4_codes_at(n) + p] = (unsigned char) (hi << 4 | lo);
    }
}

// out[j] = value first + j of the n values in q, for j < count, stored as outType (F32, or BF16 for a product
// with a bf16 operand).
extern "C" __global__ void nf4_dequantize(const unsigned char* q, long long n, long long first, long long count,
                                          void* out, int outType) {
    FOR_EACH(j, count) {
        long long i = first + j;
        unsigned char packed = q[nf4_codes_at(n) + (i >> 1)];
        int code = (i & 1) == 0 ? (packed >> 4) & 0xF : packed & 0xF;
        store_f(out, outType, j, NF4_CODE[code] * nf4_block_max(q, n, i / NF4_BLOCK));
    }
}
