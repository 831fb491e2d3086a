// Runs the attention kernels (attention.cu and attention_bf16.cu) under cuda_emulation.h on one random problem and
// compares every output with attention computed from its definition in double precision. Arguments: B H Hkv T S D
// causal masks spareKeys bf16 window softCap, where masks is 0 (none), 1 (padding keys, three packed segments, and
// query 0 of row 0 seeing no key) or 2 (as 1, and no key at all in row 1); k and v are the first S positions of
// buffers of S + spareKeys; window is the sliding window (0: none) and softCap the scores' soft cap (0: none). With
// bf16 = 0 the f32 kernels run, forward and backward, and must agree within 1e-5; with bf16 = 1 q, k, v and dOut are
// rounded to bf16 (the definition takes the rounded values) and the tensor-core kernels run, whose probabilities and
// score gradients enter their second products as bf16: all must agree within 1e-2. Exit status 0 when all agree.
#include "cuda_emulation.h"
#include "common.cuh"
#include "philox.cuh"
#include "attention.cuh"
// The families as the emulation compiles them, written next to this file by CudaAttentionEmulationTest.
#include "attention_emulated.cu"
#include "attention_bf16_emulated.cu"

namespace {
double compare(const char* name, const std::vector<float>& got, const std::vector<double>& want) {
    double scale = 1e-6, worst = 0;
    for (double w : want) {
        if (std::isfinite(w)) scale = std::max(scale, std::fabs(w));
    }
    for (size_t i = 0; i < got.size(); ++i) {
        double e = got[i] == want[i] ? 0 : std::fabs(got[i] - want[i]);
        if (!(e <= worst)) worst = std::isnan(e) ? INFINITY : e;
    }
    std::printf("  %-5s relative error %.2e\n", name, worst / scale);
    return worst / scale;
}

// bits[i] = x[i] rounded to bf16, and x[i] = that bf16 value, so the definition sees what the kernel reads.
void round_to_bf16(std::vector<float>& x, std::vector<unsigned short>& bits) {
    for (size_t i = 0; i < x.size(); ++i) {
        bits[i] = float_to_bf16(x[i]);
        x[i] = bf16_to_float(bits[i]);
    }
}

// The View of a contiguous (B, H, T, D) tensor, as the backend packs it.
View rows_view(const Dims& d) {
    View v{};
    v.rank = 4;
    long long shape[4] = {d.B, d.H, d.T, d.D}, stride = 1;
    for (int i = 3; i >= 0; --i) {
        v.shape[i] = shape[i];
        v.strides[i] = stride;
        stride *= shape[i];
    }
    return v;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 13) {
        std::fprintf(stderr, "usage: attention_check B H Hkv T S D causal masks spareKeys bf16 window softCap\n");
        return 2;
    }
    int a[11];
    for (int i = 0; i < 11; ++i) a[i] = std::atoi(argv[i + 1]);
    const bool bf16 = a[9] != 0;
    const int window = a[10];
    const float softCap = (float) std::atof(argv[12]);
    const int B = a[0], H = a[1], Hkv = a[2], T = a[3], S = a[4], D = a[5], causal = a[6], masks = a[7];
    const int Sb = S + a[8];
    std::mt19937 rng(42);
    std::normal_distribution<float> normal;
    auto randn = [&](size_t n) {
        std::vector<float> v(n);
        for (float& x : v) x = normal(rng);
        return v;
    };
    std::vector<float> q = randn((size_t) B * H * T * D), k = randn((size_t) B * Hkv * Sb * D);
    std::vector<float> v = randn(k.size()), dOut = randn(q.size());
    std::vector<unsigned short> q16(q.size()), k16(k.size()), v16(v.size()), dOut16(dOut.size());
    if (bf16) {
        round_to_bf16(q, q16);
        round_to_bf16(k, k16);
        round_to_bf16(v, v16);
        round_to_bf16(dOut, dOut16);
    }
    std::vector<unsigned char> valid((size_t) B * S, 1);
    std::vector<int> seg((size_t) B * S, 0);
    for (int b = 0; masks && b < B; ++b) {
        for (int j = 0; j < S; ++j) {
            valid[b * S + j] = j % 7 != 3 && !(b == 1 && (j >= S - 9 || masks == 2));
            seg[b * S + j] = j < S / 3 ? 1 : j < S / 2 ? 2 : 3;
        }
        if (b == 0) {  // query 0 (position S - T): its own key is padding and its segment has no other key
            valid[S - T] = 0;
            seg[S - T] = 99;
        }
    }
    const unsigned char* validArg = masks ? valid.data() : nullptr;
    const int* segArg = masks ? seg.data() : nullptr;
    const float scale = 1.0f / std::sqrt((float) D);
    const long long head = (long long) Sb * D;
    Dims d{B, H, Hkv, T, S, D, Hkv * head, head, Hkv * head, head};
    // Outputs start at 7 so that an element no kernel writes is an error.
    std::vector<float> out(q.size(), 7), lse((size_t) B * H * T, 7), delta(lse.size(), 7), dq(q.size(), 7);
    std::vector<float> dk((size_t) B * Hkv * S * D, 7), dv(dk.size(), 7);
    // delta reads the f32 out and dOut on both paths
    const View rows = rows_view(d);
    const OutLayout outLayout{(long long) H * T * D, (long long) T * D, D};  // out contiguous, f32
    auto deltaPass = [&] { attention_delta(out.data(), DT_F32, rows, dOut.data(), DT_F32, rows, d, delta.data()); };
    if (bf16) {
        const long long queryTiles = (T + ATT_TC_ROWS - 1) / ATT_TC_ROWS;
        const long long keyTiles = (S + ATT_TC_ROWS - 1) / ATT_TC_ROWS;
        // As CudaAttention chooses: the *_d64 variants up to D = 64, the forward's *_d256 past 128, and past 128
        // one slice of the dq and dk, dv grids per 128 output columns.
        const bool small = D <= 8 * ATT_TC_OUT_TILES_D64, wide = D > 8 * ATT_TC_OUT_TILES;
        const long long slices = (D + 8 * ATT_TC_OUT_TILES - 1) / (8 * ATT_TC_OUT_TILES);
        auto forward = small ? attention_forward_bf16_d64 : wide ? attention_forward_bf16_d256 : attention_forward_bf16;
        auto backwardKv = small ? attention_backward_kv_bf16_d64 : attention_backward_kv_bf16;
        launch(B * H * queryTiles, [&] {
            forward(q16.data(), k16.data(), v16.data(), d, scale, softCap, causal, window, validArg, segArg,
                    out.data(), DT_F32, outLayout, lse.data(), nullptr);
        });
        launch((B * H * T + 7) / 8, deltaPass);
        launch((small ? 1 : slices) * B * Hkv * keyTiles, [&] {
            backwardKv(q16.data(), k16.data(), v16.data(), d, scale, softCap, causal, window, validArg, segArg,
                       lse.data(), delta.data(), dOut16.data(), dk.data(), dv.data());
        });
        launch(slices * B * H * queryTiles, [&] {
            attention_backward_q_bf16(q16.data(), k16.data(), v16.data(), d, scale, softCap, causal, window,
                                      validArg, segArg, lse.data(), delta.data(), dOut16.data(), dq.data());
        });
    } else {
        // As CudaAttention chooses: 64-row tiles up to D = 128, the *_d256 variants' 32-row tiles past it.
        const bool wide = D > ATT_SPLIT * ATT_DCOLS;
        const int rows = ATT_SPLIT * (wide ? ATT_PER_D256 : ATT_PER);
        const long long queryTiles = (T + rows - 1) / rows, keyTiles = (S + rows - 1) / rows;
        auto forward = wide ? attention_forward_d256 : attention_forward;
        auto backwardKv = wide ? attention_backward_kv_d256 : attention_backward_kv;
        auto backwardQ = wide ? attention_backward_q_d256 : attention_backward_q;
        launch(B * H * queryTiles, [&] {
            forward(q.data(), k.data(), v.data(), d, scale, softCap, causal, window, validArg, segArg, out.data(),
                    DT_F32, outLayout, lse.data(), nullptr);
        });
        launch((B * H * T + 7) / 8, deltaPass);
        launch(B * Hkv * keyTiles, [&] {
            backwardKv(q.data(), k.data(), v.data(), d, scale, softCap, causal, window, validArg, segArg, lse.data(),
                       delta.data(), dOut.data(), dk.data(), dv.data());
        });
        launch(B * H * queryTiles, [&] {
            backwardQ(q.data(), k.data(), v.data(), d, scale, softCap, causal, window, validArg, segArg, lse.data(),
                      delta.data(), dOut.data(), dq.data());
        });
    }

