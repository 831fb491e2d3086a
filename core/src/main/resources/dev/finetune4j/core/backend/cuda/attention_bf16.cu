// AttentionKernels on tensor cores, for bf16 q, k, v (and dOut): the twins of attention.cu's kernels, flash style
// as they are, with bf16 products, f32 accumulation, and the softmax and its gradient in f32 (f32 gradients).
// Shapes, mask and grouped-query attention: attention.cuh. Head dimensions up to ATT_TC_MAX_D: past it (Gemma 4's
// 512) CudaAttention runs bf16 inputs on attention.cu's f32 kernels, converted.
//
// Each of the 8 warps of a block owns 16 of its ATT_TC_ROWS queries (forward, dq) or keys (dk, dv); in the forward,
// per tile of 64 keys a warp computes its 16 x 64 scores and its 16 x D share of p v with PTX's warp-wide
// mma.m16n8k16 (A 16 x 16 times B 16 x 8 into C 16 x 8, bf16 operands, f32 accumulators). The fragments, for
// lane = 4 g + t, two bf16 a register, the lower-indexed one in the low 16 bits (PTX ISA, "Matrix Fragments for
// mma.m16n8k16 with floating point type"):
//   A (row-major 16 x 16): a[0] = A[g][2t, 2t+1], a[1] = A[g+8][2t, 2t+1], a[2] = A[g][2t+8, 2t+9],
//                          a[3] = A[g+8][2t+8, 2t+9]
//   B (16 x 8, k by n):    b[0] = B[2t, 2t+1][g], b[1] = B[2t+8, 2t+9][g]
//   C (16 x 8, f32):       c[0], c[1] = C[g][2t, 2t+1], c[2], c[3] = C[g+8][2t, 2t+1]
// So a lane holds query rows g and g + 8 of its warp's 16, and the C fragments of two neighbouring 8-key score
// tiles, rounded to bf16 pairs, are exactly the A fragment of p over those 16 keys: the probabilities go from the
// score accumulators into the p v product without a trip through shared memory.
// Shared memory (dynamic; the forward's: q (ATT_TC_ROWS rows), k and v (64 rows each)): bf16 rows of D values with
// a row stride of D + ATT_TC_PAD elements, i.e. 4 (mod 8) words when D is a multiple of 16, so the 8 rows x 4 words
// of a fragment load fall in 32 different banks. CudaAttention sizes it.
#include "common.cuh"
#include "philox.cuh"
#include "attention.cuh"

#define ATT_TC_ROWS 128
#define ATT_TC_MAX_D 256
#define ATT_TC_PAD 8
#define ATT_TC_SCORE_TILES (ATT_TILE / 8)
// 8-column tiles of a warp's 16 x D accumulator: D up to 128, or up to 64 in the *_d64 kernels, whose halved
// accumulators let two blocks share an SM's registers, or up to 256 in the forward's *_d256 kernel (Gemma).
#define ATT_TC_OUT_TILES 16
#define ATT_TC_OUT_TILES_D64 8
#define ATT_TC_OUT_TILES_D256 (ATT_TC_MAX_D / 8)
// Queries per inner tile of the dk, dv kernel: its two D-wide accumulators leave registers for 32 columns of s and
// dp, not 64, without spilling at D = 128.
#define ATT_TC_KV_QUERIES 32

// 8 bf16 values: one 16-byte load or store.
struct alignas(16) Bf16x8 {
    unsigned w[4];
};

// The tensor-core kernels' dynamic shared memory, declared once for the kernels and the templates they call;
// 16-byte aligned, as load_bf16_rows needs.
extern __shared__ Bf16x8 shared8[];

// Two bf16 values as one register, lo in the low half; rounded to nearest even.
__device__ __forceinline__ unsigned pack_bf16(float lo, float hi) {
#if defined(FINETUNE4J_EMULATION) || __CUDA_ARCH__ < 800  // cvt to bf16x2 needs sm_80
    return (unsigned) float_to_bf16(lo) | (unsigned) float_to_bf16(hi) << 16;
#else
    unsigned r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));  // the first source goes to the high half
    return r;
#endif
}

