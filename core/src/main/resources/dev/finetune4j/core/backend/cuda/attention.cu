// AttentionKernels, flash style: queries and keys are taken in tiles of ATT_TILE rows staged in shared memory,
// the softmax is computed online (running max and sum in f32), and no (T, S) matrix exists anywhere. The forward
// keeps each query's log-sum-exp; the backward recomputes the probabilities from it, tile by tile.
// q, dOut, dq: (B, H, T, D) contiguous; dk, dv: (B, Hkv, S, D) contiguous; lse, delta: (B, H, T). The forward's out:
// (B, H, T, D) rows of D contiguous values with any batch, head and row strides (OutLayout), F32 or BF16 (the
// token-major bf16 output the attention op keeps under BF16_MIXED, written without a float32 copy).
// k, v: (B, Hkv, S, D) with rows of D contiguous values and any batch and head strides (a KV cache's filled part).
// Grouped-query attention: query head h reads kv head h / (H / Hkv); K and V are never repeated.
// Mask: query i sits at key position S - T + i; keyValid (B, S) bytes and segments (B, S) ints may be null.
// F32 with f32 accumulation on CUDA cores; for bf16 q, k, v (and dOut) each kernel but the delta also has a
// tensor-core twin (*_bf16: bf16 products, f32 accumulation and softmax), with its own thread layout.
//
// Threads: a block is ATT_THREADS = 256 threads (CudaKernels.BLOCK) seen as a 16 x 16 grid (tx, ty); in every
// 64 x 64 tile a thread owns rows ty + 16 i and columns tx + 16 j (i, j < 4), and in every 64 x D accumulator rows
// ty + 16 i and the columns 64 g + 4 tx + e (g < 2, e < 4, so D <= 128). A row of a tile therefore belongs to 16
// lanes of one warp: row reductions are half-warp shuffles, and a row written to shared memory and read back by
// the same threads needs only __syncwarp.
// Shared memory (dynamic): 64-row tiles of D values, zero-padded to a multiple of 4 so that they are read 4 floats
// (16 bytes) at a time, with a row stride of 4 (mod 8) floats (8 lanes reading 16 bytes of 8 different rows hit
// all 32 banks once); and one 64 x 64 tile of probabilities or score gradients with row stride ATT_P_STRIDE (the
// two rows a warp writes start 16 banks apart). CudaAttention sizes it.
#include "common.cuh"

#define ATT_THREADS 256
#define ATT_TILE 64
#define ATT_SPLIT 16
#define ATT_PER 4
#define ATT_MAX_D 128
#define ATT_DCOLS 8
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

__device__ __forceinline__ Vec4 load4(const float* p) {
    return *reinterpret_cast<const Vec4*>(p);
}

__device__ __forceinline__ float part(const Vec4& v, int e) {
    return e == 0 ? v.x : e == 1 ? v.y : e == 2 ? v.z : v.w;
}

struct Dims {
    long long B, H, Hkv, T, S, D;
    long long kBatch, kHead, vBatch, vHead;  // strides of k and v, in elements
};

// Who a query row or a key column is for the mask: in range and (keys) not padding, its position, its segment.
struct Slot {
    int ok;
    long long pos;
    int seg;
};

__device__ __forceinline__ Slot query_slot(const Dims& d, const int* segments, long long b, long long i) {
    Slot s;
    s.ok = i < d.T;
    s.pos = d.S - d.T + i;
    s.seg = s.ok && segments ? segments[b * d.S + s.pos] : 0;
    return s;
}

__device__ __forceinline__ Slot key_slot(const Dims& d, const unsigned char* keyValid, const int* segments,
                                         long long b, long long j) {
    Slot s;
    s.ok = j < d.S && (!keyValid || keyValid[b * d.S + j]);
    s.pos = j;
    s.seg = s.ok && segments ? segments[b * d.S + j] : 0;
    return s;
}

__device__ __forceinline__ bool allowed(int causal, const Slot& query, const Slot& key) {
    return query.ok && key.ok && (!causal || key.pos <= query.pos) && query.seg == key.seg;
}

// Rows [0, n) of a tile from src (rows of D contiguous floats), coalesced; the padding columns up to a multiple of
// 4 and the rows [n, ATT_TILE) become zeros, so that they add nothing (and no NaN) to the products.
__device__ __forceinline__ void load_rows(float* dst, int ld, const float* src, int n, int D) {
    const int width = (D + 3) & ~3;
    for (int e = threadIdx.x; e < ATT_TILE * width; e += ATT_THREADS) {
        int r = e / width, c = e - r * width;
        dst[r * ld + c] = r < n && c < D ? src[(long long) r * D + c] : 0.0f;
    }
}

