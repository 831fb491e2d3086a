// AttentionKernels on CUDA cores, flash style: queries and keys are taken in tiles of 64 rows (32 for D > 128, 16 for
// D > 256) staged in shared memory, the softmax is computed online (running max and sum in f32), and no (T, S) matrix
// exists anywhere. The forward keeps each query's log-sum-exp; the backward recomputes the probabilities from it,
// tile by tile. F32 with f32 accumulation; for bf16 q, k, v (and dOut) each kernel but the delta has a tensor-core
// twin in attention_bf16.cu for D <= 256. Shapes, mask and grouped-query attention: attention.cuh.
//
// Threads: a block is ATT_THREADS = 256 threads (CudaKernels.BLOCK) seen as a 16 x 16 grid (tx, ty). Each kernel is
// a template over PER and DCOLS: tiles of ROWS = 16 PER queries or keys; in every ROWS x ROWS tile a thread owns rows
// ty + 16 i and columns tx + 16 j (i, j < PER), and in every ROWS x D accumulator rows ty + 16 i and the columns
// 64 g + 4 tx + e (g < DCOLS / 4, e < 4, so D <= 16 DCOLS). Three layouts: 64-row tiles and D <= 128 (PER 4,
// DCOLS 8; the unsuffixed kernels), 32-row tiles and D <= 256 (PER 2, DCOLS 16; the *_d256 kernels, Gemma's head
// dimension), and 16-row tiles and D <= 512 (PER 1, DCOLS 32; the *_d512 kernels, Gemma 4's full-attention layers):
// the same 32 accumulators a thread, and shared tiles half as tall as D doubles, so that the backward's four tiles
// fit a block's shared memory (140 KiB at D = 256, where 64 rows would need 280 KiB; 134 KiB at D = 512).
// A row of a tile belongs to 16 lanes of one warp: row reductions are half-warp shuffles, and a row written to shared
// memory and read back by the same threads needs only __syncwarp.
// Shared memory (dynamic): ROWS-row tiles of D values, zero-padded to a multiple of 4 so that they are read 4 floats
// (16 bytes) at a time, with a row stride of 4 (mod 8) floats (8 lanes reading 16 bytes of 8 different rows hit
// all 32 banks once); and one ROWS x ROWS tile of probabilities or score gradients with row stride ATT_P_STRIDE (the
// two rows a warp writes start 16 banks apart). CudaAttention sizes it.
#include "common.cuh"
#include "philox.cuh"
#include "attention.cuh"

#define ATT_SPLIT 16
#define ATT_PER 4
#define ATT_DCOLS 8
#define ATT_PER_D256 2
#define ATT_DCOLS_D256 16
#define ATT_PER_D512 1
#define ATT_DCOLS_D512 32
#define ATT_P_STRIDE 80
// Blocks per SM the forward and dq kernels are register-limited to (128 registers a thread, no spills; D = 64 fits
// two blocks' shared memory too). The dk, dv kernel holds two accumulators and takes what it needs.
#define ATT_MIN_BLOCKS 2

// Row stride of a shared tile of D values: D rounded up to a multiple of 4, then 4 (mod 8).
__device__ __forceinline__ int tile_stride(int D) {
    return ((D + 3) & ~3) | 4;
}

struct alignas(16) Vec4 {
    float x, y, z, w;
};

// The kernels' dynamic shared memory, declared once for the kernel templates; 16-byte aligned, as load4 needs.
extern __shared__ Vec4 shared4[];

__device__ __forceinline__ Vec4 load4(const float* p) {
    return *reinterpret_cast<const Vec4*>(p);
}

__device__ __forceinline__ float part(const Vec4& v, int e) {
    return e == 0 ? v.x : e == 1 ? v.y : e == 2 ? v.z : v.w;
}

// Rows [0, n) of a tile of `rows` rows from src (rows of D contiguous floats), coalesced; the padding columns up to a
// multiple of 4 and the rows [n, rows) become zeros, so that they add nothing (and no NaN) to the products.
__device__ __forceinline__ void load_rows(float* dst, int ld, const float* src, int n, int rows, int D) {
    const int width = (D + 3) & ~3;
    for (int e = threadIdx.x; e < rows * width; e += ATT_THREADS) {
        int r = e / width, c = e - r * width;
        dst[r * ld + c] = r < n && c < D ? src[(long long) r * D + c] : 0.0f;
    }
}

