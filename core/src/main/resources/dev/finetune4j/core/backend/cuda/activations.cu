// ActivationKernels: pointwise activations, SwiGLU and xIELU, forward and backward, computed in double as the CPU.
// All tensors contiguous F32 of n elements. kind: Activations.Kind ordinals
// (0 silu, 1 gelu exact, 2 gelu tanh, 3 relu, 4 tanh, 5 sigmoid, 6 softplus with PyTorch's threshold 20, 7 relu
// squared).
#include "common.cuh"

#define SQRT_2_OVER_PI 0.7978845608028654
#define GELU_C 0.044715

__device__ double act_value(int kind, double x) {
    switch (kind) {
        case 0: return x / (1 + exp(-x));
        case 1: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
        case 2: return 0.5 * x * (1 + tanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x)));
        case 3: return x > 0 ? x : 0.0;
        case 4: return tanh(x);
        case 5: return 1 / (1 + exp(-x));
        case 7: return x > 0 ? x * x : 0.0;
        default: return x > 20 ? x : log1p(exp(x));
    }
}

__device__ double act_derivative(int kind, double x) {
    switch (kind) {
        case 0: { double s = 1 / (1 + exp(-x)); return s * (1 + x * (1 - s)); }
        case 1: return 0.5 * (1 + erf(x / sqrt(2.0))) + x * exp(-0.5 * x * x) / sqrt(2 * 3.141592653589793);
        case 2: {
            double th = tanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x));
            return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * SQRT_2_OVER_PI * (1 + 3 * GELU_C * x * x);
        }
        case 3: return x > 0 ? 1.0 : 0.0;
        case 4: { double t = tanh(x); return 1 - t * t; }
        case 5: { double s = 1 / (1 + exp(-x)); return s * (1 - s); }
        case 7: return x > 0 ? 2 * x : 0.0;
        default: return x > 20 ? 1.0 : 1 / (1 + exp(-x));
    }
}

// y = f(x).
extern "C" __global__ void activation_forward(int kind, const float* x, float* y, long long n) {
    FOR_EACH(i, n) y[i] = (float) act_value(kind, x[i]);
}

// (forward: activation_forward) dx = dy * f'(x).
extern "C" __global__ void activation_backward(int kind, const float* x, const float* dy, float* dx, long long n) {
    FOR_EACH(i, n) dx[i] = (float) (dy[i] * act_derivative(kind, x[i]));
}

// y = silu(gate) * up. gate and up: contiguous, each in its own floating dtype (bf16 activations are read where they
// are, not converted first); y: contiguous F32 or BF16 (yType), rounded once.
extern "C" __global__ void swiglu_forward(const void* gate, int gateType, const void* up, int upType, void* y,
                                          int yType, long long n) {
    FOR_EACH(i, n) {
        double g = load_f(gate, gateType, i);
        double s = 1 / (1 + exp(-g));
        store_f(y, yType, i, (float) (g * s * load_f(up, upType, i)));
    }
}

// (forward: swiglu_forward) dGate = dy * up * silu'(gate), dUp = dy * silu(gate), with sigmoid(gate) computed
// again (cheaper than keeping a float32 copy of the largest activation for the backward). dGate and dUp: contiguous
// F32 or BF16 (their types), rounded once.
extern "C" __global__ void swiglu_backward(const void* gate, int gateType, const void* up, int upType, const float* dy,
                                           void* dGate, int dGateType, void* dUp, int dUpType, long long n) {
    FOR_EACH(i, n) {
        double g = load_f(gate, gateType, i), s = (float) (1 / (1 + exp(-g)));
        float u = load_f(up, upType, i);
        store_f(dGate, dGateType, i, (float) (dy[i] * u * (s * (1 + g * (1 - s)))));
        store_f(dUp, dUpType, i, (float) (dy[i] * g * s));
    }
}

// gpt-oss's expert activation over interleaved (gate, up) pairs of gateUp (contiguous, its own floating dtype):
// y[i] = (u + 1) * g * sigmoid(alpha * g) with g = min(gate, limit), u = clamp(up, -limit, limit). y: contiguous F32 or
// BF16 (yType) of n elements, rounded once.
extern "C" __global__ void clamped_swiglu_forward(const void* gateUp, int gateUpType, float alpha, float limit,
                                                  void* y, int yType, long long n) {
    FOR_EACH(i, n) {
        double g = fmin((double) load_f(gateUp, gateUpType, 2 * i), (double) limit);
        double u = fmin(fmax((double) load_f(gateUp, gateUpType, 2 * i + 1), (double) -limit), (double) limit);
        store_f(y, yType, i, (float) ((u + 1) * g / (1 + exp(-alpha * g))));
    }
}

