// CrossEntropyKernels: label log-probabilities under softmax(logits) without materialising the probabilities.
// One block per row walks the vocabulary in blockDim-wide chunks, reading logits in their own dtype.
// logits, dLogits: (N, V) contiguous; labels: (N) I32; logProbs, rowMax, invRowSum, dLogProbs: (N) F32.
// Each row keeps its max and 1/sum rather than one log-sum-exp: max + log(sum) rounded to float32 would move every
// recomputed probability by up to half an ulp of max (the CPU keeps the same two values).
#include "common.cuh"

// logProbs[n] = (logits[n][label] - max) - log(sum(exp(logits[n] - max))); rowMax[n] = max; invRowSum[n] = 1/sum.
// Rows with the ignore label get 0 for all three.
extern "C" __global__ void token_log_probs(const void* logits, int logitsType, const int* labels, int ignoreIndex,
                                           float* logProbs, float* rowMax, float* invRowSum, long long V) {
    long long n = blockIdx.x, base = n * V;
    int label = labels[n];
    if (label == ignoreIndex) {
        if (threadIdx.x == 0) {
            logProbs[n] = 0.0f;
            rowMax[n] = 0.0f;
            invRowSum[n] = 0.0f;
        }
        return;
    }
    float m = -F_INF;
    for (long long j = threadIdx.x; j < V; j += blockDim.x) m = fmaxf(m, load_f(logits, logitsType, base + j));
    m = block_max_f(m);
    double s = 0.0;
    for (long long j = threadIdx.x; j < V; j += blockDim.x) s += expf(load_f(logits, logitsType, base + j) - m);
    s = block_sum_d(s);
    if (threadIdx.x == 0) {
        float logSum = (float) ::log(s);
        logProbs[n] = (load_f(logits, logitsType, base + label) - m) - logSum;
        rowMax[n] = m;
        invRowSum[n] = (float) (1.0 / s);
    }
}

// (forward: token_log_probs) dLogits[n] = dLogProbs[n] * (onehot(label) - exp(logits[n] - max[n]) / sum[n]).
// dLogits: F32 or BF16 (dLogitsType), rounded once; it may be logits itself (F32): each thread reads an element
// before writing it, and no other thread reads it.
extern "C" __global__ void token_log_probs_backward(const void* logits, int logitsType, const int* labels,
                                                    int ignoreIndex, const float* rowMax, const float* invRowSum,
                                                    const float* dLogProbs, void* dLogits, int dLogitsType,
                                                    long long V) {
    long long n = blockIdx.x, base = n * V;
    int label = labels[n];
    bool ignored = label == ignoreIndex;
    float g = ignored ? 0.0f : dLogProbs[n];
    float m = rowMax[n], inv = invRowSum[n];
    for (long long j = threadIdx.x; j < V; j += blockDim.x) {
        float sm = ignored ? 0.0f : expf(load_f(logits, logitsType, base + j) - m) * inv;
        store_f(dLogits, dLogitsType, base + j, g * ((j == label ? 1.0f : 0.0f) - sm));
    }
}
