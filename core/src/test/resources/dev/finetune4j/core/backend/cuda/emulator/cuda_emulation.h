// Runs CUDA kernel sources on the CPU, for checking kernel logic where no GPU is present: the threads of one block
// are fibers (ucontext) on one OS thread, switched only at barriers, in a fresh random order every phase, so that a
// missing barrier shows up as a read of stale or NaN-poisoned shared memory, and a barrier that not every thread
// reaches stops the run with a message. Covers what the kernel families use: threadIdx.x, blockIdx.x, blockDim.x,
// gridDim.x (one-dimensional launches), __syncthreads, __syncwarp, __shfl_xor_sync of 4- and 8-byte values, the
// tensor cores' bf16 mma.m16n8k16 (emu_mma_m16n8k16_bf16), static __shared__ arrays (function statics: one block
// runs at a time), dynamic shared memory (a kernel's extern __shared__ line is replaced by a pointer to g_shared
// before compiling), __constant__ data, atomicAdd, the bit casts, rounding intrinsics and __fdividef, and
// common.cuh's half conversions (FINETUNE4J_EMULATION selects plain C++ ones).
#pragma once
// Fibers switch with _setjmp/_longjmp (no signal-mask system call per switch, unlike swapcontext); the fortified
// longjmp refuses to jump to another stack, so fortification is off for this translation unit.
#undef _FORTIFY_SOURCE
#include <setjmp.h>
#include <ucontext.h>
#include <algorithm>
#include <math.h>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#define FINETUNE4J_EMULATION 1

using std::max;
using std::min;

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
// Static __shared__ arrays are function statics in a section of their own, NaN-poisoned before each block as the
// dynamic shared memory is (the linker brackets the section with __start_/__stop_ symbols).
#define __shared__ static __attribute__((section("emu_static_shared")))
extern "C" char __start_emu_static_shared[] __attribute__((weak, visibility("hidden")));
extern "C" char __stop_emu_static_shared[] __attribute__((weak, visibility("hidden")));
#define __constant__

struct EmuIndex {
    unsigned x, y, z;
};

namespace emu {
constexpr int kMaxThreads = 1024;
constexpr int kWarp = 32;
constexpr size_t kStack = 64 * 1024;
constexpr size_t kSharedFloats = 64 * 1024;

enum Wait { RUNNING, AT_BLOCK_BARRIER, AT_WARP_BARRIER, DONE };

struct Fiber {
    ucontext_t context;  // the first entry only
    jmp_buf resume;
    bool started = false;  // in this block
    bool parked = false;   // finished an earlier block in entry's loop, resumable there for the next one
    char* stack = nullptr;  // malloc'd, not touched: only the pages a kernel's frames reach become resident
    Wait wait = RUNNING;
};

inline ucontext_t scheduler;
inline jmp_buf scheduler_resume;
inline Fiber fibers[kMaxThreads];
inline int threads = 256;
inline int current = 0;
alignas(8) inline unsigned char shuffle[kMaxThreads][8];
inline const std::function<void()>* body = nullptr;
inline std::mt19937 order_rng(1);
alignas(16) inline float g_shared[kSharedFloats];

inline void yield(Wait why) {
    fibers[current].wait = why;
    if (_setjmp(fibers[current].resume) == 0) _longjmp(scheduler_resume, 1);
}

// A fiber runs block after block here: after the first, the scheduler resumes it at its DONE instead of starting it
// afresh through swapcontext, whose signal-mask system call per fiber and block was most of a small block's time.
inline void entry() {
    for (;;) {
        (*body)();
        fibers[current].parked = true;
        yield(DONE);
    }
}

// Runs one block of `threads` fibers to completion; returns nullptr, or why the block cannot finish.
inline const char* run_block(const std::function<void()>& kernel) {
    body = &kernel;
    for (int t = 0; t < threads; ++t) {
        Fiber& f = fibers[t];
        if (f.stack == nullptr) {  // swapping to this context (never written after) starts entry on a fresh stack
            f.stack = static_cast<char*>(std::malloc(kStack));
            getcontext(&f.context);
            f.context.uc_stack.ss_sp = f.stack;
            f.context.uc_stack.ss_size = kStack;
            f.context.uc_link = nullptr;
            makecontext(&f.context, entry, 0);
        }
        f.started = false;
        f.wait = RUNNING;
    }
    std::vector<int> order(threads);
    for (int t = 0; t < threads; ++t) order[t] = t;
    for (;;) {
        std::shuffle(order.begin(), order.end(), order_rng);
        for (int t : order) {
            if (fibers[t].wait == RUNNING) {
                current = t;
                if (_setjmp(scheduler_resume) == 0) {
                    if (fibers[t].started || fibers[t].parked) {
                        fibers[t].started = true;
                        fibers[t].parked = false;
                        _longjmp(fibers[t].resume, 1);
                    }
                    fibers[t].started = true;
                    swapcontext(&scheduler, &fibers[t].context);
                }
            }
        }
        // Every fiber now waits or is done: release whole warps at a warp barrier, then the block at a barrier.
        bool released = false;
        for (int w = 0; w < threads / kWarp; ++w) {
            bool all = true;
            for (int l = 0; l < kWarp; ++l) all &= fibers[w * kWarp + l].wait == AT_WARP_BARRIER;
            if (all) {
                for (int l = 0; l < kWarp; ++l) fibers[w * kWarp + l].wait = RUNNING;
                released = true;
            }
        }
        if (released) continue;
        int atBlock = 0, done = 0;
        for (int t = 0; t < threads; ++t) {
            atBlock += fibers[t].wait == AT_BLOCK_BARRIER;
            done += fibers[t].wait == DONE;
        }
        if (done == threads) return nullptr;
        if (atBlock == threads) {
            for (int t = 0; t < threads; ++t) fibers[t].wait = RUNNING;
            continue;
        }
        static char why[200];
        std::snprintf(why, sizeof why, "deadlock: %d threads at __syncthreads, %d done, the rest at __syncwarp of a"
                      " warp that does not all arrive", atBlock, done);
        for (int t = 0; t < threads; ++t) fibers[t].parked = false;  // the next block starts them all afresh
        return why;
    }
}
}  // namespace emu

