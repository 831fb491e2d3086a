package dev.finetune4j.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tokenizer.HfTokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Not a test: what an importance matrix buys a K-quant export, as the perplexity of the model a GGUF stores
 * ({@link StoredWeights}: each matrix encoded as the export encodes it and decoded as ggml decodes it) on held-out
 * text, without and with an importance matrix collected over the training texts. Run on the quickstart's merged
 * model, after {@code mvn -B -q -ntp install -DskipTests -Pquickstart}:
 *
 * <pre>
 * java -cp gguf/target/test-classes:gguf/target/classes:&lt;test classpath&gt; dev.finetune4j.gguf.ImportanceMatrixBenchmark \
 *     samples/target/quickstart/merged samples/target/quickstart/data/train.jsonl samples/target/quickstart/data/test.jsonl
 * </pre>
 * Each JSONL row's text is its {@code instruction}, a newline and its {@code output}.
 */
public final class ImportanceMatrixBenchmark {
    private ImportanceMatrixBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        try (HfTokenizer tokenizer = HfTokenizer.load(model)) {
            List<long[]> calibration = sequences(Path.of(args[1]), tokenizer);
            List<long[]> heldOut = sequences(Path.of(args[2]), tokenizer);
            ImportanceMatrix importance;
            ImportanceMatrix heldOutInputs;
            java.util.Map<String, float[]> exact = new java.util.HashMap<>();
            try (LanguageModel lm = AutoModel.loadCausalLM(model)) {
                importance = ImportanceMatrix.collect(lm, calibration);
                heldOutInputs = ImportanceMatrix.collect(lm, heldOut);
                lm.stateDict().forEach((name, t) -> exact.put(name, t.toFloatArray()));
                System.out.printf(Locale.ROOT, "%s: %d calibration tokens, %d held-out sequences%n", model,
                        importance.tokens(), heldOut.size());
                System.out.printf(Locale.ROOT, "%-8s %-9s perplexity %.5f%n", "float32", "", perplexity(lm, heldOut));
            }
            for (GgufType type : List.of(GgufType.Q3_K_M, GgufType.Q4_K_M, GgufType.Q5_K_M, GgufType.Q6_K)) {
                for (ImportanceMatrix im : new ImportanceMatrix[] {null, importance}) {
                    try (LanguageModel lm = AutoModel.loadCausalLM(model)) {
                        StoredWeights.roundInPlace(lm, type, im);
                        System.out.printf(Locale.ROOT, "%-8s %-9s perplexity %.5f  held-out weighted error %.6g%n",
                                type.name().toLowerCase(Locale.ROOT), im == null ? "" : "+imatrix", perplexity(lm, heldOut),
                                weightedError(lm, exact, heldOutInputs));
                    }
                }
            }
        }
    }

    private static List<long[]> sequences(Path jsonl, HfTokenizer tokenizer) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<long[]> out = new ArrayList<>();
        for (String line : Files.readAllLines(jsonl)) {
            JsonNode row = json.readTree(line);
            out.add(tokenizer.encodeWithSpecialTokens(row.path("instruction").asText() + "\n"
                    + row.path("output").asText(), 4096));
        }
        return out;
    }

    /**
     * The error the stored matrices make on the held-out inputs: sum over matrices, rows and columns j of
     * {@code E[x_j^2] (W - W_stored)^2}, the expected squared output error when input features are uncorrelated.
     */
    private static double weightedError(LanguageModel stored, java.util.Map<String, float[]> exact,
                                        ImportanceMatrix inputs) {
        double error = 0;
        for (Placement p : ModelMapping.of(stored).placements()) {
            float[] w = inputs.columnWeights(p.ggufName());
            if (w == null) {
                continue;
            }
            float[] q = stored.stateDict().get(p.hfName()).toFloatArray();
            float[] x = exact.get(p.hfName());
            for (int i = 0; i < q.length; i++) {
                double d = q[i] - x[i];
                error += w[i % w.length] * d * d;
            }
        }
        return error;
    }

    /** exp of the mean negative log-likelihood of every next token, in double on the host. */
    private static double perplexity(LanguageModel lm, List<long[]> sequences) {
        double nll = 0;
        long count = 0;
        for (long[] ids : sequences) {
            float[][] logits = lm.logits(new long[][] {ids}, null)[0];
            for (int t = 0; t + 1 < ids.length; t++) {
                double max = Double.NEGATIVE_INFINITY;
                for (float v : logits[t]) {
                    max = Math.max(max, v);
                }
                double sum = 0;
                for (float v : logits[t]) {
                    sum += Math.exp(v - max);
                }
                nll += max + Math.log(sum) - logits[t][(int) ids[t + 1]];
                count++;
            }
        }
        return Math.exp(nll / count);
    }
}