// acc[i][j] += sum over c < D of a[row ty + 16 i][c] * b[row tx + 16 j][c] (a times b transposed).
template <int PER>
__device__ __forceinline__ void tile_abt(const float* a, const float* b, int ld, int D, float (&acc)[PER][PER]) {
    const int tx = threadIdx.x % ATT_SPLIT, ty = threadIdx.x / ATT_SPLIT;
#pragma unroll 1
    for (int c = 0; c < D; c += 4) {  // the padding columns are zeros
        Vec4 av[PER], bv[PER];
#pragma unroll
        for (int i = 0; i < PER; ++i) {
            av[i] = load4(a + (ty + ATT_SPLIT * i) * ld + c);
            bv[i] = load4(b + (tx + ATT_SPLIT * i) * ld + c);
        }
#pragma unroll
        for (int i = 0; i < PER; ++i) {
#pragma unroll
            for (int j = 0; j < PER; ++j) {
                acc[i][j] = fmaf(av[i].x, bv[j].x, acc[i][j]);
                acc[i][j] = fmaf(av[i].y, bv[j].y, acc[i][j]);
                acc[i][j] = fmaf(av[i].z, bv[j].z, acc[i][j]);
                acc[i][j] = fmaf(av[i].w, bv[j].w, acc[i][j]);
            }
        }
    }
}

// acc[i][4 g + e] += sum over c < 16 PER of p[row ty + 16 i][c] * m[row c][column 64 g + 4 tx + e].
template <int PER, int DCOLS>
__device__ __forceinline__ void tile_ab(const float* p, const float* m, int ld, int D,
                                        float (&acc)[PER][DCOLS]) {
    const int tx = threadIdx.x % ATT_SPLIT, ty = threadIdx.x / ATT_SPLIT;
#pragma unroll 1
    for (int c = 0; c < ATT_SPLIT * PER; c += 4) {
        Vec4 pv[PER];
#pragma unroll
        for (int i = 0; i < PER; ++i) pv[i] = load4(p + (ty + ATT_SPLIT * i) * ATT_P_STRIDE + c);
#pragma unroll
        for (int e = 0; e < 4; ++e) {
#pragma unroll
            for (int g = 0; g < DCOLS / 4; ++g) {
                int col = 4 * ATT_SPLIT * g + 4 * tx;
                if (col < D) {  // then the 4 columns lie within the zero-padded row
                    Vec4 mv = load4(m + (c + e) * ld + col);
#pragma unroll
                    for (int i = 0; i < PER; ++i) {
                        float pe = part(pv[i], e);
                        acc[i][4 * g] = fmaf(pe, mv.x, acc[i][4 * g]);
                        acc[i][4 * g + 1] = fmaf(pe, mv.y, acc[i][4 * g + 1]);
                        acc[i][4 * g + 2] = fmaf(pe, mv.z, acc[i][4 * g + 2]);
                        acc[i][4 * g + 3] = fmaf(pe, mv.w, acc[i][4 * g + 3]);
                    }
                }
            }
        }
    }
}

// Stores the PER x PER values a thread owns into the probability tile.
template <int PER>
__device__ __forceinline__ void store_p(float* ps, const float (&v)[PER][PER]) {
    const int tx = threadIdx.x % ATT_SPLIT, ty = threadIdx.x / ATT_SPLIT;
#pragma unroll
    for (int i = 0; i < PER; ++i) {
#pragma unroll
        for (int j = 0; j < PER; ++j) ps[(ty + ATT_SPLIT * i) * ATT_P_STRIDE + tx + ATT_SPLIT * j] = v[i][j];
    }
}

