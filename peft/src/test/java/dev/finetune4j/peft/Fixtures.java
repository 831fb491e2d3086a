package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Test resources under /hf-tiny (copied from the Python reference stack) and comparisons that say where they differ. */
public final class Fixtures {
    private Fixtures() {
    }

    /** A folder or file under src/test/resources/hf-tiny. */
    public static Path dir(String relative) {
        try {
            return Path.of(Fixtures.class.getResource("/hf-tiny/" + relative).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing test resource /hf-tiny/" + relative, e);
        }
    }

    /**
     * A copy of the adapter folder {@code adapter} (under hf-tiny, e.g. {@code llama/lora}) in {@code into}, with the
     * given fields of its adapter_config.json replaced by JSON texts (a field set to {@code "5"} holds the number 5).
     */
    public static Path adapterWith(String adapter, Path into, Map<String, String> fields) {
        return copyWith(dir(adapter), "adapter_model.safetensors", "adapter_config.json", into, fields);
    }

    /**
     * A copy of the model folder {@code model} (under hf-tiny: its config.json and model.safetensors) in {@code into},
     * with the given fields of its config.json replaced by JSON texts.
     */
    public static Path modelWith(String model, Path into, Map<String, String> fields) {
        return modelWith(dir(model), into, fields);
    }

    /** {@link #modelWith(String, Path, Map)} for any model folder {@code source}. */
    public static Path modelWith(Path source, Path into, Map<String, String> fields) {
        return copyWith(source, "model.safetensors", "config.json", into, fields);
    }

    /** A copy of {@code source}'s weights file and JSON config in {@code into}, the given config fields replaced. */
    private static Path copyWith(Path source, String weights, String config, Path into, Map<String, String> fields) {
        try {
            Files.createDirectories(into);
            Files.copy(source.resolve(weights), into.resolve(weights));
            ObjectMapper json = new ObjectMapper();
            ObjectNode node = (ObjectNode) json.readTree(source.resolve(config).toFile());
            for (Map.Entry<String, String> f : fields.entrySet()) {
                node.set(f.getKey(), json.readTree(f.getValue()));
            }
            json.writeValue(into.resolve(config).toFile(), node);
            return into;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every tensor of {@code <model>/reference.safetensors}, as float arrays (I64 as their values). */
    static Map<String, float[]> reference(String model) {
        return reference(model, "reference.safetensors");
    }

    /** Every tensor of {@code <model>/<file>}, as float arrays (I64 as their values). */
    static Map<String, float[]> reference(String model, String file) {
        Map<String, float[]> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(dir(model).resolve(file))) {
            for (String n : f.names()) {
                out.put(n, f.tensor(n).toFloatArray());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** A rank-2 I64 reference tensor as [rows][cols]. */
    static long[][] ids(String model, String name) {
        return ids(dir(model), name);
    }

    /** A rank-2 I64 tensor of {@code folder/reference.safetensors} as [rows][cols]. */
    public static long[][] ids(Path folder, String name) {
        try (SafetensorsFile f = SafetensorsFile.open(folder.resolve("reference.safetensors"))) {
            Tensor t = f.tensor(name);
            long[] flat = t.toLongArray();
            int cols = t.dim(1);
            long[][] out = new long[t.dim(0)][cols];
            for (int i = 0; i < out.length; i++) {
                System.arraycopy(flat, i * cols, out[i], 0, cols);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Largest absolute difference, with its index, as "1.2e-06 at [i]". */
    public static double maxAbs(float[] actual, float[] expected, StringBuilder where) {
        if (actual.length != expected.length) {
            throw new AssertionError("length " + actual.length + " != expected " + expected.length);
        }
        double max = 0;
        int at = 0;
        for (int i = 0; i < actual.length; i++) {
            double d = Math.abs(actual[i] - expected[i]);
            if (!(d <= max)) {
                max = d;
                at = i;
            }
        }
        where.append(String.format("%.3g at [%d] (actual %s, expected %s)", max, at, actual[at], expected[at]));
        return max;
    }

    /** ||a - b|| / ||b||. */
    static double relNorm(float[] actual, float[] expected) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < actual.length; i++) {
            num += (actual[i] - expected[i]) * (double) (actual[i] - expected[i]);
            den += expected[i] * (double) expected[i];
        }
        return Math.sqrt(num / den);
    }

    /** Hugging Face's causal-LM loss of logits (B, T, V) with labels = ids shifted by one. */
    public static Tensor causalLoss(Tensor logits, long[][] ids) {
        int b = ids.length;
        int t = ids[0].length;
        int[] labels = new int[b * t];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                labels[i * t + j] = j + 1 < t ? (int) ids[i][j + 1] : CrossEntropy.IGNORE_INDEX;
            }
        }
        return CrossEntropy.loss(logits.reshape(b * t, logits.dim(2)), labels);
    }

    /** [B][T][V] -> flat row-major. */
    static float[] flat(float[][][] x) {
        int n = x.length * x[0].length * x[0][0].length;
        float[] out = new float[n];
        int k = 0;
        for (float[][] a : x) {
            for (float[] row : a) {
                System.arraycopy(row, 0, out, k, row.length);
                k += row.length;
            }
        }
        return out;
    }
}