// c += a b for one warp, fragments as laid out above.
__device__ __forceinline__ void mma_bf16(float c[4], const unsigned a[4], const unsigned b[2]) {
#if defined(FINETUNE4J_EMULATION)
    emu_mma_m16n8k16_bf16(c, a, b);
#elif __CUDA_ARCH__ >= 800
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9},"
        " {%0, %1, %2, %3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    __trap();  // bf16 mma needs sm_80; CudaAttention selects this kernel only from there on
#endif
}

__device__ __forceinline__ unsigned word_at(const unsigned short* p) {
    return *reinterpret_cast<const unsigned*>(p);
}

// The A fragment of rows [r0, r0 + 16) and columns [c0, c0 + 16) of a row-major shared tile.
__device__ __forceinline__ void load_a(unsigned a[4], const unsigned short* tile, int ld, int r0, int c0) {
    const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const unsigned short* p = tile + (r0 + g) * ld + c0 + 2 * t;
    a[0] = word_at(p);
    a[1] = word_at(p + 8 * ld);
    a[2] = word_at(p + 8);
    a[3] = word_at(p + 8 * ld + 8);
}

// The B fragment B[kk][n] = tile[n0 + n][k0 + kk]: rows of the tile are B's columns (k for q k^T).
__device__ __forceinline__ void load_b_transposed(unsigned b[2], const unsigned short* tile, int ld, int k0, int n0) {
    const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const unsigned short* p = tile + (n0 + g) * ld + k0 + 2 * t;
    b[0] = word_at(p);
    b[1] = word_at(p + 8);
}

// The B fragment B[kk][n] = tile[k0 + kk][n0 + n]: rows of the tile are B's rows (v for p v). A register's two
// values lie in neighbouring rows, so they are read one by one (ldmatrix.trans would read them as one).
__device__ __forceinline__ void load_b(unsigned b[2], const unsigned short* tile, int ld, int k0, int n0) {
    const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const unsigned short* p = tile + (k0 + 2 * t) * ld + n0 + g;
    b[0] = (unsigned) p[0] | (unsigned) p[ld] << 16;
    b[1] = (unsigned) p[8 * ld] | (unsigned) p[9 * ld] << 16;
}

// Rows [0, n) of a shared tile of `rows` rows from src (rows of D contiguous bf16, 16-byte aligned, D a multiple of
// 8), 16 bytes per thread and step, coalesced; rows [n, rows) become zeros, so that they add nothing (and no NaN).
__device__ __forceinline__ void load_bf16_rows(unsigned short* dst, int ld, const unsigned short* src, int n, int rows,
                                               int D) {
    const int chunks = D / 8;
    for (int e = threadIdx.x; e < rows * chunks; e += ATT_THREADS) {
        int r = e / chunks, c = (e - r * chunks) * 8;
        Bf16x8 v = {};
        if (r < n) v = *reinterpret_cast<const Bf16x8*>(src + (long long) r * D + c);
        *reinterpret_cast<Bf16x8*>(dst + r * ld + c) = v;
    }
}

// s[n] += rows [r0, r0 + 16) of tile a times rows [8 n, 8 n + 8) of tile b (8 N rows), transposed, over D columns:
// a warp's 16 x 8 N block of q k^T (scores), dOut v^T, or their transposes with keys as rows.
template <int N>
__device__ __forceinline__ void mma_abt(const unsigned short* a, const unsigned short* b, int ld, int D, int r0,
                                        float (&s)[N][4]) {
#pragma unroll 1
    for (int c0 = 0; c0 < D; c0 += 16) {
        unsigned af[4];
        load_a(af, a, ld, r0, c0);
#pragma unroll
        for (int n = 0; n < N; ++n) {
            unsigned bf[2];
            load_b_transposed(bf, b, ld, c0, 8 * n);
            mma_bf16(s[n], af, bf);
        }
    }
}

// acc += p m for a warp's 16 rows: p (16 x 8 N, f32 C fragments as mma_abt leaves them) rounded to bf16 A
// fragments, m a tile of 8 N rows of D columns: probabilities times v, or score gradients times k or q.
template <int N, int OUT>
__device__ __forceinline__ void mma_pm(const float (&p)[N][4], const unsigned short* m, int ld, int D,
                                       float (&acc)[OUT][4]) {
#pragma unroll
    for (int k16 = 0; k16 < N / 2; ++k16) {
        const float* lo = p[2 * k16];
        const float* hi = p[2 * k16 + 1];
        unsigned a[4] = {pack_bf16(lo[0], lo[1]), pack_bf16(lo[2], lo[3]), pack_bf16(hi[0], hi[1]),
                         pack_bf16(hi[2], hi[3])};
#pragma unroll
        for (int n = 0; n < OUT; ++n) {
            if (8 * n < D) {  // D is a multiple of 16, so the whole 8-column tile lies within D
                unsigned b[2];
                load_b(b, m, ld, 16 * k16, 8 * n);
                mma_bf16(acc[n], a, b);
            }
        }
    }
}