struct EmuThreadIndex {
    operator unsigned() const { return (unsigned) emu::current; }
};
struct EmuThreadIdx {
    EmuThreadIndex x;
};
inline EmuThreadIdx threadIdx;
inline EmuIndex blockIdx{0, 0, 0};
inline EmuIndex blockDim{256, 1, 1};
inline EmuIndex gridDim{1, 1, 1};
constexpr int warpSize = emu::kWarp;

inline void __syncthreads() { emu::yield(emu::AT_BLOCK_BARRIER); }
inline void __syncwarp() { emu::yield(emu::AT_WARP_BARRIER); }

template <typename T>
inline T __shfl_xor_sync(unsigned, T v, int lane_mask) {
    static_assert(sizeof(T) <= 8, "a shuffle moves at most 8 bytes");
    std::memcpy(emu::shuffle[emu::current], &v, sizeof(T));
    __syncwarp();
    int base = emu::current / emu::kWarp * emu::kWarp;
    T r;
    std::memcpy(&r, emu::shuffle[base + ((emu::current % emu::kWarp) ^ lane_mask)], sizeof(T));
    __syncwarp();
    return r;
}

// Fibers switch only at barriers, so a read-modify-write is atomic here as it is on the device.
template <typename T>
inline T atomicAdd(T* address, T v) {
    T old = *address;
    *address = old + v;
    return old;
}

inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned) (((unsigned long long) a * b) >> 32); }
// Single roundings, never contracted into a fused multiply-add (the build does not pass -ffp-contract=fast).
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
// The GPU's fast division is within 2 ulp of the quotient for divisors of normal size; the emulation divides exactly.
inline float __fdividef(float a, float b) { return a / b; }
// IEEE binary16 conversions, rounding to nearest even like PTX's cvt.rn.f16.f32 (GCC's _Float16 on x86-64).
inline float emu_half_to_float(unsigned short h) { _Float16 v; std::memcpy(&v, &h, 2); return (float) v; }
inline unsigned short emu_float_to_half(float f) {
    _Float16 v = (_Float16) f;
    unsigned short h;
    std::memcpy(&h, &v, 2);
    return h;
}

namespace emu {
// One lane's operands of a warp-wide matrix product, posted for the other lanes of its warp.
struct MmaOperands {
    unsigned a[4];
    unsigned b[2];
};
inline MmaOperands mma_operands[kMaxThreads];

inline float bf16_bits(unsigned short b) { return __uint_as_float((unsigned) b << 16); }
}  // namespace emu

