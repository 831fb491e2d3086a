package dev.finetune4j.gguf;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The mix's rules where the reference models do not reach them (LlamaCppReferenceTest compares its models with
 * llama-quantize's files): the layers a 32-layer model favours, Llama 70B's value projections and the rules for
 * mixtures of experts, hand-derived from llama.cpp's src/llama-quant.cpp.
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

    /**
     * llama-quantize counts the value projections it meets: in a model with Mamba-2 layers (Granite 4.0 H) only its
     * attention layers', so that its one attention layer, layer 1 of 4, is the first and the last of them.
     */
    @Test
    void valueProjectionsAreCountedWhereTheyAre() {
        ModelLayout hybrid = new ModelLayout("granitehybrid", 4, 4, 2, true, 0, List.of(1), List.of(0, 1, 2, 3),
                false);
        assertEquals(GgmlType.Q6_K, GgufType.Q4_K_M.storageOf("blk.1.attn_v.weight", GQA_VALUE, hybrid));
        assertEquals(GgmlType.Q4_K, GgufType.Q4_K_M.storageOf("blk.1.attn_v.weight", GQA_VALUE,
                new ModelLayout("granite", 4, 4, 2, true)), "layer 1 of 4 value projections");
        assertEquals(GgmlType.Q5_K, GgufType.Q3_K_M.storageOf("blk.1.attn_v.weight", GQA_VALUE, hybrid));
        assertEquals(GgmlType.Q4_K, GgufType.Q4_K_M.storageOf("blk.0.ssm_in.weight", new long[] {256, 1064}, hybrid));
        assertThrows(IllegalArgumentException.class,
                () -> GgufType.Q4_K_M.storageOf("blk.0.attn_v.weight", GQA_VALUE, hybrid));
    }

    /**
     * Without experts llama-quantize weighs the down projections by how many it has met, of the model's layers: in
     * Nemotron-H's MLP layers 1 and 4 of 5, the first and second, neither favoured (by layer, layer 4 would be); with
     * experts it reads the layer from the name.
     */
    @Test
    void downProjectionsAreCountedWhereTheyAreWithoutExperts() {
        long[] down = {512, 256};
        List<String> names = List.of("blk.0.ssm_in.weight", "blk.1.ffn_down.weight", "blk.2.attn_v.weight",
                "blk.3.ssm_in.weight", "blk.4.ffn_down.weight");
        ModelLayout nemotron = ModelLayout.of("nemotron_h", 5, 4, 2, false, 0, names);
        assertEquals(List.of(1, 4), nemotron.downLayers());
        assertEquals(List.of(2), nemotron.valueLayers());
        assertEquals(GgmlType.Q4_K, GgufType.Q4_K_M.storageOf("blk.4.ffn_down.weight", down, nemotron));
        assertEquals(GgmlType.Q6_K, GgufType.Q4_K_M.storageOf("blk.4.ffn_down.weight", down,
                new ModelLayout("nemotron_h", 5, 4, 2, false)), "layer 4 of 5 down projections is favoured");
        assertEquals(GgmlType.Q6_K, GgufType.Q4_K_M.storageOf("blk.2.attn_v.weight", down, nemotron),
                "the only value projection is the last one");
        ModelLayout mixture = ModelLayout.of("nemotron_h_moe", 5, 4, 2, false, 6, names);
        assertEquals(GgmlType.Q6_K, GgufType.Q4_K_M.storageOf("blk.4.ffn_down_exps.weight", new long[] {512, 256, 6},
                mixture), "with experts, layer 4 of 5 by its name");
        assertThrows(IllegalArgumentException.class,
                () -> GgufType.Q4_K_M.storageOf("blk.0.ffn_down.weight", down, nemotron));
    }

    /**
     * Gemma 4: with the head tied, its per-layer token table takes the head's type as token_embd does (Q8_0 where its
     * rows are not super-blocks), per_layer_model_proj stays float32 in a K-quant mix, and only the layers with a value
     * projection count.
     */
    @Test
    void gemma4sTablesFollowTheHeadAndItsModelProjectionStaysFloat32() {
        List<String> names = List.of("token_embd.weight", "per_layer_token_embd.weight", "blk.0.attn_v.weight",
                "blk.1.attn_v.weight", "blk.2.attn_k.weight", "blk.3.attn_q.weight", "blk.4.attn_q.weight");
        ModelLayout gemma4 = ModelLayout.of("gemma4", 5, 4, 2, true, 0, names);
        assertEquals(GgmlType.Q6_K, GgufType.Q4_K_M.storageOf("per_layer_token_embd.weight", new long[] {1280, 371},
                gemma4));
        assertEquals(GgmlType.Q8_0, GgufType.Q5_K_M.storageOf("per_layer_token_embd.weight", new long[] {320, 371},
                gemma4));
        assertEquals(GgmlType.Q4_K, GgufType.Q4_K_M.storageOf("per_layer_token_embd.weight", new long[] {1280, 371},
                new ModelLayout("gemma4", 5, 4, 2, false)), "untied, the table is no head");
        assertEquals(GgmlType.F32, GgufType.Q4_K_M.storageOf("per_layer_model_proj.weight", new long[] {256, 1280},
                gemma4));
        assertEquals(GgmlType.Q8_0, GgufType.Q8_0.storageOf("per_layer_model_proj.weight", new long[] {256, 1280},
                gemma4), "Q8_0 is no llama-quantize mix");
        assertEquals(GgmlType.Q6_K, GgufType.Q4_K_M.storageOf("blk.1.attn_v.weight", new long[] {256, 128}, gemma4),
                "the second and last of two value projections");
        assertEquals(GgmlType.Q4_K, GgufType.Q4_K_M.storageOf("blk.0.attn_v.weight", new long[] {256, 128}, gemma4));
    }

    /**
     * A mixture: the stacked experts follow their dense counterparts' rules by the layer in their name, a model of 8
     * experts (llama.cpp's Mixtral rules) raises key and value projections to Q8_0 and attention outputs to Q5_K (not in
     * Q3_K_L), and the routers stay float32 in every type, their LoRA factors excepted (the converter's rule).
     */
    @Test
    void mixturesFollowLlamaCppsExpertRules() {
        ModelLayout mixtral = new ModelLayout("llama", 32, 32, 8, false, 8);
        long[] stackedDown = {14336, 4096, 8};
        long[] router = {4096, 8};
        assertEquals(GgmlType.Q8_0, GgufType.Q4_K_M.storageOf("blk.11.attn_v.weight", GQA_VALUE, mixtral));
        assertEquals(GgmlType.Q8_0, GgufType.Q3_K_S.storageOf("blk.11.attn_k.weight", GQA_VALUE, mixtral));
        assertEquals(GgmlType.Q5_K, GgufType.Q4_K_M.storageOf("blk.11.attn_output.weight", SQUARE, mixtral));
        assertEquals(GgmlType.Q3_K, GgufType.Q3_K_L.storageOf("blk.11.attn_output.weight", SQUARE, mixtral),
                "with 8 experts Q3_K_L keeps its base type for the attention output");
        assertEquals(GgmlType.Q6_K, GgufType.Q4_K_M.storageOf("blk.0.ffn_down_exps.weight", stackedDown, mixtral));
        assertEquals(GgmlType.Q4_K, GgufType.Q4_K_M.storageOf("blk.4.ffn_down_exps.weight", stackedDown, mixtral));
        assertEquals(GgmlType.Q4_K, GgufType.Q4_K_M.storageOf("blk.4.ffn_up_exps.weight", new long[] {4096, 14336, 8},
                mixtral));
        ModelLayout sixtyExperts = new ModelLayout("qwen2moe", 24, 16, 16, false, 60);
        assertEquals(GgmlType.Q4_K, GgufType.Q4_K_M.storageOf("blk.4.attn_k.weight", SQUARE, sixtyExperts),
                "only 8 experts raise the key projection");
        for (GgufType type : List.of(GgufType.Q4_K_M, GgufType.Q8_0, GgufType.F16)) {
            assertEquals(GgmlType.F32, type.storageOf("blk.0.ffn_gate_inp.weight", router, mixtral));
            assertEquals(GgmlType.F32, type.storageOf("blk.0.ffn_gate_inp_shexp.weight", new long[] {4096, 1},
                    sixtyExperts));
        }
        assertEquals(GgmlType.Q8_0, GgufType.Q8_0.storageOf("blk.0.ffn_gate_inp.weight.lora_a", new long[] {4096, 16},
                mixtral));
    }

    @Test
    void theIq4MixesRaiseValueProjectionsAtFourQueryHeadsPerKeyHeadAndEarlyDownProjectionsWithoutAnImatrix() {
        ModelLayout gqa4 = new ModelLayout("llama", 32, 32, 8, false);
        ModelLayout gqa2 = new ModelLayout("llama", 32, 32, 16, false);
        for (GgufType type : List.of(GgufType.IQ4_XS, GgufType.IQ4_NL)) {
            assertEquals(GgmlType.Q5_K, type.storageOf("blk.9.attn_v.weight", GQA_VALUE, gqa4), type + ": GQA 4");
            assertEquals(type.matrixType(), type.storageOf("blk.9.attn_v.weight", GQA_VALUE, gqa2), type + ": GQA 2");
            assertEquals(GgmlType.Q5_K, type.storageOf("blk.3.ffn_down.weight", SQUARE, gqa4),
                    type + ": layer 3 of 32 is in the first eighth");
            assertEquals(type.matrixType(), type.storageOf("blk.4.ffn_down.weight", SQUARE, gqa4), type + ": layer 4");
            assertEquals(type.matrixType(), type.storageOf("blk.3.ffn_down.weight", SQUARE,
                    gqa4.withImportanceMatrix(true)), type + ": with an importance matrix, no down projection rises");
            assertEquals(GgmlType.Q6_K, type.storageOf("output.weight", new long[] {4096, 32000}, gqa4),
                    type + ": the head");
            assertEquals(type.matrixType(), type.storageOf("token_embd.weight", new long[] {4096, 32000}, gqa4),
                    type + ": an untied token table takes the base type");
            assertEquals(type.matrixType(), type.storageOf("blk.9.attn_output.weight", SQUARE, gqa4),
                    type + ": a dense model's attention output");
            assertEquals(GgmlType.Q5_K, type.storageOf("blk.9.attn_output.weight", SQUARE,
                    new ModelLayout("llama", 32, 32, 8, false, 8)), type + ": 8 experts raise the attention output");
        }
        assertEquals(GgmlType.Q4_K, GgufType.IQ3_S.storageOf("blk.9.attn_v.weight", GQA_VALUE, gqa4), "IQ3_S, GQA 4");
        assertEquals(GgmlType.Q5_K, GgufType.IQ3_S.storageOf("blk.9.attn_v.weight", GQA_VALUE,
                new ModelLayout("llama", 80, 64, 8, false)), "IQ3_S in Llama 70B: Q4_K raised to Q5_K");
        assertEquals(GgmlType.IQ3_S, GgufType.IQ3_S.storageOf("blk.9.attn_v.weight", GQA_VALUE, gqa2));
        assertEquals(GgmlType.IQ3_S, GgufType.IQ3_S.storageOf("blk.0.ffn_down.weight", SQUARE, gqa4),
                "IQ3_S raises no down projection");
        assertEquals(GgmlType.Q5_K, GgufType.IQ3_S.storageOf("blk.9.attn_output.weight", SQUARE,
                new ModelLayout("llama", 32, 32, 8, false, 8)));
        assertEquals(GgmlType.IQ4_NL, GgufType.IQ3_S.storageOf("blk.9.ffn_up.weight", new long[] {800, 64}, gqa2));
        assertEquals(GgmlType.IQ4_NL, GgufType.IQ4_XS.storageOf("blk.9.ffn_up.weight", new long[] {800, 64}, gqa2),
                "rows of 800 are no super-blocks but whole 32-value blocks");
        assertEquals(GgmlType.F16, GgufType.IQ4_XS.storageOf("blk.9.ffn_up.weight", new long[] {100, 64}, gqa2));
        assertEquals(GgmlType.Q8_0, GgufType.IQ4_NL.storageOf("output.weight", new long[] {800, 32000}, gqa2),
                "IQ4_NL's head: rows of whole 32-value blocks, Q6_K falls back to Q8_0");
        assertEquals(GgmlType.F16, GgufType.IQ4_NL.storageOf("output.weight", new long[] {100, 32000}, gqa2));
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