// Writes this lane's rows r0 + g and r0 + g + 8 (those below n) of a warp's 16 x D accumulator, times factor[h],
// to dst of dtype type (F32, or BF16 two values a 4-byte store: first and stride even): row r at element
// first + r * stride.
template <int OUT>
__device__ __forceinline__ void store_fragment_rows(void* dst, int type, long long first, long long stride, int r0,
                                                    int n, int D, const float (&acc)[OUT][4], const float factor[2]) {
    const int g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        int r = r0 + g + 8 * h;
        if (r < n) {
#pragma unroll
            for (int j = 0; j < OUT; ++j) {
                if (8 * j < D) {
                    long long at = first + r * stride + 8 * j + 2 * t;
                    float lo = acc[j][2 * h] * factor[h], hi = acc[j][2 * h + 1] * factor[h];
                    if (type == DT_BF16) {
                        *reinterpret_cast<unsigned*>(static_cast<unsigned short*>(dst) + at) = pack_bf16(lo, hi);
                    } else {
                        static_cast<float*>(dst)[at] = lo;
                        static_cast<float*>(dst)[at + 1] = hi;
                    }
                }
            }
        }
    }
}

// Multiplies the values this lane holds of a warp's 16 x 8 N tile of (query, key) pairs of head bh (C fragments, as
// mma_abt leaves them) by their dropout factors (0 or keepScale): element [n][2 h + e] is query i0 + g + 8 h and key
// j0 + 8 n + 2 t + e, or with KEY_ROWS (dk, dv) key j0 + g + 8 h and query i0 + 8 n + 2 t + e. Returns which were
// kept (keep_only), bit 4 n + 2 h + e.
template <int N, bool KEY_ROWS>
__device__ __forceinline__ unsigned drop_out_fragments(float (&v)[N][4], const AttentionDropout& drop, const Dims& d,
                                                       long long bh, long long i0, long long j0) {
    const int g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
    unsigned kept = 0;
#pragma unroll
    for (int n = 0; n < N; ++n) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                long long i = KEY_ROWS ? i0 + 8 * n + 2 * t + e : i0 + g + 8 * h;
                long long j = KEY_ROWS ? j0 + g + 8 * h : j0 + 8 * n + 2 * t + e;
                float factor = dropout_factor(drop, d, bh, i, j);
                v[n][2 * h + e] *= factor;
                kept |= (unsigned) (factor != 0.0f) << (4 * n + 2 * h + e);
            }
        }
    }
    return kept;
}

// Reductions over the 4 lanes that hold one query row of a fragment (all 32 lanes of the warp call them together).
__device__ __forceinline__ float quad_max(float v) {
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
    return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}

