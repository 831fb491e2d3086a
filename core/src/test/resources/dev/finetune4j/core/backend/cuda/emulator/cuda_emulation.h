// Runs a CUDA kernel source on the CPU, for checking kernel logic where no GPU is present: the threads of one block
// are fibers (ucontext) on one OS thread, switched only at barriers, in a fresh random order every phase, so that a
// missing barrier shows up as a read of stale or NaN-poisoned shared memory, and a barrier that not every thread
// reaches stops the run with a message. Covers what attention.cu uses: threadIdx.x, blockIdx.x, __syncthreads,
// __syncwarp, __shfl_xor_sync and dynamic shared memory (the kernel's extern __shared__ line is replaced by
// a pointer to g_shared before compiling).
#pragma once
#include <ucontext.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

using std::max;
using std::min;

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define F_INF INFINITY

struct EmuIndex {
    unsigned x;
};

namespace emu {
constexpr int kThreads = 256;
constexpr int kWarp = 32;
constexpr size_t kStack = 64 * 1024;
constexpr size_t kSharedFloats = 64 * 1024;

enum Wait { RUNNING, AT_BLOCK_BARRIER, AT_WARP_BARRIER, DONE };

struct Fiber {
    ucontext_t context;
    std::vector<char> stack;
    Wait wait = RUNNING;
};

inline ucontext_t scheduler;
inline Fiber fibers[kThreads];
inline int current = 0;
inline float shuffle[kThreads];
inline const std::function<void()>* body = nullptr;
inline std::mt19937 order_rng(1);
alignas(16) inline float g_shared[kSharedFloats];

inline void yield(Wait why) {
    fibers[current].wait = why;
    swapcontext(&fibers[current].context, &scheduler);
}

inline void entry() {
    (*body)();
    yield(DONE);
}

// Runs one block of kThreads fibers to completion.
inline void run_block(const std::function<void()>& kernel) {
    body = &kernel;
    for (int t = 0; t < kThreads; ++t) {
        Fiber& f = fibers[t];
        f.stack.resize(kStack);
        getcontext(&f.context);
        f.context.uc_stack.ss_sp = f.stack.data();
        f.context.uc_stack.ss_size = f.stack.size();
        f.context.uc_link = nullptr;
        makecontext(&f.context, entry, 0);
        f.wait = RUNNING;
    }
    std::vector<int> order(kThreads);
    for (int t = 0; t < kThreads; ++t) order[t] = t;
    for (;;) {
        std::shuffle(order.begin(), order.end(), order_rng);
        for (int t : order) {
            if (fibers[t].wait == RUNNING) {
                current = t;
                swapcontext(&scheduler, &fibers[t].context);
            }
        }
        // Every fiber now waits or is done: release whole warps at a warp barrier, then the block at a barrier.
        bool released = false;
        for (int w = 0; w < kThreads / kWarp; ++w) {
            bool all = true;
            for (int l = 0; l < kWarp; ++l) all &= fibers[w * kWarp + l].wait == AT_WARP_BARRIER;
            if (all) {
                for (int l = 0; l < kWarp; ++l) fibers[w * kWarp + l].wait = RUNNING;
                released = true;
            }
        }
        if (released) continue;
        int atBlock = 0, done = 0;
        for (int t = 0; t < kThreads; ++t) {
            atBlock += fibers[t].wait == AT_BLOCK_BARRIER;
            done += fibers[t].wait == DONE;
        }
        if (done == kThreads) return;
        if (atBlock == kThreads) {
            for (int t = 0; t < kThreads; ++t) fibers[t].wait = RUNNING;
            continue;
        }
        std::fprintf(stderr, "deadlock: %d threads at __syncthreads, %d done, the rest at __syncwarp of a warp"
                     " that does not all arrive\n", atBlock, done);
        std::exit(3);
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
inline EmuIndex blockIdx;

inline void __syncthreads() { emu::yield(emu::AT_BLOCK_BARRIER); }
inline void __syncwarp() { emu::yield(emu::AT_WARP_BARRIER); }

inline float __shfl_xor_sync(unsigned, float v, int lane_mask) {
    emu::shuffle[emu::current] = v;
    __syncwarp();
    int base = emu::current / emu::kWarp * emu::kWarp;
    float r = emu::shuffle[base + ((emu::current % emu::kWarp) ^ lane_mask)];
    __syncwarp();
    return r;
}

// Launches grid blocks one after another; shared memory is filled with NaN before each.
inline void launch(long long grid, const std::function<void()>& kernel) {
    for (long long b = 0; b < grid; ++b) {
        blockIdx.x = (unsigned) b;
        std::fill(std::begin(emu::g_shared), std::end(emu::g_shared), NAN);
        emu::run_block(kernel);
    }
}
