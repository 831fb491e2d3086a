// RotaryKernels: rotate-half rotary embedding. x, y: (B, H, T, D) contiguous F32; cos, sin: (B, T, D/2) with each
// batch row's (T, D/2) contiguous, batch rows table_stride apart (0 when every row reads the same positions, as a
// view of the model's table of consecutive positions does).
#include "common.cuh"

// y1 = x1 cos - x2 sin, y2 = x2 cos + x1 sin (sign = 1), or the inverse rotation (sign = -1) for the backward.
extern "C" __global__ void rotate(const float* x, const float* cos, const float* sin, long long table_stride,
                                  float sign, float* y, long long B, long long H, long long T, long long D) {
    long long half = D / 2;
    FOR_EACH(k, B * H * T * half) {
        long long i = k % half, t = (k / half) % T, b = k / (half * T * H);
        long long row = (k / half) * D;
        long long at = b * table_stride + t * half + i;
        float c = cos[at], s = sign * sin[at];
        float x1 = x[row + i], x2 = x[row + i + half];
        y[row + i] = x1 * c - x2 * s;
        y[row + i + half] = x2 * c + x1 * s;
    }
}