// Multiplies rows [first, end) of the PER x PER values a thread owns in a tile of (query, key) pairs of head bh by
// their dropout factors (0 or keepScale): value [r][c] is query i0 + ty + 16 r and key j0 + tx + 16 c, or with
// KEY_ROWS (dk, dv) key j0 + ty + 16 r and query i0 + tx + 16 c. Returns which were kept (keep_only), bit r PER + c.
template <int PER, bool KEY_ROWS>
__device__ __forceinline__ unsigned drop_out(float (&v)[PER][PER], const AttentionDropout& drop, const Dims& d,
                                             long long bh, long long i0, long long j0, int first = 0,
                                             int end = PER) {
    const int tx = threadIdx.x % ATT_SPLIT, ty = threadIdx.x / ATT_SPLIT;
    unsigned kept = 0;
#pragma unroll
    for (int r = first; r < end; ++r) {
#pragma unroll
        for (int c = 0; c < PER; ++c) {
            long long i = KEY_ROWS ? i0 + tx + ATT_SPLIT * c : i0 + ty + ATT_SPLIT * r;
            long long j = KEY_ROWS ? j0 + ty + ATT_SPLIT * r : j0 + tx + ATT_SPLIT * c;
            float factor = dropout_factor(drop, d, bh, i, j);
            v[r][c] *= factor;
            kept |= (unsigned) (factor != 0.0f) << (r * PER + c);
        }
    }
    return kept;
}

// Writes the rows ty + 16 i below n of a ROWS x D accumulator, times factor[i], to dst of dtype type (F32 or BF16):
// row r at element first + r * stride.
template <int PER, int DCOLS>
__device__ __forceinline__ void store_rows(void* dst, int type, long long first, long long stride, int n, int D,
                                           const float (&acc)[PER][DCOLS], const float (&factor)[PER]) {
    const int tx = threadIdx.x % ATT_SPLIT, ty = threadIdx.x / ATT_SPLIT;
#pragma unroll
    for (int i = 0; i < PER; ++i) {
        int r = ty + ATT_SPLIT * i;
        if (r < n) {
#pragma unroll
            for (int j = 0; j < DCOLS; ++j) {
                int col = 4 * ATT_SPLIT * (j / 4) + 4 * tx + j % 4;
                if (col < D) store_f(dst, type, first + r * stride + col, acc[i][j] * factor[i]);
            }
        }
    }
}

