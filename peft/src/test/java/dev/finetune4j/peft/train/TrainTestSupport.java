package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** Test resources under /train and small readers for them. */
final class TrainTestSupport {
    private TrainTestSupport() {
    }

    /** A folder or file under src/test/resources/train. */
    static Path resource(String relative) {
        try {
            return Path.of(TrainTestSupport.class.getResource("/train/" + relative).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing test resource /train/" + relative, e);
        }
    }

    static JsonNode json(Path file) {
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An I64 tensor of rank 2 from a safetensors file. */
    static long[][] longs2d(Path file, String name) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Tensor t = f.tensor(name);
            long[] flat = t.toLongArray();
            long[][] out = new long[t.dim(0)][];
            for (int i = 0; i < out.length; i++) {
                out[i] = Arrays.copyOfRange(flat, i * t.dim(1), (i + 1) * t.dim(1));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every tensor of a safetensors file as float32 values, by name. */
    static Map<String, float[]> floats(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, float[]> out = new LinkedHashMap<>();
            for (String name : f.names()) {
                out.put(name, f.tensor(name).toFloatArray());
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The weights of a saved adapter folder, by PEFT name. */
    static Map<String, float[]> adapterWeights(Path adapterDir) {
        return floats(adapterDir.resolve(Checkpoints.ADAPTER_FILE));
    }

    /** Largest relative L2 difference ||a - b|| / ||b|| over the tensors of {@code expected}; the name in [1]. */
    static Object[] maxRelativeDifference(Map<String, float[]> actual, Map<String, float[]> expected) {
        double worst = 0;
        String where = "";
        for (Map.Entry<String, float[]> e : expected.entrySet()) {
            float[] a = actual.get(e.getKey());
            if (a == null) {
                throw new AssertionError("no tensor '" + e.getKey() + "' among " + actual.keySet());
            }
            double diff = 0;
            double norm = 0;
            for (int i = 0; i < a.length; i++) {
                double d = a[i] - e.getValue()[i];
                diff += d * d;
                norm += (double) e.getValue()[i] * e.getValue()[i];
            }
            double rel = Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-30);
            if (rel > worst) {
                worst = rel;
                where = e.getKey();
            }
        }
        return new Object[]{worst, where};
    }
}