// (forward: clamped_swiglu_forward) the gradient of the interleaved pairs; a clamped input passes none (one equal to
// its bound does, as torch.clamp's backward). dGateUp: contiguous F32 or BF16 of 2 n elements.
extern "C" __global__ void clamped_swiglu_backward(const void* gateUp, int gateUpType, float alpha, float limit,
                                                   const float* dy, void* dGateUp, int dGateUpType, long long n) {
    FOR_EACH(i, n) {
        double gate = load_f(gateUp, gateUpType, 2 * i), up = load_f(gateUp, gateUpType, 2 * i + 1);
        double g = fmin(gate, (double) limit);
        double s = 1 / (1 + exp(-alpha * g));
        double dGate = gate <= limit ? dy[i] * (fmin(fmax(up, (double) -limit), (double) limit) + 1)
                * (s + alpha * g * s * (1 - s)) : 0.0;
        double dUp = up >= -limit && up <= limit ? dy[i] * g * s : 0.0;
        store_f(dGateUp, dGateUpType, 2 * i, (float) dGate);
        store_f(dGateUp, dGateUpType, 2 * i + 1, (float) dUp);
    }
}

// xIELU (Apertus): its raw scalars alphaP and alphaN (one element each, their own floating dtypes) read through
// PyTorch's softplus (threshold 20): ap = softplus(alphaP), an = beta + softplus(alphaN).
__device__ double xielu_softplus(double r) { return r > 20 ? r : log1p(exp(r)); }

// y = ap x^2 + beta x (x > 0), else (expm1(min(x, eps)) - x) an + beta x. x: contiguous, its own floating dtype;
// y: contiguous F32 or BF16 (yType) of n elements, rounded once.
extern "C" __global__ void xielu_forward(const void* x, int xType, const void* alphaP, int alphaPType,
                                         const void* alphaN, int alphaNType, float beta, float eps, void* y, int yType,
                                         long long n) {
    double ap = xielu_softplus(load_f(alphaP, alphaPType, 0));
    double an = beta + xielu_softplus(load_f(alphaN, alphaNType, 0));
    FOR_EACH(i, n) {
        double v = load_f(x, xType, i);
        store_f(y, yType, i, (float) (v > 0 ? ap * v * v + beta * v : (expm1(fmin(v, (double) eps)) - v) * an + beta * v));
    }
}

// (forward: xielu_forward) dx = dy * y'(x) (min's gradient to x below eps, half of it at eps, as PyTorch's), and this
// block's sums of the scalars' factors: partials[2 b] = sum of dy x^2 over x > 0, partials[2 b + 1] = sum of
// dy (expm1(min(x, eps)) - x) over x <= 0, in double. dx: contiguous F32 or BF16 (dxType); dy: contiguous F32.
extern "C" __global__ void xielu_backward(const void* x, int xType, const void* alphaP, int alphaPType,
                                          const void* alphaN, int alphaNType, float beta, float eps, const float* dy,
                                          void* dx, int dxType, double* partials, long long n) {
    double ap = xielu_softplus(load_f(alphaP, alphaPType, 0));
    double an = beta + xielu_softplus(load_f(alphaN, alphaNType, 0));
    double sumP = 0.0, sumN = 0.0;
    FOR_EACH(i, n) {
        double v = load_f(x, xType, i), g = dy[i];
        if (v > 0) {
            store_f(dx, dxType, i, (float) (g * (2 * ap * v + beta)));
            sumP += g * v * v;
        } else {
            double throughMin = v < eps ? exp(v) : v == eps ? 0.5 * exp(v) : 0.0;
            store_f(dx, dxType, i, (float) (g * ((throughMin - 1) * an + beta)));
            sumN += g * (expm1(fmin(v, (double) eps)) - v);
        }
    }
    sumP = block_sum_d(sumP);
    sumN = block_sum_d(sumN);
    if (threadIdx.x == 0) {
        partials[2 * blockIdx.x] = sumP;
        partials[2 * blockIdx.x + 1] = sumN;
    }
}

// (after xielu_backward) the raw scalars' gradients from its count blocks' partials: each sum times softplus' (the
// sigmoid, 1 above the threshold), rounded once. dAlphaP or dAlphaN null: not wanted. One block.
extern "C" __global__ void xielu_scalars_backward(const double* partials, int count, const void* alphaP,
                                                  int alphaPType, const void* alphaN, int alphaNType, float* dAlphaP,
                                                  float* dAlphaN) {
    double sumP = 0.0, sumN = 0.0;
    for (int b = threadIdx.x; b < count; b += blockDim.x) {
        sumP += partials[2 * b];
        sumN += partials[2 * b + 1];
    }
    sumP = block_sum_d(sumP);
    sumN = block_sum_d(sumN);
    if (threadIdx.x == 0) {
        double rawP = load_f(alphaP, alphaPType, 0), rawN = load_f(alphaN, alphaNType, 0);
        if (dAlphaP) dAlphaP[0] = (float) (sumP * (rawP > 20 ? 1.0 : 1 / (1 + exp(-rawP))));
        if (dAlphaN) dAlphaN[0] = (float) (sumN * (rawN > 20 ? 1.0 : 1 / (1 + exp(-rawN))));
    }
}
