// Shared by the attention families (attention.cu on CUDA cores, attention_bf16.cu on tensor cores): the problem's
// dimensions, the mask, the output layout and the tiling of queries over blocks.
// q, dOut, dq: (B, H, T, D) contiguous; dk, dv: (B, Hkv, S, D) contiguous; lse, delta: (B, H, T). The forward's out:
// (B, H, T, D) rows of D contiguous values with any batch, head and row strides (OutLayout), F32 or BF16 (the
// token-major bf16 output the attention op keeps under BF16_MIXED, written without a float32 copy).
// k, v: (B, Hkv, S, D) with rows of D contiguous values and any batch and head strides (a KV cache's filled part).
// Grouped-query attention: query head h reads kv head h / (H / Hkv); K and V are never repeated.
// Mask: query i sits at key position S - T + i; keyValid (B, S) bytes and segments (B, S) ints may be null.
// Included after common.cuh.
#pragma once

#define ATT_THREADS 256
#define ATT_TILE 64
#define ATT_MAX_D 128

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

// The probability p and score gradient ds = scale p (dp - delta) of one (query, key) pair, 0 where masked.
__device__ __forceinline__ float score_grad(int causal, const Slot& query, const Slot& key, float score, float dp,
                                            float lseRow, float deltaRow, float scale, float* p) {
    bool on = allowed(causal, query, key) && lseRow != -F_INF;
    *p = on ? expf(score * scale - lseRow) : 0.0f;
    return on ? *p * (dp - deltaRow) * scale : 0.0f;
}
