// Shared by the attention families (attention.cu on CUDA cores, attention_bf16.cu on tensor cores): the problem's
// dimensions, the mask, the output layout and the tiling of queries over blocks.
// q, dOut, dq: (B, H, T, D) contiguous; dk, dv: (B, Hkv, S, D) contiguous; lse, delta: (B, H, T). The forward's out:
// (B, H, T, D) rows of D contiguous values with any batch, head and row strides (OutLayout), F32 or BF16 (the
// token-major bf16 output the attention op keeps under BF16_MIXED, written without a float32 copy).
// k, v: (B, Hkv, S, D) with rows of D contiguous values and any batch and head strides (a KV cache's filled part).
// Grouped-query attention: query head h reads kv head h / (H / Hkv); K and V are never repeated.
// Mask: query i sits at key position S - T + i; keyValid (B, S) bytes and segments (B, S) ints may be null; a sliding
// window w > 0 hides the keys at positions p - w and before from the query at position p (0: no window).
// Scores: s = scale q.k, soft-capped to softCap tanh(s / softCap) when softCap > 0 (Gemma 2), before the mask; the
// log-sum-exp is of these capped scores.
// Dropout (the *_dropout kernels): the probabilities are dropped after the softmax as AttentionDropout.java says.
// Included after common.cuh and philox.cuh.
#pragma once

#define ATT_THREADS 256
#define ATT_TILE 64
#define ATT_MAX_D 512

struct Dims {
    long long B, H, Hkv, T, S, D;
    long long kBatch, kHead, vBatch, vHead;  // strides of k and v, in elements
};

// Dropout of the probabilities, the *_dropout kernels' last argument: probability (b, h, i, j) of the (B, H, T, S)
// weights is multiplied by 0 when Philox's uniform at ((b H + h) T + i) S + j is below p, else by keepScale
// (1 / (1 - p) rounded to float once, by the host). The softmax's sum and the log-sum-exp are those before dropout.
struct AttentionDropout {
    float p, keepScale;
    unsigned long long seed, step, site;
};

// The dropout factor, 0 or keepScale, of query i's probability for key j in head bh = b H + h.
__device__ __forceinline__ float dropout_factor(const AttentionDropout& drop, const Dims& d, long long bh, long long i,
                                               long long j) {
    float u = philox_uniform(drop.seed, drop.step, drop.site, (unsigned long long) ((bh * d.T + i) * d.S + j));
    return u < drop.p ? 0.0f : drop.keepScale;
}

// v[r][c] times keepScale where bit r C + c of kept is set, else 0: the dropout factors that a kernel's drop_out
// returned, applied again (dk, dv: dp took them before the softmax backward, p takes them after it, for dv).
template <int R, int C>
__device__ __forceinline__ void keep_only(float (&v)[R][C], unsigned kept, float keepScale) {
    static_assert(R * C <= 32, "kept holds a bit a value");
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
        for (int c = 0; c < C; ++c) v[r][c] *= kept >> (r * C + c) & 1u ? keepScale : 0.0f;
    }
}

// Who a query row or a key column is for the mask: in range (keys: and not padding), its position, the range
// [lo, hi] of the other side's positions it may meet (causal mask and sliding window: a causal query at p sees keys
// (p - window, p], a key at j is seen by queries [j, j + window)), its segment. The forward and dq kernels, which
// keep their queries' slots, test a key's position against a query's range, the dk, dv kernel (keys kept) the
// reverse: two int compares a pair (a separate window test made the kernels held to 128 registers spill). Positions
// fit in int (S is a Java int).
struct Slot {
    int ok;
    int pos;
    int lo;
    int hi;
    int seg;
};

__device__ __forceinline__ Slot query_slot(const Dims& d, int causal, int window, const int* segments, long long b,
                                           long long i) {
    Slot s;
    s.ok = i < d.T;
    s.pos = (int) (d.S - d.T + i);
    s.lo = window ? s.pos - window + 1 : 0;
    s.hi = causal ? s.pos : (int) d.S;
    s.seg = s.ok && segments ? segments[b * d.S + s.pos] : 0;
    return s;
}

__device__ __forceinline__ Slot key_slot(const Dims& d, int causal, int window, const unsigned char* keyValid,
                                         const int* segments, long long b, long long j) {
    Slot s;
    s.ok = j < d.S && (!keyValid || keyValid[b * d.S + j]);
    s.pos = (int) j;
    s.lo = causal ? s.pos : 0;
    s.hi = window ? (int) min(j + window - 1, d.S) : (int) d.S;  // a window past S hides nothing
    s.seg = s.ok && segments ? segments[b * d.S + j] : 0;
    return s;
}