__device__ __forceinline__ float quad_sum(float v) {
    v += __shfl_xor_sync(0xffffffffu, v, 1);
    return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

// Where a block of a kernel whose accumulators hold 8 OUT of the D output columns stands: such a kernel runs
// ceil(D / 8 OUT) slices of blocks, slice-major, each recomputing the scores and writing its own columns (the dq and
// dk, dv kernels at D > 128: a warp's 16 x 256 accumulators, two of them in dk, dv, do not fit its registers). The
// block's index within its slice and its slice's first column.
struct ColumnSlice {
    long long block;
    int c0;
};

// NOTE: the *_d64 kernels run for D <= 64 only, one slice: a constant c0 = 0 there keeps dk, dv d64 (held to 128
// registers) from spilling.
template <int OUT>
__device__ __forceinline__ ColumnSlice column_slice(long long blocksPerSlice) {
    if (OUT == ATT_TC_OUT_TILES_D64) return {blockIdx.x, 0};
    return {blockIdx.x % blocksPerSlice, (int) (blockIdx.x / blocksPerSlice) * 8 * OUT};
}

// Stages kn rows of K and of V (from kh and vh) in shared memory once every warp is done with the previous ones,
// and makes them visible to the whole block.
__device__ __forceinline__ void stage_kv_tile(unsigned short* ks, unsigned short* vs, int ld, const unsigned short* kh,
                                              const unsigned short* vh, int kn, int D) {
    __syncthreads();
    load_bf16_rows(ks, ld, kh, kn, ATT_TILE, D);
    load_bf16_rows(vs, ld, vh, kn, ATT_TILE, D);
    __syncthreads();
}

// The query tile of block `block` (query_tile), with its queries staged in qs (visible after the key loop's first
// barrier): where the forward and the dq kernel start.
__device__ __forceinline__ QueryTile stage_query_tile(const Dims& d, const unsigned short* q, unsigned short* qs,
                                                      int ld, long long block) {
    const QueryTile tile = query_tile(d, ATT_TC_ROWS, block);
    load_bf16_rows(qs, ld, q + (tile.bh * d.T + tile.q0) * d.D, tile.rows, ATT_TC_ROWS, (int) d.D);
    return tile;
}

// (f32 twin: attention_forward) out = softmax(scores) v and lse with scores = cap(scale q.k) (masked: -inf) and the
// heads' sinks; a query that sees no key gets 0 and -inf (its sink with one); with DROP the probabilities dropped out
// (drop) after they were summed. q, k, v bf16 (k, v rows 16-byte aligned), D a multiple of 16 up to 8 OUT; the
// probabilities enter p v rounded to bf16, their sum l stays f32. Grid: B * H * ceil(T / ATT_TC_ROWS) blocks.
template <int OUT, bool DROP>
__device__ __forceinline__ void forward_bf16(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, float softCap,
        int causal, int window, const unsigned char* keyValid, const int* segments, void* out, int outType,
        OutLayout outLayout, float* lse, const float* sinks, AttentionDropout drop) {
    unsigned short* smem = reinterpret_cast<unsigned short*>(shared8);
    const int D = (int) d.D, ld = D + ATT_TC_PAD;
    unsigned short* qs = smem;
    unsigned short* ks = qs + ATT_TC_ROWS * ld;
    unsigned short* vs = ks + ATT_TILE * ld;
    const int warp = threadIdx.x / 32, g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
    const int r0 = 16 * warp;  // the warp's first query row in the tile; this lane holds r0 + g and r0 + g + 8
    const auto [bh, q0, b, kStart, vStart, qn] = stage_query_tile(d, q, qs, ld, blockIdx.x);
    const unsigned short* kh = k + kStart;
    const unsigned short* vh = v + vStart;
    Slot query[2];
    float m[2], l[2], acc[OUT][4];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        query[h] = query_slot(d, causal, window, segments, b, q0 + r0 + g + 8 * h);
        m[h] = -F_INF;
        l[h] = 0.0f;
    }
#pragma unroll
    for (int n = 0; n < OUT; ++n) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.0f;
    long long keys = visible_keys(d, causal, q0, qn);
    for (long long k0 = first_key_tile(d, window, q0, ATT_TILE); k0 < keys; k0 += ATT_TILE) {
        int kn = (int) min((long long) ATT_TILE, d.S - k0);
        stage_kv_tile(ks, vs, ld, kh + k0 * D, vh + k0 * D, kn, D);
        float s[ATT_TC_SCORE_TILES][4] = {};
        mma_abt(qs, ks, ld, D, r0, s);
        cap_scores(s, scale, softCap);
#pragma unroll
        for (int n = 0; n < ATT_TC_SCORE_TILES; ++n) {  // s[n][2 h + e]: query row g + 8 h, key 8 n + 2 t + e
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                Slot key = key_slot(d, causal, window, keyValid, segments, b, k0 + 8 * n + 2 * t + e);
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    if (!meet(query[h], key)) s[n][2 * h + e] = -F_INF;
                }
            }
        }
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            float tileMax = -F_INF;
#pragma unroll
            for (int n = 0; n < ATT_TC_SCORE_TILES; ++n) tileMax = fmaxf(tileMax, fmaxf(s[n][2 * h], s[n][2 * h + 1]));
            float mNew = fmaxf(m[h], quad_max(tileMax));
            float rescale = m[h] == -F_INF ? 0.0f : expf(m[h] - mNew);  // -inf only while nothing was seen
            float sum = 0.0f;
