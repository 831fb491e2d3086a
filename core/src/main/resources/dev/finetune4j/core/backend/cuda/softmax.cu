// SoftmaxKernels: softmax and log-softmax over rows of length V, forward and backward. One block per row;
// all tensors contiguous F32 (the Java side converts other layouts first).
#include "common.cuh"

// y = softmax(x) (log = 0) or y = (x - max) - log(sum(exp(x - max))) (log = 1). A row of -inf gives zeros.
extern "C" __global__ void softmax_forward(const float* x, float* y, long long V, int log) {
    const float* xr = x + blockIdx.x * V;
    float* yr = y + blockIdx.x * V;
    float m = -F_INF;
    for (long long j = threadIdx.x; j < V; j += blockDim.x) m = fmaxf(m, xr[j]);
    m = block_max_f(m);
    double s = 0.0;
    if (m != -F_INF) {
        for (long long j = threadIdx.x; j < V; j += blockDim.x) s += expf(xr[j] - m);
    }
    s = block_sum_d(s);
    float logSum = (float) ::log(s);
    float inv = (float) (1.0 / s);
    for (long long j = threadIdx.x; j < V; j += blockDim.x) {
        if (log) {
            yr[j] = (xr[j] - m) - logSum;
        } else {
            yr[j] = m == -F_INF ? 0.0f : expf(xr[j] - m) * inv;
        }
    }
}

// (forward: softmax_forward) softmax: dx = y * (dy - sum(dy * y)); log-softmax: dx = dy - exp(y) * sum(dy).
extern "C" __global__ void softmax_backward(const float* y, const float* dy, float* dx, long long V, int log) {
    long long base = blockIdx.x * V;
    double s = 0.0;
    for (long long j = threadIdx.x; j < V; j += blockDim.x) s += log ? dy[base + j] : dy[base + j] * y[base + j];
    float total = (float) block_sum_d(s);
    for (long long j = threadIdx.x; j < V; j += blockDim.x) {
        long long k = base + j;
        dx[k] = log ? dy[k] - expf(y[k]) * total : y[k] * (dy[k] - total);
    }
}
