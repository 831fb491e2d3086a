package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
        try {
            byte[] bytes = Files.readAllBytes(file);
            long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            JsonNode t = new ObjectMapper().readTree(new String(bytes, 8, (int) n, StandardCharsets.UTF_8)).get(name);
            int rows = t.get("shape").get(0).asInt();
            int cols = t.get("shape").get(1).asInt();
            ByteBuffer data = ByteBuffer.wrap(bytes, (int) (8 + n + t.get("data_offsets").get(0).asLong()), rows * cols * 8)
                    .order(ByteOrder.LITTLE_ENDIAN);
            long[][] out = new long[rows][cols];
            for (long[] row : out) {
                for (int j = 0; j < cols; j++) {
                    row[j] = data.getLong();
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
