package dev.finetune4j.peft.mix;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.lora.LoraConfig;

import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One LoRA adapter's factors per adapted module, read from its weights file: {@code A}: (r, in) from
 * {@code <module>.lora_A.weight}, {@code B}: (out, r) from {@code <module>.lora_B.weight}.
 *
 * @param a the down projection A, (r, in)
 * @param b the up projection B, (out, r)
 */
record AdapterFactors(Matrix a, Matrix b) {
    static final String A_SUFFIX = ".lora_A.weight";
    static final String B_SUFFIX = ".lora_B.weight";

    int rank() {
        return a.rows();
    }

    /** (out, in): the shape of the module's weight, which adapters of one base model share. */
    String weightShape() {
        return b.rows() + " x " + a.cols();
    }

    /**
     * The factors of every module of {@code files}, by module key (the tensor name without the {@code .lora_A.weight}
     * suffix), sorted.
     *
     * @throws PeftException when the file holds other tensors, a factor without its partner, or ranks that do not
     *                       match the config
     */
    static SortedMap<String, AdapterFactors> read(AdapterFiles files, LoraConfig config) {
        SortedMap<String, AdapterFactors> out = new TreeMap<>();
        Map<String, Tensor> weights = files.weights();
        for (Map.Entry<String, Tensor> e : weights.entrySet()) {
            String name = e.getKey();
            if (name.endsWith(B_SUFFIX)) {
                String module = name.substring(0, name.length() - B_SUFFIX.length());
                if (!weights.containsKey(module + A_SUFFIX)) {
                    throw incomplete(files, module, "lora_B", "lora_A");
                }
                continue;
            }
            if (!name.endsWith(A_SUFFIX)) {
                throw new PeftException("adapter " + files.dir() + " holds the tensor '" + name + "', which mixing cannot "
                        + "combine: only the lora_A / lora_B factors of linear layers are mixed (not embedding LoRA, DoRA "
                        + "magnitudes, trained biases or modules_to_save); mix adapters that hold only those");
            }
            String module = name.substring(0, name.length() - A_SUFFIX.length());
            Tensor b = weights.get(module + B_SUFFIX);
            if (b == null) {
                throw incomplete(files, module, "lora_A", "lora_B");
            }
            AdapterFactors f = new AdapterFactors(matrix(files, name, e.getValue()), matrix(files, module + B_SUFFIX, b));
            if (f.b.cols() != f.rank() || f.rank() != config.rankFor(module)) {
                throw new PeftException("adapter " + files.dir() + ", module " + module + ": lora_A has " + f.rank()
                        + " rows, lora_B " + f.b.cols() + " columns and adapter_config.json gives rank "
                        + config.rankFor(module) + "; they must agree: the adapter files are inconsistent, save the "
                        + "adapter again");
            }
            out.put(module, f);
        }
        return out;
    }

    private static Matrix matrix(AdapterFiles files, String name, Tensor t) {
        if (t.rank() != 2) {
            throw new PeftException("adapter " + files.dir() + ": tensor '" + name + "' has " + t.rank() + " dimensions, a "
                    + "LoRA factor has 2 (Conv LoRA cannot be mixed)");
        }
        Matrix.checkedSize(t.dim(0), t.dim(1));
        float[] values = t.toFloatArray();
        double[] wide = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw new PeftException("adapter " + files.dir() + ": tensor '" + name + "' holds " + values[i] + " at "
                        + "index " + i + ": the adapter diverged in training or the file is corrupt; mix finite adapters");
            }
            wide[i] = values[i];
        }
        return new Matrix(t.dim(0), t.dim(1), wide);
    }

    private static PeftException incomplete(AdapterFiles files, String module, String has, String lacks) {
        return new PeftException("adapter " + files.dir() + " has " + has + " but no " + lacks + " for module " + module
                + ": the weights file is incomplete; save or download the adapter again");
    }
}
