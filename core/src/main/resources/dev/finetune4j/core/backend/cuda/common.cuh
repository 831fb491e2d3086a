// Shared by every kernel family: strided views, dtype loads and stores, block reductions.
// Compiled by NVRTC without any CUDA header, so half and bfloat16 conversions are written out here.
#pragma once

#define MAX_RANK 8
#define F_INF __int_as_float(0x7f800000)

// DType ordinals of dev.finetune4j.core.tensor.DType.
#define DT_F32 0
#define DT_BF16 1
#define DT_F16 2
#define DT_I64 3
#define DT_I32 4
#define DT_I8 5
#define DT_U8 6
#define DT_BOOL 7

// A tensor view as CudaView packs it: element offset, then shape and strides in elements (row-major order).
struct View {
    long long rank;
    long long offset;
    long long shape[MAX_RANK];
    long long strides[MAX_RANK];
};

// Element offset of the i-th element (row-major) of a view.
__device__ __forceinline__ long long view_at(const View& v, long long i) {
    long long at = v.offset;
    for (int d = (int) v.rank - 1; d >= 0; --d) {
        long long s = v.shape[d];
        at += (i % s) * v.strides[d];
        i /= s;
    }
    return at;
}

// FINETUNE4J_EMULATION: the test suite's CPU emulation of the kernels (no PTX), with the same rounding.
#ifdef FINETUNE4J_EMULATION
__device__ __forceinline__ float half_to_float(unsigned short h) { return emu_half_to_float(h); }
__device__ __forceinline__ unsigned short float_to_half(float f) { return emu_float_to_half(f); }
#else
__device__ __forceinline__ float half_to_float(unsigned short h) {
    float f;
    asm("{ .reg .b16 t; mov.b16 t, %1; cvt.f32.f16 %0, t; }" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ unsigned short float_to_half(float f) {
    unsigned short h;
    asm("{ .reg .b16 t; cvt.rn.f16.f32 t, %1; mov.b16 %0, t; }" : "=h"(h) : "f"(f));
    return h;
}
#endif

__device__ __forceinline__ float bf16_to_float(unsigned short b) {
    return __uint_as_float(((unsigned int) b) << 16);
}

// Round to nearest even; NaN stays a quiet NaN (as DTypeConversions.floatToBf16).
__device__ __forceinline__ unsigned short float_to_bf16(float f) {
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return (unsigned short) ((u >> 16) | 0x40u);
    }
    return (unsigned short) ((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

__device__ __forceinline__ float load_f(const void* p, int dt, long long i) {
    switch (dt) {
        case DT_F32: return ((const float*) p)[i];
        case DT_BF16: return bf16_to_float(((const unsigned short*) p)[i]);
        case DT_F16: return half_to_float(((const unsigned short*) p)[i]);
        case DT_I64: return (float) ((const long long*) p)[i];
        case DT_I32: return (float) ((const int*) p)[i];
        case DT_I8: return (float) ((const signed char*) p)[i];
        default: return (float) ((const unsigned char*) p)[i];
    }
}

__device__ __forceinline__ void store_f(void* p, int dt, long long i, float v) {
    switch (dt) {
        case DT_F32: ((float*) p)[i] = v; break;
        case DT_BF16: ((unsigned short*) p)[i] = float_to_bf16(v); break;
        case DT_F16: ((unsigned short*) p)[i] = float_to_half(v); break;
        case DT_I64: ((long long*) p)[i] = (long long) v; break;
        case DT_I32: ((int*) p)[i] = (int) v; break;
        case DT_I8: ((signed char*) p)[i] = (signed char) v; break;
        case DT_BOOL: ((unsigned char*) p)[i] = v != 0.0f; break;
        default: ((unsigned char*) p)[i] = (unsigned char) v; break;
    }
}

__device__ __forceinline__ long long load_i(const void* p, int dt, long long i) {
    switch (dt) {
        case DT_I64: return ((const long long*) p)[i];
        case DT_I32: return ((const int*) p)[i];
        case DT_I8: return ((const signed char*) p)[i];
        default: return ((const unsigned char*) p)[i];
    }
}

__device__ __forceinline__ void store_i(void* p, int dt, long long i, long long v) {
    switch (dt) {
        case DT_I64: ((long long*) p)[i] = v; break;
        case DT_I32: ((int*) p)[i] = (int) v; break;
        case DT_I8: ((signed char*) p)[i] = (signed char) v; break;
        case DT_BOOL: ((unsigned char*) p)[i] = v != 0; break;
        default: ((unsigned char*) p)[i] = (unsigned char) v; break;
    }
}

__device__ __forceinline__ int is_float_dt(int dt) {
    return dt == DT_F32 || dt == DT_BF16 || dt == DT_F16;
}

// Grid-stride loop over n elements.
#define FOR_EACH(i, n) \
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long) gridDim.x * blockDim.x)

// Multi-tensor kernels walk the concatenation of many tensors through a table with one row of `width` values per
// tensor, the last of them the index of the tensor's first element (ascending): the row holding element e.
__device__ __forceinline__ const long long* row_of(const long long* table, int width, int count, long long e) {
    int lo = 0, hi = count - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (table[(long long) width * mid + width - 1] <= e) lo = mid; else hi = mid - 1;
    }
    return table + (long long) width * lo;
}

// Block-wide sum and max; every thread gets the result. blockDim.x is a multiple of 32, at most 1024.
__device__ double block_sum_d(double v) {
    __shared__ double partial[32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    int warps = blockDim.x >> 5;
    v = lane < warps ? partial[lane] : 0.0;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ float block_max_f(float v) {
    __shared__ float partial[32];
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    int warps = blockDim.x >> 5;
    v = lane < warps ? partial[lane] : -F_INF;
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
