// RecurrentKernels: linear attention's (Qwen3.5's gated DeltaNet, Granite 4.0 H's Mamba-2) causal depthwise
// convolution + SiLU (LFM2's without it) and the gated recurrence: the delta rule (Yang, Kautz and Hatamizadeh 2024) or Mamba-2's additive
// update (`delta_rule` 0), each forward beside its backward. Every tensor is contiguous F32
// (CudaRecurrent converts what is not). Products are rounded as CpuRecurrent rounds them and summed in double as it
// sums them, so that the two backends agree to the last bits but for the order of the double additions. No kernel
// uses atomics: every sum is taken in a fixed order, so a run gives the same bits every time.
#include "common.cuh"

// ---- causal depthwise convolution + SiLU: x (B, T, C), past (B, K - 1, C) or null for zeros, w (C, K), bias (C)
// or null, offsets (B, T) or null: each token's position within its packed example, whose earlier inputs count as
// zeros ----

// Input s of batch row b at channel c: past's for s < 0 (zero without one).
__device__ __forceinline__ float conv_input(const float* x, const float* past, long long b, long long s, long long c,
                                            long long T, long long C, long long K) {
    if (s >= 0) return x[(b * T + s) * C + c];
    return past ? past[(b * (K - 1) + K - 1 + s) * C + c] : 0.0f;
}

// Whether tap j of token t of row b reads an input of the token's own example.
__device__ __forceinline__ bool conv_reads(const float* offsets, long long b, long long t, long long j, long long T,
                                           long long K) {
    return !offsets || (float) (K - 1 - j) <= offsets[b * T + t];
}

// The input tap j of token t reads: token t + j - (K - 1), or zero across an example's start.
__device__ __forceinline__ float conv_tap(const float* x, const float* past, const float* offsets, long long b,
                                          long long t, long long j, long long c, long long T, long long C,
                                          long long K) {
    return conv_reads(offsets, b, t, j, T, K) ? conv_input(x, past, b, t + j - (K - 1), c, T, C, K) : 0.0f;
}

// pre[b, t, c] = bias[c] + sum_j w[c, j] in[b, t + j - (K - 1), c]
__device__ __forceinline__ double conv_pre_activation(const float* x, const float* past, const float* w,
                                                      const float* bias, const float* offsets, long long b,
                                                      long long t, long long c, long long T, long long C,
                                                      long long K) {
    double sum = bias ? (double) bias[c] : 0.0;
    for (long long j = 0; j < K; ++j) sum += (double) w[c * K + j] * conv_tap(x, past, offsets, b, t, j, c, T, C, K);
    return sum;
}

// y = silu(pre), or pre itself (silu 0), (B, T, C).
extern "C" __global__ void causal_conv1d_forward(const float* x, const float* past, const float* w, const float* bias,
                                                 const float* offsets, float* y, long long B, long long T, long long C,
                                                 long long K, int silu) {
    FOR_EACH(e, B * T * C) {
        long long c = e % C, r = e / C;
        double pre = conv_pre_activation(x, past, w, bias, offsets, r / T, r % T, c, T, C, K);
        y[e] = (float) (silu ? pre / (1.0 + exp(-pre)) : pre);
    }
}

// Backward of the forward's silu: dpre = dy silu'(pre) from the recomputed pre-activations, (B, T, C); the two
// kernels below read it (dy itself without the SiLU).
extern "C" __global__ void causal_conv1d_silu_backward_pre(const float* x, const float* past, const float* w,
                                                           const float* bias, const float* offsets, const float* dy,
                                                           float* dpre, long long B, long long T, long long C,
                                                           long long K) {
    FOR_EACH(e, B * T * C) {
        long long c = e % C, r = e / C;
        double pre = conv_pre_activation(x, past, w, bias, offsets, r / T, r % T, c, T, C, K);
        double s = 1.0 / (1.0 + exp(-pre));
        dpre[e] = (float) (dy[e] * s * (1.0 + pre * (1.0 - s)));
    }
}

// Backward of the convolution for its input: input s feeds output s + K - 1 - j through tap j, so
// dx[b, s, c] = sum_j w[c, j] dpre[b, s + K - 1 - j, c] over the outputs before T that read it (past gets no
// gradient).
extern "C" __global__ void causal_conv1d_backward_input(const float* dpre, const float* w, const float* offsets,
                                                        float* dx, long long B, long long T, long long C,
                                                        long long K) {
    FOR_EACH(e, B * T * C) {
        long long c = e % C, r = e / C, b = r / T, s = r % T;
        double sum = 0.0;
        for (long long j = 0; j < K; ++j) {
            long long out = s + K - 1 - j;
            if (out < T && conv_reads(offsets, b, out, j, T, K)) {
                sum += (double) (w[c * K + j] * dpre[(b * T + out) * C + c]);
            }
        }
        dx[e] = (float) sum;
    }
}

