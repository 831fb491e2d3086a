package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CudaAttention sizes grids and shared memory from the tile layout that the attention kernels define (attention.cuh,
 * attention.cu, attention_bf16.cu); these checks need no GPU, so a change to one side that the other does not
 * follow fails here rather than on the card.
 */
class CudaAttentionLayoutTest {

    @Test
    void javaConstantsAreTheKernelsDefines() {
        String source = KernelSources.family("attention").headerText() + KernelSources.read("attention.cu")
                + KernelSources.read("attention_bf16.cu");
        assertEquals(CudaAttention.TILE, define(source, "ATT_TILE"));
        assertEquals(CudaAttention.MAX_HEAD_DIM, define(source, "ATT_MAX_D"));
        assertEquals(CudaAttention.P_STRIDE, define(source, "ATT_P_STRIDE"));
        assertEquals(CudaAttention.THREADS, define(source, "ATT_THREADS"));
        assertEquals(CudaKernels.BLOCK, CudaAttention.THREADS, "the kernels launch the block size attention.cuh assumes");
        // Each thread owns PER rows and DCOLS columns of a 16 x 16 thread grid's tile and accumulator: 64-row tiles up
        // to D = 128, 32-row tiles (the *_d256 kernels) up to 256, 16-row tiles (the *_d512 kernels) up to 512.
        assertEquals(CudaAttention.THREADS, define(source, "ATT_SPLIT") * define(source, "ATT_SPLIT"));
        assertEquals(CudaAttention.TILE, define(source, "ATT_SPLIT") * define(source, "ATT_PER"));
        assertEquals(CudaAttention.NARROW_HEAD_DIM, define(source, "ATT_SPLIT") * define(source, "ATT_DCOLS"));
        assertEquals(CudaAttention.WIDE_HEAD_TILE, define(source, "ATT_SPLIT") * define(source, "ATT_PER_D256"));
        assertEquals(CudaAttention.WIDE_HEAD_DIM, define(source, "ATT_SPLIT") * define(source, "ATT_DCOLS_D256"));
        assertEquals(CudaAttention.WIDEST_HEAD_TILE, define(source, "ATT_SPLIT") * define(source, "ATT_PER_D512"));
        assertEquals(CudaAttention.MAX_HEAD_DIM, define(source, "ATT_SPLIT") * define(source, "ATT_DCOLS_D512"));
        // The tensor-core forward: each of the block's warps owns 16 query rows (an mma's m).
        assertEquals(CudaAttention.TENSOR_CORE_ROWS, define(source, "ATT_TC_ROWS"));
        assertEquals(CudaAttention.TENSOR_CORE_PAD, define(source, "ATT_TC_PAD"));
        assertEquals(CudaAttention.TENSOR_CORE_MAX_HEAD_DIM, define(source, "ATT_TC_MAX_D"));
        assertEquals(CudaAttention.TENSOR_CORE_KV_QUERIES, define(source, "ATT_TC_KV_QUERIES"));
        assertEquals(CudaAttention.TENSOR_CORE_SMALL_HEAD_DIM, 8 * define(source, "ATT_TC_OUT_TILES_D64"));
        // The tensor-core dq and dk, dv kernels write slices of 8 ATT_TC_OUT_TILES columns.
        assertEquals(CudaAttention.NARROW_HEAD_DIM, 8 * define(source, "ATT_TC_OUT_TILES"));
        assertEquals(CudaAttention.THREADS / 32 * 16, CudaAttention.TENSOR_CORE_ROWS);
    }