// Whether a query and a key may meet, from the range of `kept` (the side a kernel holds in registers) and the
// position of `other`.
__device__ __forceinline__ bool meet(const Slot& kept, const Slot& other) {
    return kept.ok && other.ok && kept.lo <= other.pos && other.pos <= kept.hi && kept.seg == other.seg;
}

// A thread's scores from their products q.k, in place: scale q.k, soft-capped to softCap tanh(scale q.k / softCap)
// when softCap > 0; the mask comes after. NOTE: a pass of its own, right after the q k^T product: inside the loops
// that read dp as well, tanhf's temporaries made the f32 dq kernel spill registers on sm_90.
template <int R, int C>
__device__ __forceinline__ void cap_scores(float (&s)[R][C], float scale, float softCap) {
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
        for (int c = 0; c < C; ++c) {
            s[r][c] = softCap > 0.0f ? softCap * tanhf(s[r][c] * scale / softCap) : s[r][c] * scale;
        }
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

// Keys a query tile [q0, q0 + n) may see at all: with a causal mask none past its last query's position.
__device__ __forceinline__ long long visible_keys(const Dims& d, int causal, long long q0, int n) {
    long long last = d.S - d.T + q0 + n;
    return causal && last < d.S ? last : d.S;
}

// The first key tile of `tile` keys (a multiple of tile) a query tile starting at q0 may see: with a sliding window
// none that ends at or before its first query's position minus the window, so the kernels skip those tiles and do
// O(T window) work instead of O(T S).
__device__ __forceinline__ long long first_key_tile(const Dims& d, int window, long long q0, int tile) {
    long long first = window ? d.S - d.T + q0 - window + 1 : 0;  // keys before it: hidden from every query of the tile
    return first > 0 ? first / tile * tile : 0;
}

// One past the last query that may see keys [k0, k0 + n) at all: with a sliding window none at or past the last
// key's position plus the window (so the dk, dv kernels skip the later query tiles); T without a window.
__device__ __forceinline__ long long visible_queries(const Dims& d, int window, long long k0, int n) {
    long long end = window ? k0 + n - 1 + window - (d.S - d.T) : d.T;
    return min(end, d.T);
}

// The tile of queries of block `block`, for kernels with one block per tile of `rows` queries of one head: bh =
// batch * H + head and the first query q0 (the tiles with the most causal work start first), the batch b, the
// tile's rows (fewer in the last one), and where the K and V rows of the head's kv head start (grouped-query: query
// head h reads kv head h / (H / Hkv)). Offsets, not pointers: KernelSignatures reads every struct of a family as a
// possible argument.
struct QueryTile {
    long long bh, q0, b, kStart, vStart;
    int rows;
};

__device__ __forceinline__ QueryTile query_tile(const Dims& d, int rows, long long block) {
    QueryTile t;
    long long tiles = (d.T + rows - 1) / rows;
    t.bh = block / tiles;
    t.q0 = (tiles - 1 - block % tiles) * rows;
    t.b = t.bh / d.H;
    long long kvHead = t.bh % d.H / (d.H / d.Hkv);
    t.kStart = t.b * d.kBatch + kvHead * d.kHead;
    t.vStart = t.b * d.vBatch + kvHead * d.vHead;
    t.rows = (int) min((long long) rows, d.T - t.q0);
    return t;
}

// A head's sink (gpt-oss; sinks null: none) as one more logit in a query's softmax denominator, with no value: folds
// it into the running max m and sum l, and returns the factor the accumulated p v keeps (0 when no key was seen).
__device__ __forceinline__ float fold_sink(const float* sinks, long long bh, long long heads, float* m, float* l) {
    if (sinks == nullptr) return 1.0f;
    float sink = sinks[bh % heads];
    float mNew = fmaxf(*m, sink);
    float keep = *m == -F_INF ? 0.0f : expf(*m - mNew);
    *l = *l * keep + expf(sink - mNew);
    *m = mNew;
    return keep;
}

// The probability p and the gradient of the product q.k, ds = p (dp - delta) scale cap', of one (query, key) pair
// from its score (cap_scores) and whether the mask lets them meet, 0 where not; cap' = 1 - tanh^2 with a soft cap
// (tanh = score / softCap; the fast division, within 2 ulp, keeps the backward kernels from spilling), else 1.
__device__ __forceinline__ float score_grad(bool met, float score, float dp, float lseRow, float deltaRow,
                                            float scale, float softCap, float* p) {
    bool on = met && lseRow != -F_INF;
    float th = softCap > 0.0f ? __fdividef(score, softCap) : 0.0f;
    *p = on ? expf(score - lseRow) : 0.0f;
    return on ? *p * (dp - deltaRow) * scale * (1.0f - th * th) : 0.0f;
}
