// ElementwiseKernels: binary operators over views (stride-0 broadcast), unary functions, affine maps.
// Outputs are contiguous F32 and may be an input itself: each thread reads its element before writing it.
#include "common.cuh"

// op: 0 add, 1 sub, 2 mul, 3 div (ElementwiseKernels.BinaryOp ordinals).
extern "C" __global__ void binary(int op, const void* a, int aType, View av, const void* b, int bType, View bv,
                                  float* out, long long n) {
    FOR_EACH(i, n) {
        float x = load_f(a, aType, view_at(av, i));
        float y = load_f(b, bType, view_at(bv, i));
        float r;
        switch (op) {
            case 0: r = x + y; break;
            case 1: r = x - y; break;
            case 2: r = x * y; break;
            default: r = x / y; break;
        }
        out[i] = r;
    }
}

// op: 0 exp, 1 log, 2 sqrt, 3 positive (ElementwiseKernels.UnaryOp ordinals).
extern "C" __global__ void unary(int op, const void* x, int xType, View xv, float* out, long long n) {
    FOR_EACH(i, n) {
        float v = load_f(x, xType, view_at(xv, i));
        out[i] = op == 0 ? expf(v) : op == 1 ? logf(v) : op == 2 ? sqrtf(v) : (v > 0.0f ? 1.0f : 0.0f);
    }
}

// out = x * scale + shift (two roundings, as on the CPU).
extern "C" __global__ void affine(const void* x, int xType, View xv, float scale, float shift, float* out,
                                  long long n) {
    FOR_EACH(i, n) {
        out[i] = __fadd_rn(__fmul_rn(load_f(x, xType, view_at(xv, i)), scale), shift);
    }
}