    @Test
    void tensorCoreSharedMemoryHoldsPaddedBf16TilesWithConflictFreeRows() {
        // bf16 rows at a stride of D + 8: the forward's 128 query rows and 64 rows each of k and v.
        assertEquals((128 + 2 * 64) * 72 * 2, CudaAttention.tensorCoreSharedBytes(64, 256));
        assertEquals((128 + 2 * 64) * 136 * 2, CudaAttention.tensorCoreSharedBytes(128, 256));
        // The backward's largest (dq: 128 rows each of q and dOut, 64 each of k and v) fits an A100 block at D = 128,
        // a Hopper block (227 KiB opt-in) at D = 256.
        assertEquals(384, CudaAttention.TENSOR_CORE_Q_ROWS);
        assertTrue(CudaAttention.tensorCoreSharedBytes(128, CudaAttention.TENSOR_CORE_Q_ROWS) <= 163 * 1024);
        assertEquals(384 * 264 * 2, CudaAttention.tensorCoreSharedBytes(256, CudaAttention.TENSOR_CORE_Q_ROWS));
        assertTrue(CudaAttention.tensorCoreSharedBytes(CudaAttention.TENSOR_CORE_MAX_HEAD_DIM,
                CudaAttention.TENSOR_CORE_Q_ROWS) <= 227 * 1024);
        assertEquals(1, CudaAttention.columnSlices(128));
        assertEquals(2, CudaAttention.columnSlices(144));
        assertEquals(2, CudaAttention.columnSlices(256));
        for (int headDim = 16; headDim <= CudaAttention.TENSOR_CORE_MAX_HEAD_DIM; headDim += 16) {
            // A fragment load reads 4 consecutive words of 8 rows: they hit 32 banks when a row is 4 (mod 8) words.
            int words = (headDim + CudaAttention.TENSOR_CORE_PAD) / 2;
            Set<Integer> banks = new HashSet<>();
            for (int row = 0; row < 8; row++) {
                for (int word = 0; word < 4; word++) {
                    banks.add((row * words + word) % 32);
                }
            }
            assertEquals(32, banks.size(), "D = " + headDim);
        }
    }

    @Test
    void sharedMemoryHoldsPaddedTilesAndTheProbabilityTile() {
        // Row strides: 64 -> 68, 128 -> 132 (multiples of 8 get 4 more), 33 -> 36 (already 4 mod 8), 1 -> 4.
        assertEquals((3 * 64 * 68 + 64 * 80) * Float.BYTES, CudaAttention.sharedBytes(64, 3));
        assertEquals((4 * 64 * 132 + 64 * 80) * Float.BYTES, CudaAttention.sharedBytes(128, 4));
        assertEquals((4 * 64 * 36 + 64 * 80) * Float.BYTES, CudaAttention.sharedBytes(33, 4));
        assertEquals((4 * 64 * 4 + 64 * 80) * Float.BYTES, CudaAttention.sharedBytes(1, 4));
        // Past D = 128 the tiles have 32 rows: 256 -> 260.
        assertEquals((4 * 32 * 260 + 32 * 80) * Float.BYTES, CudaAttention.sharedBytes(256, 4));
        assertEquals((3 * 32 * 132 + 32 * 80) * Float.BYTES, CudaAttention.sharedBytes(129, 3));
        // Past D = 256 they have 16 rows: 512 -> 516, 257 -> 260.
        assertEquals((4 * 16 * 516 + 16 * 80) * Float.BYTES, CudaAttention.sharedBytes(512, 4));
        assertEquals((3 * 16 * 260 + 16 * 80) * Float.BYTES, CudaAttention.sharedBytes(257, 3));
        // The backward's largest need fits an A100 block (163 KiB opt-in), so Ampere and Hopper both run every head
        // dimension up to 512 (134 KiB there).
        assertTrue(CudaAttention.sharedBytes(128, 4) <= 163 * 1024);
        assertTrue(CudaAttention.sharedBytes(CudaAttention.WIDE_HEAD_DIM, 4) <= 163 * 1024);
        assertTrue(CudaAttention.sharedBytes(CudaAttention.MAX_HEAD_DIM, 4) <= 163 * 1024);
    }

    @Test
    void aHeadDimensionPastTheKernelsLimitFailsNamingIt() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor q = Tensor.zeros(1, 2, 3, 516);
            Tensor kv = Tensor.zeros(1, 1, 3, 516);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> CudaAttention.checkShapes(q, kv, kv));
            assertTrue(e.getMessage().contains("up to 512, got 516"), e.getMessage());
            Tensor kv512 = Tensor.zeros(1, 1, 3, 512);
            CudaAttention.checkShapes(Tensor.zeros(1, 2, 3, 512), kv512, kv512);
        }
    }

    private static int define(String source, String name) {
        Matcher m = Pattern.compile("(?m)^#define " + name + " (\\d+)$").matcher(source);
        assertTrue(m.find(), "the attention sources define no " + name);
        return Integer.parseInt(m.group(1));
    }
}