    std::vector<double> wOut(out.size()), wLse(lse.size()), wDq(dq.size()), wDk(dk.size()), wDv(dv.size());
    const int group = H / Hkv, past = S - T;
    int blind = 0;
    for (int b = 0; b < B; ++b) {
        for (int h = 0; h < H; ++h) {
            const long long kvBase = ((long long) b * Hkv + h / group) * Sb * D;
            const long long gradBase = ((long long) b * Hkv + h / group) * S * D;
            for (int i = 0; i < T; ++i) {
                const long long row = ((long long) b * H + h) * T + i, qo = row * D;
                const int pos = past + i;
                std::vector<double> s(S, -INFINITY), p(S, 0.0), dp(S, 0.0);
                double mx = -INFINITY;
                for (int j = 0; j < S; ++j) {
                    bool seen = (!causal || j <= pos) && (!window || pos - j < window) && (!masks || valid[b * S + j])
                            && (!masks || seg[b * S + j] == seg[b * S + pos]);
                    if (!seen) continue;
                    double dot = 0;
                    for (int c = 0; c < D; ++c) dot += (double) q[qo + c] * k[kvBase + (long long) j * D + c];
                    s[j] = softCap > 0 ? softCap * std::tanh(dot * scale / softCap) : dot * scale;
                    mx = std::max(mx, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < S; ++j) sum += s[j] > -INFINITY ? std::exp(s[j] - mx) : 0.0;
                wLse[row] = sum > 0 ? mx + std::log(sum) : -INFINITY;
                if (sum == 0) {
                    ++blind;
                    continue;
                }
                double rowDelta = 0;
                for (int j = 0; j < S; ++j) {
                    p[j] = s[j] > -INFINITY ? std::exp(s[j] - mx) / sum : 0.0;
                    for (int c = 0; c < D; ++c) dp[j] += (double) dOut[qo + c] * v[kvBase + (long long) j * D + c];
                    rowDelta += p[j] * dp[j];
                }
                for (int j = 0; j < S; ++j) {
                    if (s[j] == -INFINITY) continue;  // p = 0
                    double slope = softCap > 0 ? 1 - std::pow(s[j] / softCap, 2) : 1;  // s = softCap tanh(.)
                    double ds = p[j] * (dp[j] - rowDelta) * scale * slope;
                    for (int c = 0; c < D; ++c) {
                        wOut[qo + c] += p[j] * v[kvBase + (long long) j * D + c];
                        wDq[qo + c] += ds * k[kvBase + (long long) j * D + c];
                        wDk[gradBase + (long long) j * D + c] += ds * q[qo + c];
                        wDv[gradBase + (long long) j * D + c] += p[j] * dOut[qo + c];
                    }
                }
            }
        }
    }
    std::printf("B %d, H %d, Hkv %d, T %d, S %d, D %d, causal %d, masks %d, spare keys %d, window %d, soft cap %g, %s"
                " (%d queries see no key)\n", B, H, Hkv, T, S, D, causal, masks, a[8], window, softCap,
                bf16 ? "bf16 on tensor cores" : "f32", blind);
    double worst = std::max({compare("out", out, wOut), compare("lse", lse, wLse), compare("dq", dq, wDq),
                             compare("dk", dk, wDk), compare("dv", dv, wDv)});
    return worst <= (bf16 ? 1e-2 : 1e-5) ? 0 : 1;
}