#pragma unroll
            for (int n = 0; n < ATT_TC_SCORE_TILES; ++n) {
#pragma unroll
                for (int e = 0; e < 2; ++e) {
                    float& x = s[n][2 * h + e];
                    x = x == -F_INF ? 0.0f : expf(x - mNew);
                    sum += x;
                }
            }
            l[h] = l[h] * rescale + quad_sum(sum);
            m[h] = mNew;
#pragma unroll
            for (int n = 0; n < OUT; ++n) {
                acc[n][2 * h] *= rescale;
                acc[n][2 * h + 1] *= rescale;
            }
        }
        if constexpr (DROP) drop_out_fragments<ATT_TC_SCORE_TILES, false>(s, drop, d, bh, q0 + r0, k0);  // l: before
        mma_pm(s, vs, ld, D, acc);
    }
    float inv[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        float keep = fold_sink(sinks, bh, d.H, &m[h], &l[h]);
        inv[h] = l[h] > 0.0f ? keep / l[h] : 0.0f;
        int r = r0 + g + 8 * h;
        if (t == 0 && r < qn) lse[bh * d.T + q0 + r] = l[h] > 0.0f ? m[h] + logf(l[h]) : -F_INF;
    }
    store_fragment_rows(out, outType, out_row(outLayout, d, bh, q0), outLayout.row, r0, qn, D, acc, inv);
}

// The kernels CudaAttention launches: *_d64 for D <= 64, limited to 128 registers a thread so that two blocks share
// an SM, the unsuffixed one for D up to 128 and *_d256 for D up to 256, one block an SM. The unsuffixed and *_d256
// ones have a twin that drops out the probabilities (*_dropout), the same code with DROP set; dropout at D <= 64
// takes the unsuffixed twin, as the Philox draws do not fit 128 registers (a *_d64 twin spilled on sm_90, and at one
// block an SM it would gain nothing).
extern "C" __global__ void __launch_bounds__(ATT_THREADS, 1) attention_forward_bf16(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, float softCap,
        int causal, int window, const unsigned char* keyValid, const int* segments, void* out, int outType,
        OutLayout outLayout, float* lse, const float* sinks) {
    forward_bf16<ATT_TC_OUT_TILES, false>(q, k, v, d, scale, softCap, causal, window, keyValid, segments, out,
                                          outType, outLayout, lse, sinks, {});
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, 1) attention_forward_bf16_dropout(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, float softCap,
        int causal, int window, const unsigned char* keyValid, const int* segments, void* out, int outType,
        OutLayout outLayout, float* lse, const float* sinks, AttentionDropout drop) {
    forward_bf16<ATT_TC_OUT_TILES, true>(q, k, v, d, scale, softCap, causal, window, keyValid, segments, out,
                                         outType, outLayout, lse, sinks, drop);
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, 2) attention_forward_bf16_d64(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, float softCap,
        int causal, int window, const unsigned char* keyValid, const int* segments, void* out, int outType,
        OutLayout outLayout, float* lse, const float* sinks) {
    forward_bf16<ATT_TC_OUT_TILES_D64, false>(q, k, v, d, scale, softCap, causal, window, keyValid, segments, out,
                                              outType, outLayout, lse, sinks, {});
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, 1) attention_forward_bf16_d256(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, float softCap,
        int causal, int window, const unsigned char* keyValid, const int* segments, void* out, int outType,
        OutLayout outLayout, float* lse, const float* sinks) {
    forward_bf16<ATT_TC_OUT_TILES_D256, false>(q, k, v, d, scale, softCap, causal, window, keyValid, segments, out,
                                               outType, outLayout, lse, sinks, {});
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, 1) attention_forward_bf16_d256_dropout(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, float softCap,
        int causal, int window, const unsigned char* keyValid, const int* segments, void* out, int outType,
        OutLayout outLayout, float* lse, const float* sinks, AttentionDropout drop) {
    forward_bf16<ATT_TC_OUT_TILES_D256, true>(q, k, v, d, scale, softCap, causal, window, keyValid, segments, out,
                                              outType, outLayout, lse, sinks, drop);
}

