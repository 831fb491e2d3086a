package dev.finetune4j.eval;

import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.CausalLM;
import dev.finetune4j.eval.onnx.OnnxCausalLM;
import dev.finetune4j.eval.onnx.OnnxSentenceEncoder;
import org.junit.jupiter.api.Test;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The ONNX Runtime paths (CPU provider) against PyTorch's outputs, and perplexity against transformers' loss. */
class OnnxModelsTest {
    static Path resource(String name) {
        try {
            return Path.of(OnnxModelsTest.class.getResource("/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long[][] rows(long[] flat, int rows) {
        long[][] out = new long[rows][];
        int cols = flat.length / rows;
        for (int r = 0; r < rows; r++) {
            out[r] = Arrays.copyOfRange(flat, r * cols, (r + 1) * cols);
        }
        return out;
    }

    @Test
    void onnxCausalLmReproducesLogitsAndPerplexity() throws Exception {
        try (SafetensorsFile ref = SafetensorsFile.open(resource("onnx/tiny_llama_causal_lm.reference.safetensors"));
             OnnxCausalLM lm = OnnxCausalLM.builder(resource("onnx/tiny_llama_causal_lm.onnx")).cuda(true).build()) {
            long[][] ids = rows(ref.tensor("input_ids").toLongArray(), 2);
            long[][] mask = rows(ref.tensor("attention_mask").toLongArray(), 2);
            float[] want = ref.tensor("logits").toFloatArray();
            float[][][] got = lm.logits(ids, mask);
            double maxDiff = 0;
            int at = 0;
            for (float[][] seq : got) {
                for (float[] row : seq) {
                    for (float v : row) {
                        maxDiff = Math.max(maxDiff, Math.abs(v - want[at++]));
                    }
                }
            }
            assertEquals(256, lm.vocabSize());
            assertEquals(0, maxDiff, 1e-4, "largest logit difference");
            // Perplexity through the ONNX model equals the one computed from PyTorch's logits (unmasked row 0).
            float[][][] unmasked = lm.logits(new long[][] {ids[0]}, null);
            double nll = 0;
            for (int p = 1; p < ids[0].length; p++) {
                nll -= Perplexity.logSoftmax(unmasked[0][p - 1], ids[0][p]);
            }
            PerplexityResult r = Perplexity.builder().maxLength(16).build().compute(lm, List.of(ids[0]));
            assertEquals(Math.exp(nll / 15), r.perplexity(), 1e-9);
        }
    }

    @Test
    void onnxSentenceEncoderReproducesEmbeddings() throws Exception {
        try (SafetensorsFile ref = SafetensorsFile.open(resource("onnx/tiny_bert_mean_pool_embedder.reference.safetensors"))) {
            long[][] ids = rows(ref.tensor("input_ids").toLongArray(), 4);
            long[][] mask = rows(ref.tensor("attention_mask").toLongArray(), 4);
            float[] want = ref.tensor("embeddings").toFloatArray();
            // A toy tokenizer that maps "row i" back to the fixture's unpadded ids of row i.
            List<String> texts = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                texts.add("row " + i);
            }
            TokenEncoder tok = text -> {
                int i = Integer.parseInt(text.substring(4));
                int n = (int) Arrays.stream(mask[i]).sum();
                return Arrays.copyOf(ids[i], n);
            };
            try (OnnxSentenceEncoder enc = OnnxSentenceEncoder.builder(resource("onnx/tiny_bert_mean_pool_embedder.onnx"), tok).batchSize(3).build()) {
                float[][] direct = enc.embedIds(ids, mask);
                float[][] viaText = enc.embed(texts);
                for (int i = 0; i < 4; i++) {
                    for (int d = 0; d < 64; d++) {
                        assertEquals(want[i * 64 + d], direct[i][d], 1e-5, "row " + i + " dim " + d);
                        assertEquals(want[i * 64 + d], viaText[i][d], 1e-5, "padded differently, row " + i + " dim " + d);
                    }
                }
            }
        }
    }

    @Test
    void perplexityOfHfTinyLlamaEqualsExpLoss() throws Exception {
        try (SafetensorsFile ref = SafetensorsFile.open(resource("hf-tiny/llama/reference.safetensors"));
             CausalLM lm = AutoModel.loadCausalLM(resource("hf-tiny/llama"))) {
            long[][] ids = rows(ref.tensor("input_ids").toLongArray(), 2);
            double loss = ref.tensor("loss").toFloatArray()[0];
            // transformers' loss: mean next-token cross-entropy over both unmasked rows (2 x 15 tokens).
            PerplexityResult r = Perplexity.builder().maxLength(16).build().compute(lm, List.of(ids));
            assertEquals(30, r.tokens());
            assertEquals(Math.exp(loss), r.perplexity(), 1e-5 * Math.exp(loss));
        }
    }
}
