// OptimizerKernels: AdamW and SGD steps in place, float32, as OptimizerKernels documents (torch's
// single-tensor paths), and the gate that decides on the device whether a step updates and how much it clips.
// All tensors contiguous F32 of n elements.
#include "common.cuh"

// gate[0] = sqrt(sum of norms[k]^2) (in double, rounded once to float32); gate[2] = 0 (open) when it and every loss
// are finite, else 1 (closed); gate[1] = min(1, (1 / (norm + 1e-6)) * maxNorm) in float32 (1 when maxNorm is 0, 0
// when closed).
// One block.
extern "C" __global__ void update_gate(const float* norms, int count, const float* losses, int lossCount,
                                       float maxNorm, float* gate) {
    double acc = 0.0;
    for (int k = threadIdx.x; k < count; k += blockDim.x) acc += (double) norms[k] * norms[k];
    acc = block_sum_d(acc);
    if (threadIdx.x != 0) return;
    float norm = (float) sqrt(acc);
    bool open = isfinite(norm);
    for (int j = 0; j < lossCount; ++j) open = open && isfinite(losses[j]);
    gate[0] = norm;
    gate[1] = !open ? 0.0f : maxNorm > 0.0f ? fminf(1.0f, (1.0f / (norm + 1e-6f)) * maxNorm) : 1.0f;
    gate[2] = open ? 0.0f : 1.0f;
}

// The gradient's scale under gate (null: 1); false when the gate is closed and the step is skipped.
__device__ __forceinline__ bool gate_scale(const float* gate, float* scale) {
    *scale = gate ? gate[1] : 1.0f;
    return !gate || gate[2] == 0.0f;
}

// p = p * decay; m = lerp(m, g, gradWeight); v = v * beta2 + oneMinusBeta2 * g * g;
// p = p + negStepSize * (m / (sqrt(v) / bc2Sqrt + eps)), for element i.
__device__ __forceinline__ void adamw_at(float* param, const float* grad, float* m, float* v, long long i,
                                         float scale, float decay, float gradWeight, float beta2,
                                         float oneMinusBeta2, float eps, float negStepSize, float bc2Sqrt) {
    float g = grad[i] * scale;
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

// gate: an update_gate result, or null.
extern "C" __global__ void adamw(float* param, const float* grad, float* m, float* v, const float* gate,
                                 float decay, float gradWeight, float beta2, float oneMinusBeta2, float eps,
                                 float negStepSize, float bc2Sqrt, long long n) {
    float scale;
    if (!gate_scale(gate, &scale)) return;
    FOR_EACH(i, n) {
        adamw_at(param, grad, m, v, i, scale, decay, gradWeight, beta2, oneMinusBeta2, eps, negStepSize, bc2Sqrt);
    }
}

// The same step over count tensors in one launch. table: per tensor k, the addresses of its param, grad, m and v,
// then the index of its first element in the concatenation of all of them (ascending; total elements in all).
extern "C" __global__ void adamw_multi(const long long* table, int count, const float* gate, float decay,
                                       float gradWeight, float beta2, float oneMinusBeta2, float eps,
                                       float negStepSize, float bc2Sqrt, long long total) {
    float scale;
    if (!gate_scale(gate, &scale)) return;
    FOR_EACH(e, total) {
        const long long* row = row_of(table, 5, count, e);
        adamw_at((float*) row[0], (const float*) row[1], (float*) row[2], (float*) row[3], e - row[4], scale, decay,
                 gradWeight, beta2, oneMinusBeta2, eps, negStepSize, bc2Sqrt);
    }
}

// g' = g + weightDecay * p; with momentum buf = first ? g' : momentum * buf + keep * g',
// g' = nesterov ? g' + momentum * buf : buf; p = p + negLr * g'. buf null without momentum; g scaled by the gate.
extern "C" __global__ void sgd(float* param, const float* grad, float* buf, const float* gate, float negLr,
                               float weightDecay, float momentum, float keep, int nesterov, int first, long long n) {
    float scale;
    if (!gate_scale(gate, &scale)) return;
    FOR_EACH(i, n) {
        float g = grad[i] * scale;
        if (weightDecay != 0.0f) g = g + weightDecay * param[i];
        if (buf) {
            float b = first ? g : momentum * buf[i] + keep * g;
            buf[i] = b;
            g = nesterov ? g + momentum * b : b;
        }
        param[i] = param[i] + negLr * g;
    }
}