// (forward: attention_forward_bf16) dq = ds k for one tile of ATT_TC_ROWS queries, overwritten, on tensor cores: per
// key tile a warp recomputes s = q k^T and dp = dOut v^T for its 16 queries, forms p and ds in f32 from lse and
// delta, and adds ds k with ds rounded to bf16. q, k, v and dOut bf16. Grid: B * H * ceil(T / ATT_TC_ROWS) blocks
// in each of ceil(D / 128) column slices (column_slice). Shared: q and dOut tiles (ATT_TC_ROWS rows), k and v tiles
// (64 rows), bf16 rows as in the forward. One variant for every D: even at D = 64 its s, dp and accumulator need
// more than the 128 registers of two blocks an SM. With DROP (forward: attention_forward_bf16_dropout) ds from the
// dropped-out dp.
template <bool DROP>
__device__ __forceinline__ void backward_q_bf16(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, float softCap,
        int causal, int window, const unsigned char* keyValid, const int* segments, const float* lse,
        const float* delta, const unsigned short* dOut, float* dq, AttentionDropout drop) {
    unsigned short* smem = reinterpret_cast<unsigned short*>(shared8);
    const int D = (int) d.D, ld = D + ATT_TC_PAD;
    unsigned short* qs = smem;
    unsigned short* dos = qs + ATT_TC_ROWS * ld;
    unsigned short* ks = dos + ATT_TC_ROWS * ld;
    unsigned short* vs = ks + ATT_TILE * ld;
    const int warp = threadIdx.x / 32, g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
    const int r0 = 16 * warp;  // the warp's first query row in the tile; this lane holds r0 + g and r0 + g + 8
    const ColumnSlice slice = column_slice<ATT_TC_OUT_TILES>(d.B * d.H * ((d.T + ATT_TC_ROWS - 1) / ATT_TC_ROWS));
    const auto [bh, q0, b, kStart, vStart, qn] = stage_query_tile(d, q, qs, ld, slice.block);
    const unsigned short* kh = k + kStart;
    const unsigned short* vh = v + vStart;
    load_bf16_rows(dos, ld, dOut + (bh * d.T + q0) * D, qn, ATT_TC_ROWS, D);
    Slot query[2];
    float lseRow[2], deltaRow[2], ones[2], acc[ATT_TC_OUT_TILES][4];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        long long row = q0 + r0 + g + 8 * h;
        query[h] = query_slot(d, causal, window, segments, b, row);
        lseRow[h] = query[h].ok ? lse[bh * d.T + row] : -F_INF;
        deltaRow[h] = query[h].ok ? delta[bh * d.T + row] : 0.0f;
        ones[h] = 1.0f;
    }
#pragma unroll
    for (int n = 0; n < ATT_TC_OUT_TILES; ++n) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.0f;
    long long keys = visible_keys(d, causal, q0, qn);
    for (long long k0 = first_key_tile(d, window, q0, ATT_TILE); k0 < keys; k0 += ATT_TILE) {
        int kn = (int) min((long long) ATT_TILE, d.S - k0);
        stage_kv_tile(ks, vs, ld, kh + k0 * D, vh + k0 * D, kn, D);
        float s[ATT_TC_SCORE_TILES][4] = {}, dp[ATT_TC_SCORE_TILES][4] = {};
        mma_abt(qs, ks, ld, D, r0, s);  // rows: queries, columns: keys
        cap_scores(s, scale, softCap);
        mma_abt(dos, vs, ld, D, r0, dp);
        if constexpr (DROP) drop_out_fragments<ATT_TC_SCORE_TILES, false>(dp, drop, d, bh, q0 + r0, k0);  // d(p keep)
#pragma unroll
        for (int n = 0; n < ATT_TC_SCORE_TILES; ++n) {  // element 2 h + e: query row g + 8 h, key 8 n + 2 t + e
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                Slot key = key_slot(d, causal, window, keyValid, segments, b, k0 + 8 * n + 2 * t + e);
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    float p;
                    dp[n][2 * h + e] = score_grad(meet(query[h], key), s[n][2 * h + e], dp[n][2 * h + e],
                                                  lseRow[h], deltaRow[h], scale, softCap, &p);
                }
            }
        }
        mma_pm(dp, ks + slice.c0, ld, D - slice.c0, acc);  // the slice's columns of k
    }
    store_fragment_rows(dq, DT_F32, (bh * d.T + q0) * D + slice.c0, D, r0, qn, D - slice.c0, acc, ones);
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, 1) attention_backward_q_bf16(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, float softCap,
        int causal, int window, const unsigned char* keyValid, const int* segments, const float* lse,
        const float* delta, const unsigned short* dOut, float* dq) {
    backward_q_bf16<false>(q, k, v, d, scale, softCap, causal, window, keyValid, segments, lse, delta, dOut, dq, {});
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, 1) attention_backward_q_bf16_dropout(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, float softCap,
        int causal, int window, const unsigned char* keyValid, const int* segments, const float* lse,
        const float* delta, const unsigned short* dOut, float* dq, AttentionDropout drop) {
    backward_q_bf16<true>(q, k, v, d, scale, softCap, causal, window, keyValid, segments, lse, delta, dOut, dq, drop);
}

