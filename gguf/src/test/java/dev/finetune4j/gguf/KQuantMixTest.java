package dev.finetune4j.gguf;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The mix's rules where the reference models do not reach them (LlamaCppReferenceTest compares five models with
 * llama-quantize's files): the layers a 32-layer model favours, and Llama 70B's value projections, hand-derived from
 * llama.cpp's src/llama-quant.cpp.
 */
class KQuantMixTest {
    private static final long[] SQUARE = {8192, 8192};
    private static final long[] GQA_VALUE = {8192, 1024};

    @Test
    void thirtyTwoLayersFavourTheFirstAndLastFourAndEveryThirdBetween() {
        List<Integer> favoured = IntStream.range(0, 32).filter(i -> KQuantMix.useMoreBits(i, 32)).boxed().toList();
        assertEquals(List.of(0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31), favoured);
    }

    @Test
    void llama70BValueProjectionsTakeQ5KWhereOthersTakeQ4K() {
        ModelLayout gqa80 = new ModelLayout("llama", 80, 64, 8, false);
        assertEquals(GgmlType.Q6_K, GgufType.Q4_K_M.storageOf("blk.5.attn_v.weight", GQA_VALUE, gqa80),
                "layer 5 of 80 is favoured: Q6_K");
        assertEquals(GgmlType.Q5_K, GgufType.Q4_K_M.storageOf("blk.11.attn_v.weight", GQA_VALUE, gqa80),
                "layer 11 is not: Q4_K, raised to Q5_K for 70B");
        assertEquals(GgmlType.Q4_K, GgufType.Q4_K_M.storageOf("blk.11.attn_q.weight", SQUARE, gqa80));
        assertEquals(GgmlType.Q4_K, GgufType.Q4_K_M.storageOf("blk.11.attn_v.weight", SQUARE,
                new ModelLayout("llama", 80, 64, 64, false)), "80 layers without GQA is not llama.cpp's 70B");
        assertEquals(GgmlType.Q5_K, GgufType.Q5_K_M.storageOf("blk.11.attn_v.weight", GQA_VALUE, gqa80));
    }

    @Test
    void q3KMGivesTheFirstLayersAndTheOutputsMoreBits() {
        ModelLayout layers32 = new ModelLayout("llama", 32, 32, 8, false);
        assertEquals(GgmlType.Q5_K, GgufType.Q3_K_M.storageOf("blk.1.attn_v.weight", GQA_VALUE, layers32));
        assertEquals(GgmlType.Q4_K, GgufType.Q3_K_M.storageOf("blk.2.attn_v.weight", GQA_VALUE, layers32));
        assertEquals(GgmlType.Q5_K, GgufType.Q3_K_M.storageOf("blk.1.ffn_down.weight", SQUARE, layers32),
                "layer 1 is in the first sixteenth of 32");
        assertEquals(GgmlType.Q4_K, GgufType.Q3_K_M.storageOf("blk.2.ffn_down.weight", SQUARE, layers32));
        assertEquals(GgmlType.Q4_K, GgufType.Q3_K_M.storageOf("blk.9.attn_output.weight", SQUARE, layers32));
        assertEquals(GgmlType.Q3_K, GgufType.Q3_K_M.storageOf("blk.9.attn_q.weight", SQUARE, layers32));
        assertEquals(GgmlType.Q5_K, GgufType.Q3_K_L.storageOf("blk.9.attn_output.weight", SQUARE, layers32));
        assertEquals(GgmlType.Q3_K, GgufType.Q3_K_S.storageOf("blk.9.attn_v.weight", GQA_VALUE, layers32));
        assertEquals(GgmlType.Q4_0, GgufType.Q3_K_S.storageOf("blk.9.ffn_up.weight", new long[] {800, 64}, layers32),
                "Q3_K rows that are not super-blocks fall back to Q4_0");
    }

    @Test
    void theHeadIsQ6KOrQ8_0AndRowsThatAreNotBlocksFallBack() {
        ModelLayout tied = new ModelLayout("gpt2", 12, 12, 12, true);
        assertEquals(GgmlType.Q6_K, GgufType.Q4_K_M.storageOf("token_embd.weight", new long[] {768, 50257}, tied));
        assertEquals(GgmlType.Q8_0, GgufType.Q4_K_M.storageOf("token_embd.weight", new long[] {800, 50257}, tied),
                "a head whose rows are not whole super-blocks: Q8_0");
        assertEquals(GgmlType.F16, GgufType.Q6_K.storageOf("blk.0.ffn_up.weight", new long[] {100, 64}, tied));
        assertEquals(GgmlType.Q5_1, GgufType.Q5_K_M.storageOf("blk.1.ffn_up.weight", new long[] {800, 64}, tied));
        assertEquals(GgmlType.F32, GgufType.Q4_K_M.storageOf("position_embd.weight", new long[] {768, 1024}, tied));
    }
}