// acc[i][j] += sum over c < D of a[row ty + 16 i][c] * b[row tx + 16 j][c] (a times b transposed).
__device__ __forceinline__ void tile_abt(const float* a, const float* b, int ld, int D, float acc[ATT_PER][ATT_PER]) {
    const int tx = threadIdx.x % ATT_SPLIT, ty = threadIdx.x / ATT_SPLIT;
#pragma unroll 1
    for (int c = 0; c < D; c += 4) {  // the padding columns are zeros
        Vec4 av[ATT_PER], bv[ATT_PER];
#pragma unroll
        for (int i = 0; i < ATT_PER; ++i) {
            av[i] = load4(a + (ty + ATT_SPLIT * i) * ld + c);
            bv[i] = load4(b + (tx + ATT_SPLIT * i) * ld + c);
        }
#pragma unroll
        for (int i = 0; i < ATT_PER; ++i) {
#pragma unroll
            for (int j = 0; j < ATT_PER; ++j) {
                acc[i][j] = fmaf(av[i].x, bv[j].x, acc[i][j]);
                acc[i][j] = fmaf(av[i].y, bv[j].y, acc[i][j]);
                acc[i][j] = fmaf(av[i].z, bv[j].z, acc[i][j]);
                acc[i][j] = fmaf(av[i].w, bv[j].w, acc[i][j]);
            }
        }
    }
}

