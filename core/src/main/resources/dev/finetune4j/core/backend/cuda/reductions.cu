// ReductionKernels: sums onto a broadcast shape, the sum of everything, the L2 norm, and dot products over one
// dimension of a matrix.
#include "common.cuh"

// out[o] = sum of the x elements broadcasting maps onto o. One thread per output element sums its elements in
// row-major order of x in float32, the CPU's order. outShape has x's rank, each dimension x's or 1.
extern "C" __global__ void sum_to(const void* x, int xType, View xv, View outShape, float* out, long long outCount,
                                  long long perOut) {
    FOR_EACH(o, outCount) {
        float acc = 0.0f;
        for (long long r = 0; r < perOut; ++r) {
            long long at = xv.offset, oi = o, ri = r;
            for (int d = (int) xv.rank - 1; d >= 0; --d) {
                long long coord;
                if (outShape.shape[d] == 1 && xv.shape[d] != 1) {
                    coord = ri % xv.shape[d];
                    ri /= xv.shape[d];
                } else {
                    coord = oi % outShape.shape[d];
                }
                oi /= outShape.shape[d];
                at += coord * xv.strides[d];
            }
            acc += load_f(x, xType, at);
        }
        out[o] = acc;
    }
}

// partials[block] = sum over this block's share of x of x (square = 0) or x * x (square = 1), in double.
extern "C" __global__ void sum_partials(const void* x, int xType, View xv, long long n, int square,
                                        double* partials) {
    double acc = 0.0;
    FOR_EACH(i, n) {
        double v = load_f(x, xType, view_at(xv, i));
        acc += square ? v * v : v;
    }
    acc = block_sum_d(acc);
    if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

// out[k] = the L2 norm of contiguous F32 tensor k (summed in double, rounded once to float32), one block per tensor:
// table holds, per tensor, its address and its number of elements. For many small tensors (an adapter's), in one
// launch instead of two per tensor.
extern "C" __global__ void norms(const long long* table, float* out) {
    const float* x = (const float*) table[2 * blockIdx.x];
    long long n = table[2 * blockIdx.x + 1];
    double acc = 0.0;
    for (long long i = threadIdx.x; i < n; i += blockDim.x) acc += (double) x[i] * x[i];
    acc = block_sum_d(acc);
    if (threadIdx.x == 0) out[blockIdx.x] = (float) sqrt(acc);
}

// out[0] = sum of the partials, or its square root (the L2 norm), rounded once to float32. One block.
extern "C" __global__ void sum_finish(const double* partials, int count, int root, float* out) {
    double acc = 0.0;
    for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partials[i];
    acc = block_sum_d(acc);
    if (threadIdx.x == 0) out[0] = (float) (root ? sqrt(acc) : acc);
}

// The dot products of x and y, (rows, cols) views of floating dtypes at element offset, row and column strides,
// over one dimension: each product rounded to float32, the sums in double, rounded once. With y null, the sums of x
// (ReductionKernels.sumTo over leading or trailing dimensions).

// out[r] = sum over c of x[r][c] y[r][c]: one warp per row, its lanes across the columns. Grid: ceil(rows / warps).
extern "C" __global__ void row_dots(const void* x, int xType, long long xOffset, long long xRow, long long xCol,
                                    const void* y, int yType, long long yOffset, long long yRow, long long yCol,
                                    long long rows, long long cols, float* out) {
    long long r = (long long) blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (r >= rows) return;  // the whole warp leaves together; no barrier follows
    double acc = 0.0;
    for (long long c = lane; c < cols; c += 32) {
        acc += (double) (load_f(x, xType, xOffset + r * xRow + c * xCol)
                         * (y ? load_f(y, yType, yOffset + r * yRow + c * yCol) : 1.0f));
    }
    for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
    if (lane == 0) out[r] = (float) acc;
}

// out[c] = sum over r of x[r][c] y[r][c]: a block takes 32 columns (a warp's lanes) and shares the rows among its
// warps, whose partial sums are added in warp order. Grid: ceil(cols / 32).
extern "C" __global__ void column_dots(const void* x, int xType, long long xOffset, long long xRow, long long xCol,
                                       const void* y, int yType, long long yOffset, long long yRow, long long yCol,
                                       long long rows, long long cols, float* out) {
    __shared__ double partial[32][32];
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    long long c = (long long) blockIdx.x * 32 + lane;
    double acc = 0.0;
    for (long long r = warp; c < cols && r < rows; r += warps) {
        acc += (double) (load_f(x, xType, xOffset + r * xRow + c * xCol)
                         * (y ? load_f(y, yType, yOffset + r * yRow + c * yCol) : 1.0f));
    }
    partial[warp][lane] = acc;
    __syncthreads();
    if (warp == 0 && c < cols) {
        double sum = 0.0;
        for (int w = 0; w < warps; ++w) sum += partial[w][lane];
        out[c] = (float) sum;
    }
}

// out[r] = the column of row r's largest value, the first of equal ones, as a scan from column 0 that moves on only
// to larger values finds it: NaN never wins, and a row that starts with NaN gives 0 (the scan keeps its first
// element). x is a (rows, cols) view of a floating dtype; one block per row, its threads across the columns, then
// the warps' and the block's best pairs. Greedy decoding: the next tokens without the logits leaving the device.
extern "C" __global__ void row_argmax(const void* x, int xType, long long xOffset, long long xRow, long long xCol,
                                      long long cols, long long* out) {
    __shared__ float warpValue[32];
    __shared__ long long warpIndex[32];
    long long r = blockIdx.x;
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    float best = 0.0f;
    long long at = -1;  // none yet
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) {
        float v = load_f(x, xType, xOffset + r * xRow + c * xCol);
        if (v == v && (at < 0 || v > best)) { best = v; at = c; }
    }
    for (int pass = 0; pass < 2; ++pass) {
        for (int o = 16; o > 0; o >>= 1) {
            float otherValue = __shfl_xor_sync(0xffffffffu, best, o);
            long long otherAt = __shfl_xor_sync(0xffffffffu, at, o);
            if (otherAt >= 0 && (at < 0 || otherValue > best || (otherValue == best && otherAt < at))) {
                best = otherValue;
                at = otherAt;
            }
        }
        if (pass == 1) break;
        if (lane == 0) { warpValue[warp] = best; warpIndex[warp] = at; }
        __syncthreads();
        if (warp != 0) return;  // no barrier follows
        best = lane < warps ? warpValue[lane] : 0.0f;
        at = lane < warps ? warpIndex[lane] : -1;
    }
    if (threadIdx.x == 0) {
        float first = load_f(x, xType, xOffset + r * xRow);
        out[r] = first != first || at < 0 ? 0 : at;
    }
}