// Backward of the convolution for its filters and biases: dw[c, j] = sum over (b, t) of dpre[b, t, c]
// in[b, t + j - (K - 1), c], and dbias[c] = sum over (b, t) of dpre[b, t, c] as tap K (whose input is 1). A block per
// tap j < taps and 32 channels (grid taps * ceil(C / 32); taps is K, K + 1 with the biases, or 1 for the biases
// alone with dw null): lane l takes channel 32 g + l, warp w every warps-th (b, t) row from w, and warp 0 adds the
// warps' sums in order.
extern "C" __global__ void causal_conv1d_backward_weight(const float* dpre, const float* x, const float* past,
                                                         const float* offsets, float* dw, float* dbias, long long B,
                                                         long long T, long long C, long long K, long long taps) {
    __shared__ double partial[32][32];
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    long long j = blockIdx.x % taps + (dw ? 0 : K), c = blockIdx.x / taps * 32 + lane;
    double sum = 0.0;
    for (long long r = warp; c < C && r < B * T; r += warps) {
        double in = j == K ? 1.0 : (double) conv_tap(x, past, offsets, r / T, r % T, j, c, T, C, K);
        sum += (double) dpre[r * C + c] * in;
    }
    partial[warp][lane] = sum;
    __syncthreads();
    if (warp == 0 && c < C) {
        sum = 0.0;
        for (int w = 0; w < warps; ++w) sum += partial[w][lane];
        if (j == K) dbias[c] = (float) sum;
        else dw[c * K + j] = (float) sum;
    }
}

// ---- gated recurrence: q, k (B, T, H, Dk), v (B, T, H, Dv), g, beta (B, T, H), state (B, H, Dk, Dv) ----
// Per token: S = decay S + k delta^T with decay = exp(g), m = decay S^T k for the delta rule (0 for the additive
// update, `delta_rule` 0) and delta = beta (v - m); o = S^T q. offsets (B, T) or null: S is zero before a packed
// example's first token (offset 0), and its backward passes no gradient across that start.
// Each column j of S evolves on its own given k, g and beta (and its own v_j), so a block takes RULE_COLS columns of
// one (b, h), exactly: grid B * H * ceil(Dv / RULE_COLS), block index (b H + h) slices + slice. Its 256 threads
// (CudaKernels.BLOCK) are RULE_COLS columns of RULE_PARTS consecutive lanes: thread (col, part) = col RULE_PARTS +
// part keeps rows part + RULE_PARTS r of its column in registers (r < RULE_MAX_ROWS: Dk <= 256), and a column's sums
// over i are shuffles among its lanes. Columns past Dv compute on zeros and write nothing.
#define RULE_COLS 32
#define RULE_PARTS 8
#define RULE_MAX_ROWS 32
#define RULE_WARPS 8
// Tokens between two kept states (RecurrentKernels.STATE_INTERVAL), and the most one backward launch walks.
#define RULE_INTERVAL 64

// The (b, t, h) row of token t of the (b, h) pair bh.
__device__ __forceinline__ long long rule_row(long long bh, long long t, long long T, long long H) {
    return (bh / H * T + t) * H + bh % H;
}

// Rows of Dk each thread keeps (the same for every thread of the block: those past Dk hold zeros).
__device__ __forceinline__ int rule_rows(long long Dk) {
    return (int) ((Dk + RULE_PARTS - 1) / RULE_PARTS);
}

