// EmbeddingKernels: row gather and its backward, the scatter-add.
#include "common.cuh"

// out[n][c] = weight[ids[n]][c]. weight: a (V, C) view of any float dtype; ids: (N) I64; out: (N, C) F32.
extern "C" __global__ void gather(const void* weight, int weightType, View wv, const long long* ids, float* out,
                                  long long N, long long C) {
    FOR_EACH(e, N * C) {
        long long n = e / C, c = e % C;
        out[e] = load_f(weight, weightType, wv.offset + ids[n] * wv.strides[0] + c * wv.strides[1]);
    }
}

// (forward: gather) dWeight[ids[n]][c] += dOut[n][c]. dOut: (N, C) F32; dWeight: (V, C) contiguous F32.
extern "C" __global__ void scatter_add(const float* dOut, const long long* ids, float* dWeight, long long N,
                                       long long C) {
    FOR_EACH(e, N * C) {
        long long n = e / C, c = e % C;
        atomicAdd(dWeight + ids[n] * C + c, dOut[e]);
    }
}
