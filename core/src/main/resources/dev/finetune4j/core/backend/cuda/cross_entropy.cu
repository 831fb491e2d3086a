// CrossEntropyKernels: label log-probabilities under softmax(logits) without materialising the probabilities.
// One block per row walks the vocabulary in blockDim-wide chunks, reading logits in their own dtype.
// logits, dLogits: (N, V) contiguous; labels: (N) I32; logProbs, lse, dLogProbs: (N) F32.
#include "common.cuh"

// logProbs[n] = (logits[n][label] - max) - log(sum(exp(logits[n] - max))); lse[n] = max + log(sum).
// Rows with the ignore label get 0 for both.
extern "C" __global__ void token_log_probs(const void* logits, int logitsType, const int* labels, int ignoreIndex,
                                           float* logProbs, float* lse, long long V) {
    long long n = blockIdx.x, base = n * V;
    int label = labels[n];
    if (label == ignoreIndex) {
        if (threadIdx.x == 0) {
            logProbs[n] = 0.0f;
            lse[n] = 0.0f;
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
        lse[n] = m + logSum;
    }
}

// (forward: token_log_probs) dLogits[n] = dLogProbs[n] * (onehot(label) - exp(logits[n] - lse[n])).
extern "C" __global__ void token_log_probs_backward(const void* logits, int logitsType, const int* labels,
                                                    int ignoreIndex, const float* lse, const float* dLogProbs,
                                                    float* dLogits, long long V) {
    long long n = blockIdx.x, base = n * V;
    int label = labels[n];
    bool ignored = label == ignoreIndex;
    float g = ignored ? 0.0f : dLogProbs[n];
    float l = lse[n];
    for (long long j = threadIdx.x; j < V; j += blockDim.x) {
        float sm = ignored ? 0.0f : expf(load_f(logits, logitsType, base + j) - l);
        dLogits[base + j] = g * ((j == label ? 1.0f : 0.0f) - sm);
    }
}
