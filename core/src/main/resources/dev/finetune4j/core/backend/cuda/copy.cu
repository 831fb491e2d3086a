// CopyKernels: strided copies with dtype conversion, and fills.
#include "common.cuh"

// dst = src element by element (same shape, any layouts and dtypes; equal dtypes copy bits).
extern "C" __global__ void copy_view(const void* src, int srcType, View sv, void* dst, int dstType, View dv,
                                     long long n) {
    FOR_EACH(i, n) {
        long long from = view_at(sv, i), to = view_at(dv, i);
        if (srcType == dstType) {
            switch (srcType) {
                case DT_F32: case DT_I32: ((unsigned int*) dst)[to] = ((const unsigned int*) src)[from]; break;
                case DT_BF16: case DT_F16: ((unsigned short*) dst)[to] = ((const unsigned short*) src)[from]; break;
                case DT_I64: ((long long*) dst)[to] = ((const long long*) src)[from]; break;
                default: ((unsigned char*) dst)[to] = ((const unsigned char*) src)[from]; break;
            }
        } else if (!is_float_dt(srcType) && !is_float_dt(dstType)) {
            store_i(dst, dstType, to, load_i(src, srcType, from));
        } else {
            store_f(dst, dstType, to, load_f(src, srcType, from));
        }
    }
}

// copy_view of count pairs of contiguous tensors of floating dtypes at once (a step's master weights rounded to
// bf16); table: per pair, the address and dtype of src, of dst, then the index of the pair's first element in the
// concatenation of all of them (total elements in all).
extern "C" __global__ void copy_multi(const long long* table, int count, long long total) {
    FOR_EACH(e, total) {
        const long long* row = row_of(table, 5, count, e);
        long long i = e - row[4];
        store_f((void*) row[2], (int) row[3], i, load_f((const void*) row[0], (int) row[1], i));
    }
}

// Every element of the view set to value.
extern "C" __global__ void fill_view(void* dst, int dstType, View dv, float value, long long n) {
    FOR_EACH(i, n) {
        store_f(dst, dstType, view_at(dv, i), value);
    }
}

// Fills count contiguous F32 tensors at once (an adapter's gradients); table: per tensor, its address and the index
// of its first element in the concatenation of all of them (total elements in all).
extern "C" __global__ void fill_multi(const long long* table, int count, float value, long long total) {
    FOR_EACH(e, total) {
        const long long* row = row_of(table, 2, count, e);
        ((float*) row[0])[e - row[1]] = value;
    }
}