// acc[i][4 g + e] += sum over c < ATT_TILE of p[row ty + 16 i][c] * m[row c][column 64 g + 4 tx + e].
__device__ __forceinline__ void tile_ab(const float* p, const float* m, int ld, int D, float acc[ATT_PER][ATT_DCOLS]) {
    const int tx = threadIdx.x % ATT_SPLIT, ty = threadIdx.x / ATT_SPLIT;
#pragma unroll 1
    for (int c = 0; c < ATT_TILE; c += 4) {
        Vec4 pv[ATT_PER];
#pragma unroll
        for (int i = 0; i < ATT_PER; ++i) pv[i] = load4(p + (ty + ATT_SPLIT * i) * ATT_P_STRIDE + c);
#pragma unroll
        for (int e = 0; e < 4; ++e) {
#pragma unroll
            for (int g = 0; g < ATT_DCOLS / 4; ++g) {
                int col = ATT_TILE * g + 4 * tx;
                if (col < D) {  // then the 4 columns lie within the zero-padded row
                    Vec4 mv = load4(m + (c + e) * ld + col);
#pragma unroll
                    for (int i = 0; i < ATT_PER; ++i) {
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

// Stores the 4 x 4 values a thread owns into the probability tile.
__device__ __forceinline__ void store_p(float* ps, const float v[ATT_PER][ATT_PER]) {
    const int tx = threadIdx.x % ATT_SPLIT, ty = threadIdx.x / ATT_SPLIT;
#pragma unroll
    for (int i = 0; i < ATT_PER; ++i) {
#pragma unroll
        for (int j = 0; j < ATT_PER; ++j) ps[(ty + ATT_SPLIT * i) * ATT_P_STRIDE + tx + ATT_SPLIT * j] = v[i][j];
    }
}

// Where the forward writes its output: element (b, h, t, c) of out at b * batch + h * head + t * row + c.
struct OutLayout {
    long long batch, head, row;
};

// The element offset of row t of head bh = b * H + h in out.
__device__ __forceinline__ long long out_row(const OutLayout& o, const Dims& d, long long bh, long long t) {
    return bh / d.H * o.batch + bh % d.H * o.head + t * o.row;
}

// Writes the rows ty + 16 i below n of a 64 x D accumulator, times factor[i], to dst of dtype type (F32 or BF16):
// row r at element first + r * stride.
__device__ __forceinline__ void store_rows(void* dst, int type, long long first, long long stride, int n, int D,
                                           const float acc[ATT_PER][ATT_DCOLS], const float factor[ATT_PER]) {
    const int tx = threadIdx.x % ATT_SPLIT, ty = threadIdx.x / ATT_SPLIT;
#pragma unroll
    for (int i = 0; i < ATT_PER; ++i) {
        int r = ty + ATT_SPLIT * i;
        if (r < n) {
#pragma unroll
            for (int j = 0; j < ATT_DCOLS; ++j) {
                int col = ATT_TILE * (j / 4) + 4 * tx + j % 4;
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

// Keys a query tile [q0, q0 + n) may see at all: with a causal mask none past its last query's position.
__device__ __forceinline__ long long visible_keys(const Dims& d, int causal, long long q0, int n) {
    long long last = d.S - d.T + q0 + n;
    return causal && last < d.S ? last : d.S;
}

// The block's tile of queries, for kernels with one block per tile of `rows` queries of one head: bh = batch * H +
// head and the first query q0 (the tiles with the most causal work start first), the batch b, the tile's rows
// (fewer in the last one), and where the K and V rows of the head's kv head start (grouped-query: query head h reads
// kv head h / (H / Hkv)). Offsets, not pointers: KernelSignatures reads every struct of a family as a possible
// argument.
struct QueryTile {
    long long bh, q0, b, kStart, vStart;
    int rows;
};

__device__ __forceinline__ QueryTile query_tile(const Dims& d, int rows) {
    QueryTile t;
    long long tiles = (d.T + rows - 1) / rows;
    t.bh = blockIdx.x / tiles;
    t.q0 = (tiles - 1 - blockIdx.x % tiles) * rows;
    t.b = t.bh / d.H;
    long long kvHead = t.bh % d.H / (d.H / d.Hkv);
    t.kStart = t.b * d.kBatch + kvHead * d.kHead;
    t.vStart = t.b * d.vBatch + kvHead * d.vHead;
    t.rows = (int) min((long long) rows, d.T - t.q0);
    return t;
}

// out = softmax(scores) v and lse = log(sum(exp(scores))) with scores = scale q.k (masked: -inf); a query that
// sees no key gets 0 and -inf. Grid: B * H * ceil(T / 64) blocks, each one tile of 64 queries of one head.
// Shared: q, k, v tiles and the probability tile.
extern "C" __global__ void __launch_bounds__(ATT_THREADS, ATT_MIN_BLOCKS) attention_forward(
        const float* q, const float* k, const float* v, Dims d, float scale, int causal,
        const unsigned char* keyValid, const int* segments, void* out, int outType, OutLayout outLayout, float* lse) {
    extern __shared__ Vec4 shared4[];  // 16-byte aligned, as load4 needs
    float* smem = reinterpret_cast<float*>(shared4);
    const int D = (int) d.D, ld = tile_stride(D);
    float* qs = smem;
    float* ks = qs + ATT_TILE * ld;
    float* vs = ks + ATT_TILE * ld;
    float* ps = vs + ATT_TILE * ld;
    const int tx = threadIdx.x % ATT_SPLIT, ty = threadIdx.x / ATT_SPLIT;
    const QueryTile tile = query_tile(d, ATT_TILE);
    const long long bh = tile.bh, q0 = tile.q0, b = tile.b;
    const float* kh = k + tile.kStart;
    const float* vh = v + tile.vStart;
    const int qn = tile.rows;
    load_rows(qs, ld, q + (bh * d.T + q0) * D, qn, D);  // visible after the first barrier of the loop
    Slot query[ATT_PER];
    float m[ATT_PER], l[ATT_PER], acc[ATT_PER][ATT_DCOLS];
#pragma unroll
    for (int i = 0; i < ATT_PER; ++i) {
        query[i] = query_slot(d, segments, b, q0 + ty + ATT_SPLIT * i);
        m[i] = -F_INF;
        l[i] = 0.0f;
#pragma unroll
        for (int j = 0; j < ATT_DCOLS; ++j) acc[i][j] = 0.0f;
    }
    long long keys = visible_keys(d, causal, q0, qn);
    for (long long k0 = 0; k0 < keys; k0 += ATT_TILE) {
        int kn = (int) min((long long) ATT_TILE, d.S - k0);
        __syncthreads();  // every thread is done with the previous k, v and probability tiles
        load_rows(ks, ld, kh + k0 * D, kn, D);
        load_rows(vs, ld, vh + k0 * D, kn, D);
        __syncthreads();
        float s[ATT_PER][ATT_PER] = {};
        tile_abt(qs, ks, ld, D, s);
        Slot key[ATT_PER];
#pragma unroll
        for (int j = 0; j < ATT_PER; ++j) key[j] = key_slot(d, keyValid, segments, b, k0 + tx + ATT_SPLIT * j);
#pragma unroll
        for (int i = 0; i < ATT_PER; ++i) {
            float tileMax = -F_INF;
#pragma unroll
            for (int j = 0; j < ATT_PER; ++j) {
                s[i][j] = allowed(causal, query[i], key[j]) ? s[i][j] * scale : -F_INF;
                tileMax = fmaxf(tileMax, s[i][j]);
            }
            float mNew = fmaxf(m[i], row_max(tileMax));
            float rescale = m[i] == -F_INF ? 0.0f : expf(m[i] - mNew);  // -inf only while nothing was seen
            float sum = 0.0f;
#pragma unroll
            for (int j = 0; j < ATT_PER; ++j) {
                s[i][j] = s[i][j] == -F_INF ? 0.0f : expf(s[i][j] - mNew);
                sum += s[i][j];
            }
            l[i] = l[i] * rescale + row_sum(sum);
            m[i] = mNew;
#pragma unroll
            for (int j = 0; j < ATT_DCOLS; ++j) acc[i][j] *= rescale;
        }
        store_p(ps, s);
        __syncwarp();  // each probability row is read back by the 16 lanes of this warp that wrote it
        tile_ab(ps, vs, ld, D, acc);
    }
    float inv[ATT_PER];
#pragma unroll
    for (int i = 0; i < ATT_PER; ++i) {
        inv[i] = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
        int r = ty + ATT_SPLIT * i;
        if (tx == 0 && r < qn) lse[bh * d.T + q0 + r] = l[i] > 0.0f ? m[i] + logf(l[i]) : -F_INF;
    }
    store_rows(out, outType, out_row(outLayout, d, bh, q0), outLayout.row, qn, D, acc, inv);
}

// ---- Tensor-core kernels for bf16 q, k, v (f32 accumulation, softmax and its gradient in f32, f32 gradients) ----
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
#define ATT_TC_ROWS 128
#define ATT_TC_PAD 8
#define ATT_TC_SCORE_TILES (ATT_TILE / 8)
// 8-column tiles of a warp's 16 x D accumulator: D up to 128, or up to 64 in the *_d64 kernels, whose halved
// accumulators let two blocks share an SM's registers.
#define ATT_TC_OUT_TILES (ATT_MAX_D / 8)
#define ATT_TC_OUT_TILES_D64 8
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

// Reductions over the 4 lanes that hold one query row of a fragment (all 32 lanes of the warp call them together).
__device__ __forceinline__ float quad_max(float v) {
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
    return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}

__device__ __forceinline__ float quad_sum(float v) {
    v += __shfl_xor_sync(0xffffffffu, v, 1);
    return v + __shfl_xor_sync(0xffffffffu, v, 2);
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

// (f32 twin: attention_forward) out = softmax(scores) v and lse with scores = scale q.k (masked: -inf); a query
// that sees no key gets 0 and -inf. q, k, v bf16 (k, v rows 16-byte aligned), D a multiple of 16 up to 8 OUT; the
// probabilities enter p v rounded to bf16, their sum l stays f32. Grid: B * H * ceil(T / ATT_TC_ROWS) blocks.
template <int OUT>
__device__ __forceinline__ void forward_bf16(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, int causal,
        const unsigned char* keyValid, const int* segments, void* out, int outType, OutLayout outLayout, float* lse) {
    unsigned short* smem = reinterpret_cast<unsigned short*>(shared8);
    const int D = (int) d.D, ld = D + ATT_TC_PAD;
    unsigned short* qs = smem;
    unsigned short* ks = qs + ATT_TC_ROWS * ld;
    unsigned short* vs = ks + ATT_TILE * ld;
    const int warp = threadIdx.x / 32, g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
    const int r0 = 16 * warp;  // the warp's first query row in the tile; this lane holds r0 + g and r0 + g + 8
    const QueryTile tile = query_tile(d, ATT_TC_ROWS);
    const long long bh = tile.bh, q0 = tile.q0, b = tile.b;
    const unsigned short* kh = k + tile.kStart;
    const unsigned short* vh = v + tile.vStart;
    const int qn = tile.rows;
    load_bf16_rows(qs, ld, q + (bh * d.T + q0) * D, qn, ATT_TC_ROWS, D);  // visible after the loop's first barrier
    Slot query[2];
    float m[2], l[2], acc[OUT][4];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        query[h] = query_slot(d, segments, b, q0 + r0 + g + 8 * h);
        m[h] = -F_INF;
        l[h] = 0.0f;
    }
#pragma unroll
    for (int n = 0; n < OUT; ++n) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.0f;
    long long keys = visible_keys(d, causal, q0, qn);
    for (long long k0 = 0; k0 < keys; k0 += ATT_TILE) {
        int kn = (int) min((long long) ATT_TILE, d.S - k0);
        stage_kv_tile(ks, vs, ld, kh + k0 * D, vh + k0 * D, kn, D);
        float s[ATT_TC_SCORE_TILES][4] = {};
        mma_abt(qs, ks, ld, D, r0, s);
#pragma unroll
        for (int n = 0; n < ATT_TC_SCORE_TILES; ++n) {  // s[n][2 h + e]: query row g + 8 h, key 8 n + 2 t + e
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                Slot key = key_slot(d, keyValid, segments, b, k0 + 8 * n + 2 * t + e);
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    s[n][2 * h + e] = allowed(causal, query[h], key) ? s[n][2 * h + e] * scale : -F_INF;
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
        mma_pm(s, vs, ld, D, acc);
    }
    float inv[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        inv[h] = l[h] > 0.0f ? 1.0f / l[h] : 0.0f;
        int r = r0 + g + 8 * h;
        if (t == 0 && r < qn) lse[bh * d.T + q0 + r] = l[h] > 0.0f ? m[h] + logf(l[h]) : -F_INF;
    }
    store_fragment_rows(out, outType, out_row(outLayout, d, bh, q0), outLayout.row, r0, qn, D, acc, inv);
}

// The kernels CudaAttention launches: *_d64 for D <= 64, limited to 128 registers a thread so that two blocks share
// an SM, and the other for D up to 128 with one block an SM.
extern "C" __global__ void __launch_bounds__(ATT_THREADS, 1) attention_forward_bf16(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, int causal,
        const unsigned char* keyValid, const int* segments, void* out, int outType, OutLayout outLayout, float* lse) {
    forward_bf16<ATT_TC_OUT_TILES>(q, k, v, d, scale, causal, keyValid, segments, out, outType, outLayout, lse);
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, 2) attention_forward_bf16_d64(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, int causal,
        const unsigned char* keyValid, const int* segments, void* out, int outType, OutLayout outLayout, float* lse) {
    forward_bf16<ATT_TC_OUT_TILES_D64>(q, k, v, d, scale, causal, keyValid, segments, out, outType, outLayout, lse);
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

// The probability p and score gradient ds = scale p (dp - delta) of one (query, key) pair, 0 where masked.
__device__ __forceinline__ float score_grad(int causal, const Slot& query, const Slot& key, float score, float dp,
                                            float lseRow, float deltaRow, float scale, float* p) {
    bool on = allowed(causal, query, key) && lseRow != -F_INF;
    *p = on ? expf(score * scale - lseRow) : 0.0f;
    return on ? *p * (dp - deltaRow) * scale : 0.0f;
}

// (forward: attention_forward) dk and dv of one tile of 64 keys of one kv head, overwritten: the block loops over
// the group's query heads and their query tiles (with a causal mask, only those that see the tile), so the heads
// sharing these keys add up here without atomics. dv += p^T dOut, dk += ds^T q. Grid: B * Hkv * ceil(S / 64).
// Shared: k, v, q, dOut tiles and the probability tile (reused for ds).
extern "C" __global__ void __launch_bounds__(ATT_THREADS) attention_backward_kv(
        const float* q, const float* k, const float* v, Dims d, float scale, int causal,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const float* dOut, float* dk, float* dv) {
    extern __shared__ Vec4 shared4[];  // 16-byte aligned, as load4 needs
    float* smem = reinterpret_cast<float*>(shared4);
    const int D = (int) d.D, ld = tile_stride(D);
    float* ks = smem;
    float* vs = ks + ATT_TILE * ld;
    float* qs = vs + ATT_TILE * ld;
    float* dos = qs + ATT_TILE * ld;
    float* ps = dos + ATT_TILE * ld;
    const int tx = threadIdx.x % ATT_SPLIT, ty = threadIdx.x / ATT_SPLIT;
    long long tiles = (d.S + ATT_TILE - 1) / ATT_TILE;
    long long bkv = blockIdx.x / tiles, k0 = blockIdx.x % tiles * ATT_TILE;
    long long b = bkv / d.Hkv, kvHead = bkv % d.Hkv, group = d.H / d.Hkv;
    int kn = (int) min((long long) ATT_TILE, d.S - k0);
    load_rows(ks, ld, k + b * d.kBatch + kvHead * d.kHead + k0 * D, kn, D);  // visible after the loop's first barrier
    load_rows(vs, ld, v + b * d.vBatch + kvHead * d.vHead + k0 * D, kn, D);
    Slot key[ATT_PER];
    float dkAcc[ATT_PER][ATT_DCOLS], dvAcc[ATT_PER][ATT_DCOLS], ones[ATT_PER];
#pragma unroll
    for (int i = 0; i < ATT_PER; ++i) {
        key[i] = key_slot(d, keyValid, segments, b, k0 + ty + ATT_SPLIT * i);
        ones[i] = 1.0f;
#pragma unroll
        for (int j = 0; j < ATT_DCOLS; ++j) dkAcc[i][j] = dvAcc[i][j] = 0.0f;
    }
    // With a causal mask, query i sees key k0 only from i = k0 - (S - T) on.
    long long firstQuery = causal ? max(0LL, k0 - (d.S - d.T)) / ATT_TILE * ATT_TILE : 0;
    for (long long head = b * d.H + kvHead * group; head < b * d.H + (kvHead + 1) * group; ++head) {
        for (long long q0 = firstQuery; q0 < d.T; q0 += ATT_TILE) {
            int qn = (int) min((long long) ATT_TILE, d.T - q0);
            __syncthreads();  // every thread is done with the previous q, dOut and probability tiles
            load_rows(qs, ld, q + (head * d.T + q0) * D, qn, D);
            load_rows(dos, ld, dOut + (head * d.T + q0) * D, qn, D);
            __syncthreads();
            Slot query[ATT_PER];
            float lseCol[ATT_PER], deltaCol[ATT_PER];
#pragma unroll
            for (int j = 0; j < ATT_PER; ++j) {
                long long i = q0 + tx + ATT_SPLIT * j;
                query[j] = query_slot(d, segments, b, i);
                lseCol[j] = query[j].ok ? lse[head * d.T + i] : -F_INF;
                deltaCol[j] = query[j].ok ? delta[head * d.T + i] : 0.0f;
            }
            float s[ATT_PER][ATT_PER] = {}, dp[ATT_PER][ATT_PER] = {};
            tile_abt(ks, qs, ld, D, s);    // rows: keys, columns: queries
            tile_abt(vs, dos, ld, D, dp);
#pragma unroll
            for (int i = 0; i < ATT_PER; ++i) {
#pragma unroll
                for (int j = 0; j < ATT_PER; ++j) {
                    dp[i][j] = score_grad(causal, query[j], key[i], s[i][j], dp[i][j], lseCol[j], deltaCol[j],
                                          scale, &s[i][j]);
                }
            }
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

// (forward: attention_forward) dq = ds k for one tile of 64 queries, overwritten: the block loops over the key
// tiles its queries see, recomputing p and ds (no atomics, so the result does not depend on scheduling).
// Grid: B * H * ceil(T / 64). Shared: q, dOut, k, v tiles and the ds tile.
extern "C" __global__ void __launch_bounds__(ATT_THREADS, ATT_MIN_BLOCKS) attention_backward_q(
        const float* q, const float* k, const float* v, Dims d, float scale, int causal,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const float* dOut, float* dq) {
    extern __shared__ Vec4 shared4[];  // 16-byte aligned, as load4 needs
    float* smem = reinterpret_cast<float*>(shared4);
    const int D = (int) d.D, ld = tile_stride(D);
    float* qs = smem;
    float* dos = qs + ATT_TILE * ld;
    float* ks = dos + ATT_TILE * ld;
    float* vs = ks + ATT_TILE * ld;
    float* ps = vs + ATT_TILE * ld;
    const int tx = threadIdx.x % ATT_SPLIT, ty = threadIdx.x / ATT_SPLIT;
    const QueryTile tile = query_tile(d, ATT_TILE);
    const long long bh = tile.bh, q0 = tile.q0, b = tile.b;
    const float* kh = k + tile.kStart;
    const float* vh = v + tile.vStart;
    const int qn = tile.rows;
    load_rows(qs, ld, q + (bh * d.T + q0) * D, qn, D);  // visible after the first barrier of the loop
    load_rows(dos, ld, dOut + (bh * d.T + q0) * D, qn, D);
    Slot query[ATT_PER];
    float lseRow[ATT_PER], deltaRow[ATT_PER], acc[ATT_PER][ATT_DCOLS], ones[ATT_PER];
#pragma unroll
    for (int i = 0; i < ATT_PER; ++i) {
        long long row = q0 + ty + ATT_SPLIT * i;
        query[i] = query_slot(d, segments, b, row);
        lseRow[i] = query[i].ok ? lse[bh * d.T + row] : -F_INF;
        deltaRow[i] = query[i].ok ? delta[bh * d.T + row] : 0.0f;
        ones[i] = 1.0f;
#pragma unroll
        for (int j = 0; j < ATT_DCOLS; ++j) acc[i][j] = 0.0f;
    }
    long long keys = visible_keys(d, causal, q0, qn);
    for (long long k0 = 0; k0 < keys; k0 += ATT_TILE) {
        int kn = (int) min((long long) ATT_TILE, d.S - k0);
        __syncthreads();  // every thread is done with the previous k, v and ds tiles
        load_rows(ks, ld, kh + k0 * D, kn, D);
        load_rows(vs, ld, vh + k0 * D, kn, D);
        __syncthreads();
        float s[ATT_PER][ATT_PER] = {}, dp[ATT_PER][ATT_PER] = {};
        tile_abt(qs, ks, ld, D, s);    // rows: queries, columns: keys
        tile_abt(dos, vs, ld, D, dp);
#pragma unroll
        for (int j = 0; j < ATT_PER; ++j) {
            Slot key = key_slot(d, keyValid, segments, b, k0 + tx + ATT_SPLIT * j);
#pragma unroll
            for (int i = 0; i < ATT_PER; ++i) {
                float p;
                dp[i][j] = score_grad(causal, query[i], key, s[i][j], dp[i][j], lseRow[i], deltaRow[i], scale, &p);
            }
        }
        store_p(ps, dp);
        __syncwarp();  // each row is read back by the 16 lanes of this warp that wrote it
        tile_ab(ps, ks, ld, D, acc);
    }
    store_rows(dq, DT_F32, (bh * d.T + q0) * D, D, qn, D, acc, ones);
}

// (forward: attention_forward_bf16) dq = ds k for one tile of ATT_TC_ROWS queries, overwritten, on tensor cores: per
// key tile a warp recomputes s = q k^T and dp = dOut v^T for its 16 queries, forms p and ds in f32 from lse and
// delta, and adds ds k with ds rounded to bf16. q, k, v and dOut bf16. Grid: B * H * ceil(T / ATT_TC_ROWS).
// Shared: q and dOut tiles (ATT_TC_ROWS rows), k and v tiles (64 rows), bf16 rows as in the forward. One variant for
// every D: even at D = 64 its s, dp and accumulator need more than the 128 registers of two blocks an SM.
extern "C" __global__ void __launch_bounds__(ATT_THREADS, 1) attention_backward_q_bf16(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, int causal,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const unsigned short* dOut, float* dq) {
    unsigned short* smem = reinterpret_cast<unsigned short*>(shared8);
    const int D = (int) d.D, ld = D + ATT_TC_PAD;
    unsigned short* qs = smem;
    unsigned short* dos = qs + ATT_TC_ROWS * ld;
    unsigned short* ks = dos + ATT_TC_ROWS * ld;
    unsigned short* vs = ks + ATT_TILE * ld;
    const int warp = threadIdx.x / 32, g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
    const int r0 = 16 * warp;  // the warp's first query row in the tile; this lane holds r0 + g and r0 + g + 8
    const QueryTile tile = query_tile(d, ATT_TC_ROWS);
    const long long bh = tile.bh, q0 = tile.q0, b = tile.b;
    const unsigned short* kh = k + tile.kStart;
    const unsigned short* vh = v + tile.vStart;
    const int qn = tile.rows;
    load_bf16_rows(qs, ld, q + (bh * d.T + q0) * D, qn, ATT_TC_ROWS, D);  // visible after the loop's first barrier
    load_bf16_rows(dos, ld, dOut + (bh * d.T + q0) * D, qn, ATT_TC_ROWS, D);
    Slot query[2];
    float lseRow[2], deltaRow[2], ones[2], acc[ATT_TC_OUT_TILES][4];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        long long row = q0 + r0 + g + 8 * h;
        query[h] = query_slot(d, segments, b, row);
        lseRow[h] = query[h].ok ? lse[bh * d.T + row] : -F_INF;
        deltaRow[h] = query[h].ok ? delta[bh * d.T + row] : 0.0f;
        ones[h] = 1.0f;
    }
#pragma unroll
    for (int n = 0; n < ATT_TC_OUT_TILES; ++n) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.0f;
    long long keys = visible_keys(d, causal, q0, qn);
    for (long long k0 = 0; k0 < keys; k0 += ATT_TILE) {
        int kn = (int) min((long long) ATT_TILE, d.S - k0);
        stage_kv_tile(ks, vs, ld, kh + k0 * D, vh + k0 * D, kn, D);
        float s[ATT_TC_SCORE_TILES][4] = {}, dp[ATT_TC_SCORE_TILES][4] = {};
        mma_abt(qs, ks, ld, D, r0, s);  // rows: queries, columns: keys
        mma_abt(dos, vs, ld, D, r0, dp);
#pragma unroll
        for (int n = 0; n < ATT_TC_SCORE_TILES; ++n) {  // element 2 h + e: query row g + 8 h, key 8 n + 2 t + e
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                Slot key = key_slot(d, keyValid, segments, b, k0 + 8 * n + 2 * t + e);
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    float p;
                    dp[n][2 * h + e] = score_grad(causal, query[h], key, s[n][2 * h + e], dp[n][2 * h + e],
                                                  lseRow[h], deltaRow[h], scale, &p);
                }
            }
        }
        mma_pm(dp, ks, ld, D, acc);
    }
    store_fragment_rows(dq, DT_F32, (bh * d.T + q0) * D, D, r0, qn, D, acc, ones);
}

// (forward: attention_forward_bf16) dk and dv of one tile of ATT_TC_ROWS keys of one kv head, overwritten, on tensor
// cores: each warp owns 16 keys, and the block loops over the group's query heads and their tiles of
// ATT_TC_KV_QUERIES queries (with a causal mask, only those that see the tile), so the heads sharing these keys add
// up here without atomics. Products with keys as rows: s^T = k q^T and dp^T = v dOut^T, then dv += p^T dOut and
// dk += ds^T q (p and ds rounded to bf16). Grid: B * Hkv * ceil(S / ATT_TC_ROWS). Shared: k and v tiles
// (ATT_TC_ROWS rows), q and dOut tiles (ATT_TC_KV_QUERIES rows). D up to 8 OUT.
template <int OUT>
__device__ __forceinline__ void backward_kv_bf16(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, int causal,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const unsigned short* dOut, float* dk, float* dv) {
    unsigned short* smem = reinterpret_cast<unsigned short*>(shared8);
    const int D = (int) d.D, ld = D + ATT_TC_PAD;
    unsigned short* ks = smem;
    unsigned short* vs = ks + ATT_TC_ROWS * ld;
    unsigned short* qs = vs + ATT_TC_ROWS * ld;
    unsigned short* dos = qs + ATT_TC_KV_QUERIES * ld;
    const int warp = threadIdx.x / 32, g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
    const int r0 = 16 * warp;  // the warp's first key row in the tile; this lane holds r0 + g and r0 + g + 8
    long long tiles = (d.S + ATT_TC_ROWS - 1) / ATT_TC_ROWS;
    long long bkv = blockIdx.x / tiles, k0 = blockIdx.x % tiles * ATT_TC_ROWS;
    long long b = bkv / d.Hkv, kvHead = bkv % d.Hkv, group = d.H / d.Hkv;
    int kn = (int) min((long long) ATT_TC_ROWS, d.S - k0);
    // visible after the loop's first barrier
    load_bf16_rows(ks, ld, k + b * d.kBatch + kvHead * d.kHead + k0 * D, kn, ATT_TC_ROWS, D);
    load_bf16_rows(vs, ld, v + b * d.vBatch + kvHead * d.vHead + k0 * D, kn, ATT_TC_ROWS, D);
    Slot key[2];
    float ones[2], dkAcc[OUT][4], dvAcc[OUT][4];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        key[h] = key_slot(d, keyValid, segments, b, k0 + r0 + g + 8 * h);
        ones[h] = 1.0f;
    }
#pragma unroll
    for (int n = 0; n < OUT; ++n) {
#pragma unroll
        for (int e = 0; e < 4; ++e) dkAcc[n][e] = dvAcc[n][e] = 0.0f;
    }
    // With a causal mask, query i sees key k0 only from i = k0 - (S - T) on.
    long long firstQuery = causal ? max(0LL, k0 - (d.S - d.T)) / ATT_TC_KV_QUERIES * ATT_TC_KV_QUERIES : 0;
    for (long long head = b * d.H + kvHead * group; head < b * d.H + (kvHead + 1) * group; ++head) {
        for (long long q0 = firstQuery; q0 < d.T; q0 += ATT_TC_KV_QUERIES) {
            int qn = (int) min((long long) ATT_TC_KV_QUERIES, d.T - q0);
            __syncthreads();  // every warp is done with the previous q and dOut tiles
            load_bf16_rows(qs, ld, q + (head * d.T + q0) * D, qn, ATT_TC_KV_QUERIES, D);
            load_bf16_rows(dos, ld, dOut + (head * d.T + q0) * D, qn, ATT_TC_KV_QUERIES, D);
            __syncthreads();
            float s[ATT_TC_KV_QUERIES / 8][4] = {}, dp[ATT_TC_KV_QUERIES / 8][4] = {};
            mma_abt(ks, qs, ld, D, r0, s);  // rows: keys, columns: queries
            mma_abt(vs, dos, ld, D, r0, dp);
#pragma unroll
            for (int n = 0; n < ATT_TC_KV_QUERIES / 8; ++n) {  // element 2 h + e: key row g + 8 h, query 8 n + 2 t + e
#pragma unroll
                for (int e = 0; e < 2; ++e) {
                    long long i = q0 + 8 * n + 2 * t + e;
                    Slot query = query_slot(d, segments, b, i);
                    float lseCol = query.ok ? lse[head * d.T + i] : -F_INF;
                    float deltaCol = query.ok ? delta[head * d.T + i] : 0.0f;
#pragma unroll
                    for (int h = 0; h < 2; ++h) {
                        dp[n][2 * h + e] = score_grad(causal, query, key[h], s[n][2 * h + e], dp[n][2 * h + e],
                                                      lseCol, deltaCol, scale, &s[n][2 * h + e]);
                    }
                }
            }
            mma_pm(s, dos, ld, D, dvAcc);  // s now holds p^T
            mma_pm(dp, qs, ld, D, dkAcc);
        }
    }
    store_fragment_rows(dk, DT_F32, (bkv * d.S + k0) * D, D, r0, kn, D, dkAcc, ones);
    store_fragment_rows(dv, DT_F32, (bkv * d.S + k0) * D, D, r0, kn, D, dvAcc, ones);
}

// As for the forward: *_d64 for D <= 64 at two blocks an SM, the other for D up to 128.
extern "C" __global__ void __launch_bounds__(ATT_THREADS, 1) attention_backward_kv_bf16(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, int causal,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const unsigned short* dOut, float* dk, float* dv) {
    backward_kv_bf16<ATT_TC_OUT_TILES>(q, k, v, d, scale, causal, keyValid, segments, lse, delta, dOut, dk, dv);
}

extern "C" __global__ void __launch_bounds__(ATT_THREADS, 2) attention_backward_kv_bf16_d64(
        const unsigned short* q, const unsigned short* k, const unsigned short* v, Dims d, float scale, int causal,
        const unsigned char* keyValid, const int* segments, const float* lse, const float* delta,
        const unsigned short* dOut, float* dk, float* dv) {
    backward_kv_bf16<ATT_TC_OUT_TILES_D64>(q, k, v, d, scale, causal, keyValid, segments, lse, delta, dOut, dk, dv);
}