// PTX's mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (c += a b, A 16 x 16, B 16 x 8, f32 C), executed by the
// 32 lanes of a warp together as on the device: every lane posts its A and B registers, the warp meets, each lane
// unpacks the rows of A and columns of B it needs from the PTX ISA's fragment layout and computes its own four
// elements of C, and the warp meets again before the posts are overwritten. For lane = 4 g + t, with two bf16 a
// register (low half first):
// a[0] = A[g][2t, 2t+1], a[1] = A[g+8][2t, 2t+1], a[2] = A[g][2t+8, 2t+9], a[3] = A[g+8][2t+8, 2t+9];
// b[0] = B[2t, 2t+1][g], b[1] = B[2t+8, 2t+9][g]; c[0], c[1] = C[g][2t, 2t+1], c[2], c[3] = C[g+8][2t, 2t+1].
// The bf16 products are exact in f32; they are added in k order in f32 (the hardware's order of additions is not
// specified, so results may differ from it in the last bits).
inline void emu_mma_m16n8k16_bf16(float c[4], const unsigned a[4], const unsigned b[2]) {
    using emu::bf16_bits;
    emu::MmaOperands& mine = emu::mma_operands[emu::current];
    std::memcpy(mine.a, a, sizeof mine.a);
    std::memcpy(mine.b, b, sizeof mine.b);
    __syncwarp();
    const int base = emu::current / emu::kWarp * emu::kWarp;
    const int g = emu::current % emu::kWarp / 4, t = emu::current % 4;
    // Only this lane's rows g and g + 8 of A (posted by lanes 4g .. 4g + 3) and columns 2t and 2t + 1 of B (posted by
    // lanes 8t .. 8t + 3 and 8t + 4 .. 8t + 7) are unpacked: a lane's share of the warp's product.
    float rows[2][16], cols[2][16];
    for (int q = 0; q < 4; ++q) {
        const emu::MmaOperands& o = emu::mma_operands[base + 4 * g + q];
        for (int half = 0; half < 2; ++half) {  // the register's low and high bf16
            const int shift = 16 * half;
            rows[0][2 * q + half] = bf16_bits((unsigned short) (o.a[0] >> shift));
            rows[1][2 * q + half] = bf16_bits((unsigned short) (o.a[1] >> shift));
            rows[0][2 * q + 8 + half] = bf16_bits((unsigned short) (o.a[2] >> shift));
            rows[1][2 * q + 8 + half] = bf16_bits((unsigned short) (o.a[3] >> shift));
            for (int j = 0; j < 2; ++j) {
                const emu::MmaOperands& p = emu::mma_operands[base + 4 * (2 * t + j) + q];
                cols[j][2 * q + half] = bf16_bits((unsigned short) (p.b[0] >> shift));
                cols[j][2 * q + 8 + half] = bf16_bits((unsigned short) (p.b[1] >> shift));
            }
        }
    }
    for (int e = 0; e < 4; ++e) {
        float sum = c[e];
        for (int k = 0; k < 16; ++k) sum += rows[e / 2][k] * cols[e % 2][k];
        c[e] = sum;
    }
    __syncwarp();
}

namespace emu {
// Runs blocks [0, grid) of `block` threads one after another, shared memory filled with NaN before each; returns
// nullptr, or why a block could not finish.
inline const char* run_grid(unsigned grid, unsigned block, const std::function<void()>& kernel) {
    if (block < 1 || block > (unsigned) kMaxThreads || block % kWarp != 0) return "block size not emulated";
    threads = (int) block;
    blockDim = {block, 1, 1};
    gridDim = {grid, 1, 1};
    for (unsigned b = 0; b < grid; ++b) {
        blockIdx.x = b;
        std::fill(std::begin(g_shared), std::end(g_shared), NAN);
        if (__start_emu_static_shared != nullptr) {
            std::memset(__start_emu_static_shared, 0xFF, __stop_emu_static_shared - __start_emu_static_shared);
        }
        if (const char* why = run_block(kernel)) return why;
    }
    return nullptr;
}

template <typename... P, size_t... I>
const char* call(void (*kernel)(P...), unsigned grid, unsigned block, void** args, std::index_sequence<I...>) {
    return run_grid(grid, block, [&] { kernel(*static_cast<std::remove_cv_t<P>*>(args[I])...); });
}

// Runs `kernel` as cuLaunchKernel would with its parameter array `args`; Bytes are the parameter sizes that
// KernelSignatures parsed from the source, checked here against the compiler's.
template <size_t... Bytes, typename... P>
const char* launch_kernel(void (*kernel)(P...), unsigned grid, unsigned block, unsigned shared, void** args) {
    static_assert(sizeof...(P) == sizeof...(Bytes), "KernelSignatures parsed another parameter count");
    static_assert(((sizeof(P) == Bytes) && ...), "KernelSignatures parsed another parameter size");
    if (shared > sizeof g_shared) return "more dynamic shared memory than the emulation holds";
    return call(kernel, grid, block, args, std::index_sequence_for<P...>{});
}
}  // namespace emu

// Launches grid blocks of 256 threads one after another; a block that cannot finish ends the process (status 3).
inline void launch(long long grid, const std::function<void()>& kernel) {
    if (const char* why = emu::run_grid((unsigned) grid, 256, kernel)) {
        std::fprintf(stderr, "%s\n", why);
        std::exit(3);
    }
}