// (forward: attention_forward_bf16) dk and dv of one tile of ATT_TC_ROWS keys of one kv head, overwritten, on tensor
// cores: each warp owns 16 keys, and the block loops over the group's query heads and their tiles of
// ATT_TC_KV_QUERIES queries (with a causal mask or a sliding window, only those that may see the tile), so the heads
// sharing these keys add up here without atomics. Products with keys as rows: s^T = k q^T and dp^T = v dOut^T,
// then dv += p^T dOut and dk += ds^T q (p and ds rounded to bf16). Grid: B * Hkv * ceil(S / ATT_TC_ROWS) blocks in
// each of ceil(D / 8 OUT) column slices (column_slice). Shared: k and v tiles (ATT_TC_ROWS rows), q and dOut tiles
// (ATT_TC_KV_QUERIES rows). With DROP (forward: attention_forward_bf16_dropout) dv takes the dropped-out p and ds the
// dropped-out dp.
template <int OUT, bool DROP>
__device__ __forceinline__ void backward_kv_bf16(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, float softCap,
        int causal, int window, const unsigned char* keyValid, const int* segments, const float* lse,
        const float* delta, const unsigned short* dOut, float* dk, float* dv, AttentionDropout drop) {
    unsigned short* smem = reinterpret_cast<unsigned short*>(shared8);
    const int D = (int) d.D, ld = D + ATT_TC_PAD;
    unsigned short* ks = smem;
    unsigned short* vs = ks + ATT_TC_ROWS * ld;
    unsigned short* qs = vs + ATT_TC_ROWS * ld;
    unsigned short* dos = qs + ATT_TC_KV_QUERIES * ld;
    const int warp = threadIdx.x / 32, g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
    const int r0 = 16 * warp;  // the warp's first key row in the tile; this lane holds r0 + g and r0 + g + 8
    long long tiles = (d.S + ATT_TC_ROWS - 1) / ATT_TC_ROWS;
    const ColumnSlice slice = column_slice<OUT>(d.B * d.Hkv * tiles);
    long long bkv = slice.block / tiles, k0 = slice.block % tiles * ATT_TC_ROWS;
    long long b = bkv / d.Hkv, kvHead = bkv % d.Hkv, group = d.H / d.Hkv;
    int kn = (int) min((long long) ATT_TC_ROWS, d.S - k0);
    // visible after the loop's first barrier
    load_bf16_rows(ks, ld, k + b * d.kBatch + kvHead * d.kHead + k0 * D, kn, ATT_TC_ROWS, D);
    load_bf16_rows(vs, ld, v + b * d.vBatch + kvHead * d.vHead + k0 * D, kn, ATT_TC_ROWS, D);
    Slot key[2];
    float ones[2], dkAcc[OUT][4], dvAcc[OUT][4];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        key[h] = key_slot(d, causal, window, keyValid, segments, b, k0 + r0 + g + 8 * h);
        ones[h] = 1.0f;
    }
