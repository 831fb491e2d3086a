// NormKernels: RMSNorm and LayerNorm over the last dimension C, statistics in double. One block per row for
// the row work; the weight and bias gradients sum over rows with a block per 32 columns.
// x, y, dy, dx: (rows, C) contiguous F32 (rms_norm_forward's y F32 or BF16, in yType); w: (C) contiguous F32, BF16
// or F16 (in wType: a bf16 model's norm weights are read where they are); b, dw, db: (C) F32; rstd, mean: (rows).
#include "common.cuh"

// y = x * rstd * w with rstd = 1 / sqrt(mean(x^2) + eps).
extern "C" __global__ void rms_norm_forward(const float* x, const void* w, int wType, float eps, void* y, int yType,
                                            float* rstd, long long C) {
    long long base = blockIdx.x * C;
    double ss = 0.0;
    for (long long i = threadIdx.x; i < C; i += blockDim.x) ss += (double) x[base + i] * x[base + i];
    ss = block_sum_d(ss);
    float r = (float) (1.0 / sqrt(ss / C + eps));
    for (long long i = threadIdx.x; i < C; i += blockDim.x) store_f(y, yType, base + i, x[base + i] * r * load_f(w, wType, i));
    if (threadIdx.x == 0) rstd[blockIdx.x] = r;
}

// (forward: rms_norm_forward) dx = rstd * (dy * w) - x * rstd^3 * mean(dy * w * x), or dx += that (accumulate).
extern "C" __global__ void rms_norm_backward(const float* dy, const float* x, const void* w, int wType,
                                             const float* rstd, float* dx, int accumulate, long long C) {
    long long base = blockIdx.x * C;
    double r = rstd[blockIdx.x];
    double dot = 0.0;
    for (long long i = threadIdx.x; i < C; i += blockDim.x) dot += (double) dy[base + i] * load_f(w, wType, i) * x[base + i];
    dot = block_sum_d(dot);
    double k = r * r * r * dot / C;
    for (long long i = threadIdx.x; i < C; i += blockDim.x) {
        float g = (float) (r * dy[base + i] * load_f(w, wType, i) - x[base + i] * k);
        dx[base + i] = accumulate ? dx[base + i] + g : g;
    }
}

// y = (x - mean) * rstd * w + b with the biased variance; b may be null.
extern "C" __global__ void layer_norm_forward(const float* x, const void* w, int wType, const float* b, float eps,
                                              float* y, float* mean, float* rstd, long long C) {
    long long base = blockIdx.x * C;
    double s = 0.0;
    for (long long i = threadIdx.x; i < C; i += blockDim.x) s += x[base + i];
    double mu = block_sum_d(s) / C;
    double v = 0.0;
    for (long long i = threadIdx.x; i < C; i += blockDim.x) {
        double d = x[base + i] - mu;
        v += d * d;
    }
    v = block_sum_d(v) / C;
    float m = (float) mu;
    float r = (float) (1.0 / sqrt(v + eps));
    for (long long i = threadIdx.x; i < C; i += blockDim.x) {
        float o = (x[base + i] - m) * r * load_f(w, wType, i);
        y[base + i] = b ? o + b[i] : o;
    }
    if (threadIdx.x == 0) {
        mean[blockIdx.x] = m;
        rstd[blockIdx.x] = r;
    }
}

// (forward: layer_norm_forward) with xhat = (x - mean) * rstd and g = dy * w:
// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), or dx += that (accumulate).
extern "C" __global__ void layer_norm_backward(const float* dy, const float* x, const void* w, int wType,
                                               const float* mean, const float* rstd, float* dx, int accumulate,
                                               long long C) {
    long long base = blockIdx.x * C;
    double m = mean[blockIdx.x], r = rstd[blockIdx.x];
    double sg = 0.0, sgx = 0.0;
    for (long long i = threadIdx.x; i < C; i += blockDim.x) {
        double g = (double) dy[base + i] * load_f(w, wType, i);
        sg += g;
        sgx += g * (x[base + i] - m) * r;
    }
    sg = block_sum_d(sg) / C;
    sgx = block_sum_d(sgx) / C;
    for (long long i = threadIdx.x; i < C; i += blockDim.x) {
        double xhat = (x[base + i] - m) * r;
        float g = (float) (r * ((double) dy[base + i] * load_f(w, wType, i) - sg - xhat * sgx));
        dx[base + i] = accumulate ? dx[base + i] + g : g;
    }
}

// dw[c] = sum over rows of dy * (x - mean) * rstd (mean null for RMSNorm); db[c] = sum of dy (db may be null), in
// double. A block takes 32 columns (a warp's lanes, coalesced) and shares the rows among its warps, whose partial
// sums are added in warp order. Grid: ceil(C / 32).
extern "C" __global__ void norm_param_grads(const float* dy, const float* x, const float* mean, const float* rstd,
                                            float* dw, float* db, long long rows, long long C) {
    __shared__ double partial[2][32][32];
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    long long c = (long long) blockIdx.x * 32 + lane;
    double sw = 0.0, sb = 0.0;
    for (long long r = warp; c < C && r < rows; r += warps) {
        long long k = r * C + c;
        double xhat = ((double) x[k] - (mean ? mean[r] : 0.0f)) * rstd[r];
        sw += dy[k] * xhat;
        sb += dy[k];
    }
    partial[0][warp][lane] = sw;
    partial[1][warp][lane] = sb;
    __syncthreads();
    if (warp == 0 && c < C) {
        sw = 0.0;
        sb = 0.0;
        for (int w = 0; w < warps; ++w) {
            sw += partial[0][w][lane];
            sb += partial[1][w][lane];
        }
        if (dw) dw[c] = (float) sw;
        if (db) db[c] = (float) sb;
    }
}
