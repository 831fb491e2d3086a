package dev.finetune4j.onnx;

import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.models.ReferenceFolders;
import dev.finetune4j.core.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A model folder of core's test resources ({@code references/NAME}: config.json, model.safetensors and the
 * reference.safetensors that tools/reference/families_torch.py wrote), copied out of core's test jar by stream (a
 * resource inside a jar has no file-system path), with its reference tensors read as arrays.
 *
 * @param folder the copy, which AutoModel loads
 * @param tensors the reference tensors by name, as float or long arrays
 * @param shapes their shapes
 */
record CoreFixture(Path folder, Map<String, Object> tensors, Map<String, int[]> shapes) {
    private static final List<String> FILES = List.of("config.json", "model.safetensors", "reference.safetensors");

    /** Copies core's {@code resource} folder into {@code into} and reads its reference tensors. */
    static CoreFixture copy(String resource, Path into) throws IOException {
        ReferenceFolders.copy(resource, FILES, into);
        Map<String, Object> tensors = new HashMap<>();
        Map<String, int[]> shapes = new HashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(into.resolve("reference.safetensors"))) {
            for (String name : f.names()) {
                Tensor t = f.tensor(name);
                shapes.put(name, t.shape().dims());
                tensors.put(name, t.dtype().isFloatingPoint() ? t.toFloatArray() : t.toLongArray());
            }
        }
        return new CoreFixture(into, tensors, shapes);
    }

    /** Whether the fixture holds tensor {@code name}. */
    boolean has(String name) {
        return tensors.containsKey(name);
    }

    /** A 2-D int64 tensor (token ids, masks) as [rows][columns]. */
    long[][] ids(String name) {
        long[] flat = (long[]) require(name);
        int[] s = shapes.get(name);
        long[][] out = new long[s[0]][s[1]];
        for (int i = 0; i < s[0]; i++) {
            System.arraycopy(flat, i * s[1], out[i], 0, s[1]);
        }
        return out;
    }

    /** A 2-D float tensor (a classifier's logits) as [rows][columns]. */
    float[][] matrix(String name) {
        float[] flat = (float[]) require(name);
        int[] s = shapes.get(name);
        float[][] out = new float[s[0]][s[1]];
        for (int i = 0; i < s[0]; i++) {
            System.arraycopy(flat, i * s[1], out[i], 0, s[1]);
        }
        return out;
    }

    /** A (B, T, V) float tensor as [B][T][V]. */
    float[][][] logits(String name) {
        float[] flat = (float[]) require(name);
        int[] s = shapes.get(name);
        float[][][] out = new float[s[0]][s[1]][s[2]];
        for (int b = 0; b < s[0]; b++) {
            for (int t = 0; t < s[1]; t++) {
                System.arraycopy(flat, (b * s[1] + t) * s[2], out[b][t], 0, s[2]);
            }
        }
        return out;
    }

    private Object require(String name) {
        Object t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException(folder + "/reference.safetensors has no tensor '" + name + "'");
        }
        return t;
    }
}
