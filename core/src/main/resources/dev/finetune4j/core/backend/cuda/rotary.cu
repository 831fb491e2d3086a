// RotaryKernels: rotary embedding over either RotaryLayout. x: a (B, H, T, D) view in any floating dtype (the transposed q or k
// of a layer, read where it is); y: a (B, H, T, D) view in F32 or BF16 (yType), rounded once (the backward writes the
// gradient in the projection's token-major order); cos, sin: (B, T, half)
// F32 with each batch row's (T, half) contiguous, batch rows table_stride apart (0 when every row reads the same
// positions, as a view of the model's table of consecutive positions does).
#include "common.cuh"

// y1 = x1 cos - x2 sin, y2 = x2 cos + x1 sin (sign = 1), or the inverse rotation (sign = -1) for the backward, over
// the pairs (i, i + half) with i < half, or (2i, 2i + 1) when interleaved; a partial rotary embedding (2 * half < D)
// copies dimensions 2 * half to D.
extern "C" __global__ void rotate(const void* x, int xType, View xv, const float* cos, const float* sin,
                                  long long table_stride, float sign, void* y, int yType, View yv, long long B,
                                  long long H, long long T, long long D, long long half, int interleaved) {
    long long per_row = D - half; // half rotated pairs, then the D - 2 * half copied dimensions
    FOR_EACH(k, B * H * T * per_row) {
        long long i = k % per_row, r = k / per_row, t = r % T, b = r / (T * H);
        long long row = r * D;
        if (i >= half) {
            long long at = row + half + i; // dimension 2 * half + (i - half)
            store_f(y, yType, view_at(yv, at), load_f(x, xType, view_at(xv, at)));
            continue;
        }
        long long at = b * table_stride + t * half + i;
        float c = cos[at], s = sign * sin[at];
        long long first = row + (interleaved ? 2 * i : i), second = first + (interleaved ? 1 : half);
        float x1 = load_f(x, xType, view_at(xv, first)), x2 = load_f(x, xType, view_at(xv, second));
        store_f(y, yType, view_at(yv, first), x1 * c - x2 * s);
        store_f(y, yType, view_at(yv, second), x2 * c + x1 * s);
    }
}
