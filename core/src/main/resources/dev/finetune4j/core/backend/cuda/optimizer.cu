// OptimizerKernels: AdamW and SGD steps in place, float32, as OptimizerKernels documents (torch's
// single-tensor paths). All tensors contiguous F32 of n elements.
#include "common.cuh"

// p = p * decay; m = lerp(m, g, gradWeight); v = v * beta2 + oneMinusBeta2 * g * g;
// p = p + negStepSize * (m / (sqrt(v) / bc2Sqrt + eps)), for element i.
__device__ __forceinline__ void adamw_at(float* param, const float* grad, float* m, float* v, long long i,
                                         float decay, float gradWeight, float beta2, float oneMinusBeta2, float eps,
                                         float negStepSize, float bc2Sqrt) {
    float g = grad[i];
    float p = param[i] * decay;
    float mi = m[i];
    // torch.lerp: the form that is exact at the nearer end.
    mi = gradWeight < 0.5f ? mi + gradWeight * (g - mi) : g - (g - mi) * (1.0f - gradWeight);
    float vi = v[i] * beta2 + oneMinusBeta2 * g * g;
    float denom = sqrtf(vi) / bc2Sqrt + eps;
    param[i] = p + negStepSize * (mi / denom);
    m[i] = mi;
    v[i] = vi;
}

extern "C" __global__ void adamw(float* param, const float* grad, float* m, float* v, float decay, float gradWeight,
                                 float beta2, float oneMinusBeta2, float eps, float negStepSize, float bc2Sqrt,
                                 long long n) {
    FOR_EACH(i, n) {
        adamw_at(param, grad, m, v, i, decay, gradWeight, beta2, oneMinusBeta2, eps, negStepSize, bc2Sqrt);
    }
}

// The same step over count tensors in one launch. table: per tensor k, the addresses of its param, grad, m and v,
// then the index of its first element in the concatenation of all of them (ascending; total elements in all).
extern "C" __global__ void adamw_multi(const long long* table, int count, float decay, float gradWeight,
                                       float beta2, float oneMinusBeta2, float eps, float negStepSize, float bc2Sqrt,
                                       long long total) {
    FOR_EACH(e, total) {
        const long long* row = row_of(table, 5, count, e);
        adamw_at((float*) row[0], (const float*) row[1], (float*) row[2], (float*) row[3], e - row[4], decay,
                 gradWeight, beta2, oneMinusBeta2, eps, negStepSize, bc2Sqrt);
    }
}

// g' = g + weightDecay * p; with momentum buf = first ? g' : momentum * buf + keep * g',
// g' = nesterov ? g' + momentum * buf : buf; p = p + negLr * g'. buf null without momentum.
extern "C" __global__ void sgd(float* param, const float* grad, float* buf, float negLr, float weightDecay,
                               float momentum, float keep, int nesterov, int first, long long n) {
    FOR_EACH(i, n) {
        float g = grad[i];
        if (weightDecay != 0.0f) g = g + weightDecay * param[i];
        if (buf) {
            float b = first ? g : momentum * buf[i] + keep * g;
            buf[i] = b;
            g = nesterov ? g + momentum * b : b;
        }
        param[i] = param[i] + negLr * g;
    }
}
