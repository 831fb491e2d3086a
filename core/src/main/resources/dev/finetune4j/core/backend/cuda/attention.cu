// AttentionKernels: a simple, correct scaled dot-product attention. One block per (b, h, query); the query's
// scores over all S keys live in dynamic shared memory. Grouped-query attention: head h reads kv head h / group.
// q, out, dOut, dq: (B, H, T, D); k, v, dk, dv: (B, Hkv, S, D); lse: (B, H, T). All contiguous F32.
// Mask: query i sits at key position S - T + i; keyValid (B, S) bytes and segments (B, S) ints may be null.
#include "common.cuh"

struct Dims {
    long long B, H, Hkv, T, S, D;
};

__device__ __forceinline__ bool allowed(int causal, const unsigned char* keyValid, const int* segments,
                                        long long b, long long S, long long qPos, long long j) {
    if (causal && j > qPos) return false;
    if (keyValid && !keyValid[b * S + j]) return false;
    return !segments || segments[b * S + j] == segments[b * S + qPos];
}

// Fills p[j] = scale * q.k_j (or -inf where masked) for the block's query; returns the row's maximum.
__device__ float scores(const float* qr, const float* kh, float scale, int causal, const unsigned char* keyValid,
                        const int* segments, long long b, long long qPos, const Dims& d, float* p) {
    float m = -F_INF;
    for (long long j = threadIdx.x; j < d.S; j += blockDim.x) {
        float s = -F_INF;
        if (allowed(causal, keyValid, segments, b, d.S, qPos, j)) {
            float dot = 0.0f;
            for (long long c = 0; c < d.D; ++c) dot += qr[c] * kh[j * d.D + c];
            s = dot * scale;
        }
        p[j] = s;
        m = fmaxf(m, s);
    }
    return block_max_f(m);
}

// out = softmax(scores) v and lse = log(sum(exp(scores))); a query that sees no key gets 0 and -inf.
extern "C" __global__ void attention_forward(const float* q, const float* k, const float* v, Dims d, float scale,
                                             int causal, const unsigned char* keyValid, const int* segments,
                                             float* out, float* lse) {
    extern __shared__ float p[];
    long long row = blockIdx.x;  // (b, h, t)
    long long t = row % d.T, h = (row / d.T) % d.H, b = row / (d.T * d.H);
    long long kvHead = b * d.Hkv + h / (d.H / d.Hkv);
    const float* kh = k + kvHead * d.S * d.D;
    const float* vh = v + kvHead * d.S * d.D;
    long long qPos = d.S - d.T + t;
    float m = scores(q + row * d.D, kh, scale, causal, keyValid, segments, b, qPos, d, p);
    double s = 0.0;
    for (long long j = threadIdx.x; j < d.S; j += blockDim.x) {
        float e = m == -F_INF ? 0.0f : expf(p[j] - m);
        p[j] = e;
        s += e;
    }
    s = block_sum_d(s);  // synchronizes, so every p[j] is visible below
    float inv = s > 0 ? (float) (1.0 / s) : 0.0f;
    for (long long c = threadIdx.x; c < d.D; c += blockDim.x) {
        float acc = 0.0f;
        for (long long j = 0; j < d.S; ++j) acc += p[j] * vh[j * d.D + c];
        out[row * d.D + c] = acc * inv;
    }
    if (threadIdx.x == 0) lse[row] = s > 0 ? m + (float) ::log(s) : -F_INF;
}

// (forward: attention_forward) with p = exp(score - lse), dp_j = dOut.v_j and delta = dOut.out:
// ds_j = p_j (dp_j - delta); dq = scale sum_j ds_j k_j; dk_j += scale ds_j q; dv_j += p_j dOut.
// dk and dv must be zero on entry (several queries and heads add into them).
extern "C" __global__ void attention_backward(const float* q, const float* k, const float* v, Dims d, float scale,
                                              int causal, const unsigned char* keyValid, const int* segments,
                                              const float* out, const float* lse, const float* dOut, float* dq,
                                              float* dk, float* dv) {
    extern __shared__ float p[];  // p[0..S): probabilities, p[S..2S): ds
    float* ds = p + d.S;
    long long row = blockIdx.x;
    long long t = row % d.T, h = (row / d.T) % d.H, b = row / (d.T * d.H);
    long long kvHead = b * d.Hkv + h / (d.H / d.Hkv);
    const float* kh = k + kvHead * d.S * d.D;
    const float* vh = v + kvHead * d.S * d.D;
    const float* qr = q + row * d.D;
    const float* dor = dOut + row * d.D;
    long long qPos = d.S - d.T + t;
    float l = lse[row];
    scores(qr, kh, scale, causal, keyValid, segments, b, qPos, d, p);
    double delta = 0.0;
    for (long long c = threadIdx.x; c < d.D; c += blockDim.x) delta += (double) dor[c] * out[row * d.D + c];
    float dl = (float) block_sum_d(delta);
    for (long long j = threadIdx.x; j < d.S; j += blockDim.x) {
        float pj = (l == -F_INF || p[j] == -F_INF) ? 0.0f : expf(p[j] - l);
        float dp = 0.0f;
        for (long long c = 0; c < d.D; ++c) dp += dor[c] * vh[j * d.D + c];
        p[j] = pj;
        ds[j] = pj * (dp - dl);
    }
    __syncthreads();
    for (long long c = threadIdx.x; c < d.D; c += blockDim.x) {
        float acc = 0.0f;
        for (long long j = 0; j < d.S; ++j) acc += ds[j] * kh[j * d.D + c];
        dq[row * d.D + c] = acc * scale;
    }
    float* dkh = dk + kvHead * d.S * d.D;
    float* dvh = dv + kvHead * d.S * d.D;
    for (long long e = threadIdx.x; e < d.S * d.D; e += blockDim.x) {
        long long j = e / d.D, c = e % d.D;
        if (p[j] != 0.0f) {
            atomicAdd(dkh + e, scale * ds[j] * qr[c]);
            atomicAdd(dvh + e, p[j] * dor[c]);
        }
    }
}