#pragma unroll
    for (int n = 0; n < OUT; ++n) {
#pragma unroll
        for (int e = 0; e < 4; ++e) dkAcc[n][e] = dvAcc[n][e] = 0.0f;
    }
    // With a causal mask, query i sees key k0 only from i = k0 - (S - T) on; with a window, none after queryEnd.
    long long firstQuery = causal ? max(0LL, k0 - (d.S - d.T)) / ATT_TC_KV_QUERIES * ATT_TC_KV_QUERIES : 0;
    long long queryEnd = visible_queries(d, window, k0, kn);
    for (long long head = b * d.H + kvHead * group; head < b * d.H + (kvHead + 1) * group; ++head) {
        for (long long q0 = firstQuery; q0 < queryEnd; q0 += ATT_TC_KV_QUERIES) {
            int qn = (int) min((long long) ATT_TC_KV_QUERIES, d.T - q0);
            __syncthreads();  // every warp is done with the previous q and dOut tiles
            load_bf16_rows(qs, ld, q + (head * d.T + q0) * D, qn, ATT_TC_KV_QUERIES, D);
            load_bf16_rows(dos, ld, dOut + (head * d.T + q0) * D, qn, ATT_TC_KV_QUERIES, D);
            __syncthreads();
            float s[ATT_TC_KV_QUERIES / 8][4] = {}, dp[ATT_TC_KV_QUERIES / 8][4] = {};
            mma_abt(ks, qs, ld, D, r0, s);  // rows: keys, columns: queries
            cap_scores(s, scale, softCap);
            mma_abt(vs, dos, ld, D, r0, dp);
            unsigned kept = 0;
            if constexpr (DROP) kept = drop_out_fragments<ATT_TC_KV_QUERIES / 8, true>(dp, drop, d, head, q0, k0 + r0);
#pragma unroll
            for (int n = 0; n < ATT_TC_KV_QUERIES / 8; ++n) {  // element 2 h + e: key row g + 8 h, query 8 n + 2 t + e
#pragma unroll
                for (int e = 0; e < 2; ++e) {
                    long long i = q0 + 8 * n + 2 * t + e;
                    Slot query = query_slot(d, causal, window, segments, b, i);
                    float lseCol = query.ok ? lse[head * d.T + i] : -F_INF;
                    float deltaCol = query.ok ? delta[head * d.T + i] : 0.0f;
#pragma unroll
                    for (int h = 0; h < 2; ++h) {
                        dp[n][2 * h + e] = score_grad(meet(key[h], query), s[n][2 * h + e],
                                                      dp[n][2 * h + e], lseCol, deltaCol, scale, softCap,
                                                      &s[n][2 * h + e]);
                    }
                }
            }
            if constexpr (DROP) keep_only(s, kept, drop.keepScale);  // p as it weighed v
            mma_pm(s, dos + slice.c0, ld, D - slice.c0, dvAcc);  // s now holds p^T; the slice's columns of dOut
            mma_pm(dp, qs + slice.c0, ld, D - slice.c0, dkAcc);
        }
    }
    store_fragment_rows(dk, DT_F32, (bkv * d.S + k0) * D + slice.c0, D, r0, kn, D - slice.c0, dkAcc, ones);
    store_fragment_rows(dv, DT_F32, (bkv * d.S + k0) * D + slice.c0, D, r0, kn, D - slice.c0, dvAcc, ones);
}

// As for the forward: *_d64 for D <= 64 at two blocks an SM, the other for D up to 256 (in column slices of 128)
// and for dropout at any D.
extern "C" __global__ void __launch_bounds__(ATT_THREADS, 1) attention_backward_kv_bf16(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, float softCap,
        int causal, int window, const unsigned char* keyValid, const int* segments, const float* lse,
        const float* delta, const unsigned short* dOut, float* dk, float* dv) {
    backward_kv_bf16<ATT_TC_OUT_TILES, false>(q, k, v, d, scale, softCap, causal, window, keyValid, segments, lse,
                                              delta, dOut, dk, dv, {});
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, 1) attention_backward_kv_bf16_dropout(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, float softCap,
        int causal, int window, const unsigned char* keyValid, const int* segments, const float* lse,
        const float* delta, const unsigned short* dOut, float* dk, float* dv, AttentionDropout drop) {
    backward_kv_bf16<ATT_TC_OUT_TILES, true>(q, k, v, d, scale, softCap, causal, window, keyValid, segments, lse,
                                             delta, dOut, dk, dv, drop);
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, 2) attention_backward_kv_bf16_d64(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, float softCap,
        int causal, int window, const unsigned char* keyValid, const int* segments, const float* lse,
        const float* delta, const unsigned short* dOut, float* dk, float* dv) {
    backward_kv_bf16<ATT_TC_OUT_TILES_D64, false>(q, k, v, d, scale, softCap, causal, window, keyValid, segments, lse,
                                                  delta, dOut, dk, dv, {});
}