// Reductions over the 16 lanes that own one tile row (all 32 lanes of the warp call them together).
__device__ __forceinline__ float row_max(float v) {
    for (int o = ATT_SPLIT / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ __forceinline__ float row_sum(float v) {
    for (int o = ATT_SPLIT / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// out = softmax(scores) v and lse = log(sum(exp(scores))) with scores = cap(scale q.k) (masked: -inf), each head's
// sink in the sum when sinks is not null; a query that sees no key gets 0 and -inf (its sink with one). With DROP
// the probabilities are dropped out (drop) before they weigh v, after they were summed. Grid:
// B * H * ceil(T / ROWS) blocks, each one tile of ROWS queries of one head; each
// loops over the key tiles its queries may see (causal mask and sliding window).
// Shared: q, k, v tiles and the probability tile.
template <int PER, int DCOLS, bool DROP>
__device__ __forceinline__ void forward_f32(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, void* out, int outType, OutLayout outLayout, float* lse,
        const float* sinks, AttentionDropout drop) {
    constexpr int ROWS = ATT_SPLIT * PER;
    float* smem = reinterpret_cast<float*>(shared4);
    const int D = (int) d.D, ld = tile_stride(D);
    float* qs = smem;
    float* ks = qs + ROWS * ld;
    float* vs = ks + ROWS * ld;
    float* ps = vs + ROWS * ld;
    const int tx = threadIdx.x % ATT_SPLIT, ty = threadIdx.x / ATT_SPLIT;
    const QueryTile tile = query_tile(d, ROWS, blockIdx.x);
    const long long bh = tile.bh, q0 = tile.q0, b = tile.b;
    const float* kh = k + tile.kStart;
    const float* vh = v + tile.vStart;
    const int qn = tile.rows;
    load_rows(qs, ld, q + (bh * d.T + q0) * D, qn, ROWS, D);  // visible after the first barrier of the loop
    Slot query[PER];
    float m[PER], l[PER], acc[PER][DCOLS];
#pragma unroll
    for (int i = 0; i < PER; ++i) {
        query[i] = query_slot(d, causal, window, segments, b, q0 + ty + ATT_SPLIT * i);
        m[i] = -F_INF;
        l[i] = 0.0f;
#pragma unroll
        for (int j = 0; j < DCOLS; ++j) acc[i][j] = 0.0f;
    }
    long long keys = visible_keys(d, causal, q0, qn);
    for (long long k0 = first_key_tile(d, window, q0, ROWS); k0 < keys; k0 += ROWS) {
        int kn = (int) min((long long) ROWS, d.S - k0);
        __syncthreads();  // every thread is done with the previous k, v and probability tiles
        load_rows(ks, ld, kh + k0 * D, kn, ROWS, D);
        load_rows(vs, ld, vh + k0 * D, kn, ROWS, D);
        __syncthreads();
        float s[PER][PER] = {};
        tile_abt(qs, ks, ld, D, s);
        cap_scores(s, scale, softCap);
        Slot key[PER];
#pragma unroll
        for (int j = 0; j < PER; ++j) {
            key[j] = key_slot(d, causal, window, keyValid, segments, b, k0 + tx + ATT_SPLIT * j);
        }
#pragma unroll
        for (int i = 0; i < PER; ++i) {
            float tileMax = -F_INF;
#pragma unroll
            for (int j = 0; j < PER; ++j) {
                if (!meet(query[i], key[j])) s[i][j] = -F_INF;
                tileMax = fmaxf(tileMax, s[i][j]);
            }
            float mNew = fmaxf(m[i], row_max(tileMax));
            float rescale = m[i] == -F_INF ? 0.0f : expf(m[i] - mNew);  // -inf only while nothing was seen
            float sum = 0.0f;
#pragma unroll
            for (int j = 0; j < PER; ++j) {
                s[i][j] = s[i][j] == -F_INF ? 0.0f : expf(s[i][j] - mNew);
                sum += s[i][j];
            }
            l[i] = l[i] * rescale + row_sum(sum);
            m[i] = mNew;
#pragma unroll
            for (int j = 0; j < DCOLS; ++j) acc[i][j] *= rescale;
            // the probabilities that weigh v, l their sum before dropout; NOTE: row by row, as one pass over the
            // tile after this loop made the kernel (held to 128 registers) spill on sm_90
            if constexpr (DROP) drop_out<PER, false>(s, drop, d, bh, q0, k0, i, i + 1);
        }
        store_p(ps, s);
        __syncwarp();  // each probability row is read back by the 16 lanes of this warp that wrote it
        tile_ab(ps, vs, ld, D, acc);
    }
    float inv[PER];
#pragma unroll
    for (int i = 0; i < PER; ++i) {
        float keep = fold_sink(sinks, bh, d.H, &m[i], &l[i]);
        inv[i] = l[i] > 0.0f ? keep / l[i] : 0.0f;
        int r = ty + ATT_SPLIT * i;
        if (tx == 0 && r < qn) lse[bh * d.T + q0 + r] = l[i] > 0.0f ? m[i] + logf(l[i]) : -F_INF;
    }
    store_rows(out, outType, out_row(outLayout, d, bh, q0), outLayout.row, qn, D, acc, inv);
}

// The kernels CudaAttention launches: 64-row tiles for D <= 128, 32-row tiles (*_d256) for D <= 256, 16-row tiles
// (*_d512) for D <= 512; each with a twin that drops out the probabilities (*_dropout), the same code with DROP set.
extern "C" __global__ void __launch_bounds__(ATT_THREADS, ATT_MIN_BLOCKS) attention_forward(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, void* out, int outType, OutLayout outLayout, float* lse,
        const float* sinks) {
    forward_f32<ATT_PER, ATT_DCOLS, false>(q, k, v, d, scale, softCap, causal, window, keyValid, segments, out,
                                           outType, outLayout, lse, sinks, {});
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, ATT_MIN_BLOCKS) attention_forward_dropout(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, void* out, int outType, OutLayout outLayout, float* lse,
        const float* sinks, AttentionDropout drop) {
    forward_f32<ATT_PER, ATT_DCOLS, true>(q, k, v, d, scale, softCap, causal, window, keyValid, segments, out,
                                          outType, outLayout, lse, sinks, drop);
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, ATT_MIN_BLOCKS) attention_forward_d256(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, void* out, int outType, OutLayout outLayout, float* lse,
        const float* sinks) {
    forward_f32<ATT_PER_D256, ATT_DCOLS_D256, false>(q, k, v, d, scale, softCap, causal, window, keyValid, segments,
                                                     out, outType, outLayout, lse, sinks, {});
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, ATT_MIN_BLOCKS) attention_forward_d256_dropout(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, void* out, int outType, OutLayout outLayout, float* lse,
        const float* sinks, AttentionDropout drop) {
    forward_f32<ATT_PER_D256, ATT_DCOLS_D256, true>(q, k, v, d, scale, softCap, causal, window, keyValid, segments,
                                                    out, outType, outLayout, lse, sinks, drop);
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, ATT_MIN_BLOCKS) attention_forward_d512(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, void* out, int outType, OutLayout outLayout, float* lse,
        const float* sinks) {
    forward_f32<ATT_PER_D512, ATT_DCOLS_D512, false>(q, k, v, d, scale, softCap, causal, window, keyValid, segments,
                                                     out, outType, outLayout, lse, sinks, {});
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, ATT_MIN_BLOCKS) attention_forward_d512_dropout(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, void* out, int outType, OutLayout outLayout, float* lse,
        const float* sinks, AttentionDropout drop) {
    forward_f32<ATT_PER_D512, ATT_DCOLS_D512, true>(q, k, v, d, scale, softCap, causal, window, keyValid, segments,
                                                    out, outType, outLayout, lse, sinks, drop);
}

// delta = rowsum(dOut * out) for every query row (the softmax backward's dot product of dp and p). out and dOut:
// (B, H, T, D) views in any floating dtype, read where they are (the bf16 output kept token-major, the gradient of
// the merged heads). One warp per row; grid: ceil(B * H * T / 8) blocks.
extern "C" __global__ void __launch_bounds__(ATT_THREADS) attention_delta(const void* out, int outType, View outView,
                                                                          const void* dOut, int dOutType,
                                                                          View dOutView, Dims d, float* delta) {
    long long row = (long long) blockIdx.x * (ATT_THREADS / 32) + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= d.B * d.H * d.T) return;  // the whole warp leaves together; no barrier follows
    float s = 0.0f;
    for (long long c = lane; c < d.D; c += 32) {
        long long e = row * d.D + c;
        s = fmaf(load_f(dOut, dOutType, view_at(dOutView, e)), load_f(out, outType, view_at(outView, e)), s);
    }
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if (lane == 0) delta[row] = s;
}

// (forward: attention_forward) dk and dv of one tile of ROWS keys of one kv head, overwritten: the block loops over
// the group's query heads and their query tiles (with a causal mask or a sliding window, only those that may see
// the tile), so the heads sharing these keys add up here without atomics. dv += p^T dOut, dk += ds^T q; with DROP
// (forward: attention_forward_dropout) dv takes the dropped-out p and ds the dropped-out dp (dOut v^T times the
// factors). Grid: B * Hkv * ceil(S / ROWS).
// Shared: k, v, q, dOut tiles and the probability tile (reused for ds).
template <int PER, int DCOLS, bool DROP>
__device__ __forceinline__ void backward_kv_f32(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const float* dOut, float* dk, float* dv, AttentionDropout drop) {
    constexpr int ROWS = ATT_SPLIT * PER;
    float* smem = reinterpret_cast<float*>(shared4);
    const int D = (int) d.D, ld = tile_stride(D);
    float* ks = smem;
    float* vs = ks + ROWS * ld;
    float* qs = vs + ROWS * ld;
    float* dos = qs + ROWS * ld;
    float* ps = dos + ROWS * ld;
    const int tx = threadIdx.x % ATT_SPLIT, ty = threadIdx.x / ATT_SPLIT;
    long long tiles = (d.S + ROWS - 1) / ROWS;
    long long bkv = blockIdx.x / tiles, k0 = blockIdx.x % tiles * ROWS;
    long long b = bkv / d.Hkv, kvHead = bkv % d.Hkv, group = d.H / d.Hkv;
    int kn = (int) min((long long) ROWS, d.S - k0);
    // visible after the loop's first barrier
    load_rows(ks, ld, k + b * d.kBatch + kvHead * d.kHead + k0 * D, kn, ROWS, D);
    load_rows(vs, ld, v + b * d.vBatch + kvHead * d.vHead + k0 * D, kn, ROWS, D);
    Slot key[PER];
    float dkAcc[PER][DCOLS], dvAcc[PER][DCOLS], ones[PER];
#pragma unroll
    for (int i = 0; i < PER; ++i) {
        key[i] = key_slot(d, causal, window, keyValid, segments, b, k0 + ty + ATT_SPLIT * i);
        ones[i] = 1.0f;
#pragma unroll
        for (int j = 0; j < DCOLS; ++j) dkAcc[i][j] = dvAcc[i][j] = 0.0f;
    }
    // With a causal mask, query i sees key k0 only from i = k0 - (S - T) on; with a window, none after queryEnd.
    long long firstQuery = causal ? max(0LL, k0 - (d.S - d.T)) / ROWS * ROWS : 0;
    long long queryEnd = visible_queries(d, window, k0, kn);
    for (long long head = b * d.H + kvHead * group; head < b * d.H + (kvHead + 1) * group; ++head) {
        for (long long q0 = firstQuery; q0 < queryEnd; q0 += ROWS) {
            int qn = (int) min((long long) ROWS, d.T - q0);
            __syncthreads();  // every thread is done with the previous q, dOut and probability tiles
            load_rows(qs, ld, q + (head * d.T + q0) * D, qn, ROWS, D);
            load_rows(dos, ld, dOut + (head * d.T + q0) * D, qn, ROWS, D);
            __syncthreads();
            Slot query[PER];
            float lseCol[PER], deltaCol[PER];
#pragma unroll
            for (int j = 0; j < PER; ++j) {
                long long i = q0 + tx + ATT_SPLIT * j;
                query[j] = query_slot(d, causal, window, segments, b, i);
                lseCol[j] = query[j].ok ? lse[head * d.T + i] : -F_INF;
                deltaCol[j] = query[j].ok ? delta[head * d.T + i] : 0.0f;
            }
            float s[PER][PER] = {}, dp[PER][PER] = {};
            tile_abt(ks, qs, ld, D, s);    // rows: keys, columns: queries
            cap_scores(s, scale, softCap);
            tile_abt(vs, dos, ld, D, dp);
            unsigned kept = 0;
            if constexpr (DROP) kept = drop_out<PER, true>(dp, drop, d, head, q0, k0);  // the gradient of p times them
#pragma unroll
            for (int i = 0; i < PER; ++i) {
#pragma unroll
                for (int j = 0; j < PER; ++j) {
                    dp[i][j] = score_grad(meet(key[i], query[j]), s[i][j], dp[i][j], lseCol[j],
                                          deltaCol[j], scale, softCap, &s[i][j]);
                }
            }
            if constexpr (DROP) keep_only(s, kept, drop.keepScale);  // p as it weighed v
            store_p(ps, s);
            __syncwarp();  // each row is read back by the 16 lanes of this warp that wrote it
            tile_ab(ps, dos, ld, D, dvAcc);
            __syncwarp();  // those lanes are done reading p before ds replaces it
            store_p(ps, dp);
            __syncwarp();
            tile_ab(ps, qs, ld, D, dkAcc);
        }
    }
    store_rows(dk, DT_F32, (bkv * d.S + k0) * D, D, kn, D, dkAcc, ones);
    store_rows(dv, DT_F32, (bkv * d.S + k0) * D, D, kn, D, dvAcc, ones);
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS) attention_backward_kv(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const float* dOut, float* dk, float* dv) {
    backward_kv_f32<ATT_PER, ATT_DCOLS, false>(q, k, v, d, scale, softCap, causal, window, keyValid, segments, lse,
                                               delta, dOut, dk, dv, {});
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS) attention_backward_kv_dropout(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const float* dOut, float* dk, float* dv, AttentionDropout drop) {
    backward_kv_f32<ATT_PER, ATT_DCOLS, true>(q, k, v, d, scale, softCap, causal, window, keyValid, segments, lse,
                                              delta, dOut, dk, dv, drop);
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS) attention_backward_kv_d256(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const float* dOut, float* dk, float* dv) {
    backward_kv_f32<ATT_PER_D256, ATT_DCOLS_D256, false>(q, k, v, d, scale, softCap, causal, window, keyValid,
                                                         segments, lse, delta, dOut, dk, dv, {});
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS) attention_backward_kv_d256_dropout(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const float* dOut, float* dk, float* dv, AttentionDropout drop) {
    backward_kv_f32<ATT_PER_D256, ATT_DCOLS_D256, true>(q, k, v, d, scale, softCap, causal, window, keyValid,
                                                        segments, lse, delta, dOut, dk, dv, drop);
}

// NOTE: one block an SM said outright (its 134 KiB of shared memory fit no second one anyway): with the threads alone
// ptxas held the *_d512 pair to 128 registers and spilled on sm_90.
extern "C" __global__ void __launch_bounds__(ATT_THREADS, 1) attention_backward_kv_d512(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const float* dOut, float* dk, float* dv) {
    backward_kv_f32<ATT_PER_D512, ATT_DCOLS_D512, false>(q, k, v, d, scale, softCap, causal, window, keyValid,
                                                         segments, lse, delta, dOut, dk, dv, {});
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, 1) attention_backward_kv_d512_dropout(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const float* dOut, float* dk, float* dv, AttentionDropout drop) {
    backward_kv_f32<ATT_PER_D512, ATT_DCOLS_D512, true>(q, k, v, d, scale, softCap, causal, window, keyValid,
                                                        segments, lse, delta, dOut, dk, dv, drop);
}

// (forward: attention_forward) dq = ds k for one tile of ROWS queries, overwritten: the block loops over the key
// tiles its queries see, recomputing p and ds (no atomics, so the result does not depend on scheduling); with DROP
// (forward: attention_forward_dropout) ds from the dropped-out dp. Grid: B * H * ceil(T / ROWS). Shared: q, dOut,
// k, v tiles and the ds tile.
template <int PER, int DCOLS, bool DROP>
__device__ __forceinline__ void backward_q_f32(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const float* dOut, float* dq, AttentionDropout drop) {
    constexpr int ROWS = ATT_SPLIT * PER;
    float* smem = reinterpret_cast<float*>(shared4);
    const int D = (int) d.D, ld = tile_stride(D);
    float* qs = smem;
    float* dos = qs + ROWS * ld;
    float* ks = dos + ROWS * ld;
    float* vs = ks + ROWS * ld;
    float* ps = vs + ROWS * ld;
    const int tx = threadIdx.x % ATT_SPLIT, ty = threadIdx.x / ATT_SPLIT;
    const QueryTile tile = query_tile(d, ROWS, blockIdx.x);
    const long long bh = tile.bh, q0 = tile.q0, b = tile.b;
    const float* kh = k + tile.kStart;
    const float* vh = v + tile.vStart;
    const int qn = tile.rows;
    load_rows(qs, ld, q + (bh * d.T + q0) * D, qn, ROWS, D);  // visible after the first barrier of the loop
    load_rows(dos, ld, dOut + (bh * d.T + q0) * D, qn, ROWS, D);
    Slot query[PER];
    float lseRow[PER], deltaRow[PER], acc[PER][DCOLS], ones[PER];
#pragma unroll
    for (int i = 0; i < PER; ++i) {
        long long row = q0 + ty + ATT_SPLIT * i;
        query[i] = query_slot(d, causal, window, segments, b, row);
        lseRow[i] = query[i].ok ? lse[bh * d.T + row] : -F_INF;
        deltaRow[i] = query[i].ok ? delta[bh * d.T + row] : 0.0f;
        ones[i] = 1.0f;
#pragma unroll
        for (int j = 0; j < DCOLS; ++j) acc[i][j] = 0.0f;
    }
    long long keys = visible_keys(d, causal, q0, qn);
    for (long long k0 = first_key_tile(d, window, q0, ROWS); k0 < keys; k0 += ROWS) {
        int kn = (int) min((long long) ROWS, d.S - k0);
        __syncthreads();  // every thread is done with the previous k, v and ds tiles
        load_rows(ks, ld, kh + k0 * D, kn, ROWS, D);
        load_rows(vs, ld, vh + k0 * D, kn, ROWS, D);
        __syncthreads();
        float s[PER][PER] = {}, dp[PER][PER] = {};
        // NOTE: with DROP, dp and its factors first, while s takes no registers: after s, the factors' Philox made
        // this kernel (held to 128 registers) spill on sm_90.
        if constexpr (DROP) {
            tile_abt(dos, vs, ld, D, dp);
            drop_out<PER, false>(dp, drop, d, bh, q0, k0);  // the gradient of p times its factor
        }
        tile_abt(qs, ks, ld, D, s);    // rows: queries, columns: keys
        cap_scores(s, scale, softCap);
        if constexpr (!DROP) tile_abt(dos, vs, ld, D, dp);
#pragma unroll
        for (int j = 0; j < PER; ++j) {
            Slot key = key_slot(d, causal, window, keyValid, segments, b, k0 + tx + ATT_SPLIT * j);
#pragma unroll
            for (int i = 0; i < PER; ++i) {
                float p;
                dp[i][j] = score_grad(meet(query[i], key), s[i][j], dp[i][j], lseRow[i], deltaRow[i], scale,
                                      softCap, &p);
            }
        }
        store_p(ps, dp);
        __syncwarp();  // each row is read back by the 16 lanes of this warp that wrote it
        tile_ab(ps, ks, ld, D, acc);
    }
    store_rows(dq, DT_F32, (bh * d.T + q0) * D, D, qn, D, acc, ones);
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, ATT_MIN_BLOCKS) attention_backward_q(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const float* dOut, float* dq) {
    backward_q_f32<ATT_PER, ATT_DCOLS, false>(q, k, v, d, scale, softCap, causal, window, keyValid, segments, lse,
                                              delta, dOut, dq, {});
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, ATT_MIN_BLOCKS) attention_backward_q_dropout(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const float* dOut, float* dq, AttentionDropout drop) {
    backward_q_f32<ATT_PER, ATT_DCOLS, true>(q, k, v, d, scale, softCap, causal, window, keyValid, segments, lse,
                                             delta, dOut, dq, drop);
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, ATT_MIN_BLOCKS) attention_backward_q_d256(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const float* dOut, float* dq) {
    backward_q_f32<ATT_PER_D256, ATT_DCOLS_D256, false>(q, k, v, d, scale, softCap, causal, window, keyValid,
                                                        segments, lse, delta, dOut, dq, {});
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, ATT_MIN_BLOCKS) attention_backward_q_d256_dropout(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const float* dOut, float* dq, AttentionDropout drop) {
    backward_q_f32<ATT_PER_D256, ATT_DCOLS_D256, true>(q, k, v, d, scale, softCap, causal, window, keyValid,
                                                       segments, lse, delta, dOut, dq, drop);
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, ATT_MIN_BLOCKS) attention_backward_q_d512(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const float* dOut, float* dq) {
    backward_q_f32<ATT_PER_D512, ATT_DCOLS_D512, false>(q, k, v, d, scale, softCap, causal, window, keyValid,
                                                        segments, lse, delta, dOut, dq, {});
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, ATT_MIN_BLOCKS) attention_backward_q_d512_dropout(
        const float* q, const float* k, const float* v, Dims d, float scale, float softCap, int causal, int window,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const float* dOut, float* dq, AttentionDropout drop) {
    backward_q_f32<ATT_PER_D512, ATT_DCOLS_D512, true>(q, k, v, d, scale, softCap, causal, window, keyValid,
                                                       segments, lse, delta, dOut, dq, drop);
}