// Sum over the RULE_PARTS lanes of a column; each of them gets the same bits (the butterfly adds the same pairs).
__device__ __forceinline__ double column_sum(double v) {
    for (int o = 1; o < RULE_PARTS; o <<= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// sum_i S[i, j] x[i] over this thread's column, float products summed in double; every lane of the column gets it.
__device__ __forceinline__ double column_dot(const float (&s)[RULE_MAX_ROWS], const float* x, int part,
                                             long long Dk) {
    double sum = 0.0;
#pragma unroll
    for (int r = 0; r < RULE_MAX_ROWS; ++r) {
        long long i = part + RULE_PARTS * r;
        if (i < Dk) sum += (double) (s[r] * x[i]);
    }
    return column_sum(sum);
}

// S[:, j] = decay S[:, j] + k delta_j on this thread's rows.
__device__ __forceinline__ void column_update(float (&s)[RULE_MAX_ROWS], const float* k, float decay, float delta,
                                              int part, long long Dk) {
#pragma unroll
    for (int r = 0; r < RULE_MAX_ROWS; ++r) {
        long long i = part + RULE_PARTS * r;
        if (i < Dk) s[r] = decay * s[r] + k[i] * delta;
    }
}

// This thread's rows of column j of the (Dk, Dv) state at `at` (zeros for a column past Dv), and back.
__device__ __forceinline__ void column_load(float (&s)[RULE_MAX_ROWS], const float* at, long long j, int part,
                                            long long Dk, long long Dv) {
#pragma unroll
    for (int r = 0; r < RULE_MAX_ROWS; ++r) {
        long long i = part + RULE_PARTS * r;
        s[r] = i < Dk && j < Dv ? at[i * Dv + j] : 0.0f;
    }
}

__device__ __forceinline__ void column_store(const float (&s)[RULE_MAX_ROWS], float* at, long long j, int part,
                                             long long Dk, long long Dv) {
#pragma unroll
    for (int r = 0; r < RULE_MAX_ROWS; ++r) {
        long long i = part + RULE_PARTS * r;
        if (i < Dk && j < Dv) at[i * Dv + j] = s[r];
    }
}

// Whether token t of the (b, h) pair bh starts a packed example: the state before it is zero.
__device__ __forceinline__ bool rule_resets(const float* offsets, long long bh, long long t, long long T,
                                            long long H) {
    return offsets && offsets[bh / H * T + t] == 0.0f;
}

// Zeros this thread's rows of its column.
__device__ __forceinline__ void column_zero(float (&s)[RULE_MAX_ROWS]) {
#pragma unroll
    for (int r = 0; r < RULE_MAX_ROWS; ++r) s[r] = 0.0f;
}

// exp(g) rounded once to float, as CpuRecurrent takes it.
__device__ __forceinline__ float rule_decay(float g) {
    return (float) exp((double) g);
}

// The rule over all T tokens from `state`, which receives the state after the last; o (B, T, H, Dv); checkpoints
// (B, H, ceil(T / RULE_INTERVAL), Dk, Dv) receives the state before tokens 0, RULE_INTERVAL, ... (null: none kept).
extern "C" __global__ void gated_rule_forward(const float* q, const float* k, const float* v, const float* g,
                                              const float* beta, const float* offsets, float* state, float* o,
                                              float* checkpoints, long long B, long long T, long long H,
                                              long long Dk, long long Dv, int delta_rule) {
    long long slices = (Dv + RULE_COLS - 1) / RULE_COLS, bh = blockIdx.x / slices;
    long long j = blockIdx.x % slices * RULE_COLS + threadIdx.x / RULE_PARTS;
    int part = threadIdx.x % RULE_PARTS;
    long long chunks = (T + RULE_INTERVAL - 1) / RULE_INTERVAL;
    float s[RULE_MAX_ROWS];
    column_load(s, state + bh * Dk * Dv, j, part, Dk, Dv);
    for (long long t = 0; t < T; ++t) {
        if (checkpoints && t % RULE_INTERVAL == 0) {
            column_store(s, checkpoints + (bh * chunks + t / RULE_INTERVAL) * Dk * Dv, j, part, Dk, Dv);
        }
        if (rule_resets(offsets, bh, t, T, H)) column_zero(s);
        long long row = rule_row(bh, t, T, H);
        const float* kt = k + row * Dk;
        float decay = rule_decay(g[row]);
        float vj = j < Dv ? v[row * Dv + j] : 0.0f;
        float m = delta_rule ? decay * (float) column_dot(s, kt, part, Dk) : 0.0f;
        column_update(s, kt, decay, beta[row] * (vj - m), part, Dk);
        double out = column_dot(s, q + row * Dk, part, Dk);
        if (j < Dv && part == 0) o[row * Dv + j] = (float) out;
    }
    column_store(s, state + bh * Dk * Dv, j, part, Dk, Dv);
}

// Sum over the 4 columns of a warp (the lanes RULE_PARTS apart); each of them gets the same bits.
__device__ __forceinline__ double warp_columns_sum(double v) {
    for (int o = RULE_PARTS; o < 32; o <<= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// The backward of the rule over chunk `chunk` (its tokens first = chunk RULE_INTERVAL to first + n), launched for
// the last chunk first, on the forward's grid. Per token, with A the state before it, D = decay A, m = D^T k (0 and
// dm = 0 for the additive update),
// delta = beta (v - m) and S = D + k delta^T (the CpuRecurrent backward, line by line):
//   dS += q dO^T; dq = S dO; dDelta = dS^T k; dv = beta dDelta; dbeta = dDelta . (v - m); dm = -beta dDelta;
//   dk = dS delta + D dm; dD = dS + k dm^T; dg = <D, dD>; dS = decay dD (the gradient of the state before).
// First the chunk's states are recomputed from its kept one into `states` (per block, RULE_INTERVAL (at most T)
// tokens of rule_rows(Dk) x 256 floats, thread-major so that each thread reads back what it wrote) and each token's
// S^T k (before its decay) into shared memory; then the tokens are walked backwards. dS (this thread's rows) comes
// from `carry`, where the later chunk left it (zeros when carry_in is 0), and is left there for the earlier one. dv
// is complete per column and written here; dq, dk, dg and dbeta sum over every column, so each block writes its
// slice's sums, in double, to part_q, part_k ((slices, B H, RULE_INTERVAL, Dk)) and part_g, part_b ((slices, B H,
// RULE_INTERVAL)), which gated_rule_backward_sum adds up. Dynamic shared memory: 2 RULE_WARPS Dk doubles and
// RULE_INTERVAL RULE_COLS floats.
extern "C" __global__ void gated_rule_backward_chunk(const float* q, const float* k, const float* v, const float* g,
                                                     const float* beta, const float* offsets,
                                                     const float* checkpoints, const float* dO,
                                                     float* dv, float* states, float* carry, double* part_q,
                                                     double* part_k, double* part_g, double* part_b, long long B,
                                                     long long T, long long H, long long Dk, long long Dv,
                                                     int delta_rule, long long chunk, int carry_in) {
    extern __shared__ double rule_shared[];
    double* warp_dq = rule_shared;                       // (RULE_WARPS, Dk): each warp's sums over its 4 columns
    double* warp_dk = warp_dq + RULE_WARPS * Dk;
    float* sk_of = (float*) (warp_dk + RULE_WARPS * Dk); // (RULE_INTERVAL, RULE_COLS): S^T k before each token
    long long slices = (Dv + RULE_COLS - 1) / RULE_COLS, bh = blockIdx.x / slices, slice = blockIdx.x % slices;
    int col = threadIdx.x / RULE_PARTS, part = threadIdx.x % RULE_PARTS;
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    long long j = slice * RULE_COLS + col;
    int rows = rule_rows(Dk);
    long long chunks = (T + RULE_INTERVAL - 1) / RULE_INTERVAL, first = chunk * RULE_INTERVAL;
    long long window = min(T, (long long) RULE_INTERVAL), n = min(T - first, (long long) RULE_INTERVAL);
    float* mine = states + (long long) blockIdx.x * window * rows * blockDim.x + threadIdx.x;

    float s[RULE_MAX_ROWS];
    column_load(s, checkpoints + (bh * chunks + chunk) * Dk * Dv, j, part, Dk, Dv);
    for (long long tl = 0; tl < n; ++tl) {
        if (rule_resets(offsets, bh, first + tl, T, H)) column_zero(s);
#pragma unroll
        for (int r = 0; r < RULE_MAX_ROWS; ++r) {
            if (r < rows) mine[(tl * rows + r) * blockDim.x] = s[r];
        }
        long long row = rule_row(bh, first + tl, T, H);
        const float* kt = k + row * Dk;
        float decay = rule_decay(g[row]);
        float vj = j < Dv ? v[row * Dv + j] : 0.0f;
        float sk = delta_rule ? (float) column_dot(s, kt, part, Dk) : 0.0f;
        if (part == 0) sk_of[tl * RULE_COLS + col] = sk;
        column_update(s, kt, decay, beta[row] * (vj - decay * sk), part, Dk);
    }
    __syncthreads();

    float ds[RULE_MAX_ROWS];
#pragma unroll
    for (int r = 0; r < RULE_MAX_ROWS; ++r) {
        ds[r] = carry_in && r < rows ? carry[((long long) blockIdx.x * rows + r) * blockDim.x + threadIdx.x] : 0.0f;
    }
    for (long long tl = n - 1; tl >= 0; --tl) {
        long long row = rule_row(bh, first + tl, T, H);
        const float* kt = k + row * Dk;
        const float* qt = q + row * Dk;
        float decay = rule_decay(g[row]), b = beta[row];
        float vj = j < Dv ? v[row * Dv + j] : 0.0f, dOj = j < Dv ? dO[row * Dv + j] : 0.0f;
        float m = decay * sk_of[tl * RULE_COLS + col];
        float delta = b * (vj - m);
        const float* a = mine + tl * rows * blockDim.x;
#pragma unroll
        for (int r = 0; r < RULE_MAX_ROWS; ++r) {
            if (r >= rows) continue;
            long long i = part + RULE_PARTS * r;
            bool in = i < Dk;
            if (in) ds[r] += qt[i] * dOj;
            float after = in ? decay * a[r * blockDim.x] + kt[i] * delta : 0.0f;
            double dq = warp_columns_sum((double) (after * dOj));
            if (in && lane < RULE_PARTS) warp_dq[warp * Dk + i] = dq;
        }
        double dd = 0.0;
#pragma unroll
        for (int r = 0; r < RULE_MAX_ROWS; ++r) {
            long long i = part + RULE_PARTS * r;
            if (i < Dk) dd += (double) (ds[r] * kt[i]);
        }
        float dDelta = (float) column_sum(dd);
        bool writes = j < Dv && part == 0;
        if (writes) dv[row * Dv + j] = b * dDelta;
        double db = writes ? (double) (dDelta * (vj - m)) : 0.0;
        float dm = delta_rule ? -b * dDelta : 0.0f;
        double dg = 0.0;
#pragma unroll
        for (int r = 0; r < RULE_MAX_ROWS; ++r) {
            if (r >= rows) continue;
            long long i = part + RULE_PARTS * r;
            bool in = i < Dk;
            float d = in ? decay * a[r * blockDim.x] : 0.0f;
            double dk = warp_columns_sum((double) (ds[r] * delta + d * dm));
            if (in && lane < RULE_PARTS) warp_dk[warp * Dk + i] = dk;
            if (in) {
                float dD = ds[r] + kt[i] * dm;
                dg += (double) (d * dD);
                ds[r] = decay * dD;
            }
        }
        if (rule_resets(offsets, bh, first + tl, T, H)) column_zero(ds); // the state before was replaced by zeros
        dg = block_sum_d(dg); // its barriers also make every warp's warp_dq and warp_dk visible
        db = block_sum_d(db);
        long long at = (slice * B * H + bh) * RULE_INTERVAL + tl;
        for (long long i = threadIdx.x; i < Dk; i += blockDim.x) {
            double sq = 0.0, sk = 0.0;
            for (int w = 0; w < RULE_WARPS; ++w) {
                sq += warp_dq[w * Dk + i];
                sk += warp_dk[w * Dk + i];
            }
            part_q[at * Dk + i] = sq;
            part_k[at * Dk + i] = sk;
        }
        if (threadIdx.x == 0) {
            part_g[at] = dg;
            part_b[at] = db;
        }
        __syncthreads(); // the next token rewrites warp_dq and warp_dk
    }
#pragma unroll
    for (int r = 0; r < RULE_MAX_ROWS; ++r) {
        if (r < rows) carry[((long long) blockIdx.x * rows + r) * blockDim.x + threadIdx.x] = ds[r];
    }
}

// dq, dk (B, T, H, Dk) and dg, dbeta (B, T, H) of chunk `chunk`'s tokens: gated_rule_backward_chunk's slice sums
// added in slice order.
extern "C" __global__ void gated_rule_backward_sum(const double* part_q, const double* part_k, const double* part_g,
                                                   const double* part_b, float* dq, float* dk, float* dg,
                                                   float* dbeta, long long B, long long T, long long H, long long Dk,
                                                   long long slices, long long chunk) {
    long long first = chunk * RULE_INTERVAL, n = min(T - first, (long long) RULE_INTERVAL), pairs = B * H;
    FOR_EACH(e, pairs * n * Dk) {
        long long i = e % Dk, tl = e / Dk % n, bh = e / (Dk * n);
        double sq = 0.0, sk = 0.0, sg = 0.0, sb = 0.0;
        for (long long sl = 0; sl < slices; ++sl) {
            long long at = (sl * pairs + bh) * RULE_INTERVAL + tl;
            sq += part_q[at * Dk + i];
            sk += part_k[at * Dk + i];
            if (i == 0) {
                sg += part_g[at];
                sb += part_b[at];
            }
        }
        long long row = rule_row(bh, first + tl, T, H);
        dq[row * Dk + i] = (float) sq;
        dk[row * Dk + i] = (float) sk;
        if (i == 0) {
            dg[row] = (float) sg;
            dbeta[row] = (float) sb;
        }
    }
}
