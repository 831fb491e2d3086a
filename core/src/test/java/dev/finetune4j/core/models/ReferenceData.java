package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Reference tensors of a test-resource folder, copied out as arrays. */
public final class ReferenceData {
    final Map<String, float[]> floats = new HashMap<>();
    final Map<String, long[]> longs = new HashMap<>();
    final Map<String, int[]> shapes = new HashMap<>();

    public static Path resource(String path) {
        try {
            return Path.of(ReferenceData.class.getResource("/" + path).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing test resource " + path, e);
        }
    }

    /**
     * How a test loads a reference folder to compare it with its float32 references: weights widened to float32 on
     * {@code device}. NOTE: most folders store their weights as bf16 (drawn as bf16 values by tools/reference's
     * generators, for half the bytes); loaded as stored they would run the bf16-weight kernels, not the float32 ones
     * these references check.
     *
     * @param device where the weights go
     * @return the options: float32 weights on {@code device}
     */
    public static LoadOptions f32(Device device) {
        return LoadOptions.builder().dtype(DType.F32).device(device).build();
    }

    public static ReferenceData load(String path) throws Exception {
        ReferenceData r = new ReferenceData();
        try (SafetensorsFile f = SafetensorsFile.open(resource(path))) {
            for (String name : f.names()) {
                Tensor t = f.tensor(name);
                r.shapes.put(name, t.shape().dims());
                if (t.dtype().isFloatingPoint()) {
                    r.floats.put(name, t.toFloatArray());
                } else {
                    r.longs.put(name, t.toLongArray());
                }
            }
        }
        return r;
    }

    public long[][] ids(String name) {
        long[] flat = longs.get(name);
        int[] s = shapes.get(name);
        long[][] out = new long[s[0]][s[1]];
        for (int i = 0; i < s[0]; i++) {
            System.arraycopy(flat, i * s[1], out[i], 0, s[1]);
        }
        return out;
    }
}
