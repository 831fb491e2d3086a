package dev.finetune4j.core.nn;

import dev.finetune4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import java.util.function.Function;

/** Loading weights into a module tree and initialising them. */
public final class StateDicts {
    private StateDicts() {
    }

    /**
     * Copies each parameter of {@code module} from {@code source} (by Hugging Face name, converted to float32).
     *
     * @param module the module whose parameters are filled
     * @param source  name -> tensor, or null when absent
     * @param aliases alternative names to try for a parameter (tied embeddings, prefixes); may return null
     * @throws IllegalArgumentException listing every missing or mis-shaped weight
     */
    public static void load(Module module, Function<String, Tensor> source, Function<String, String> aliases) {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : module.stateDict().entrySet()) {
            String name = e.getKey();
            Tensor src = source.apply(name);
            if (src == null && aliases != null) {
                String alt = aliases.apply(name);
                src = alt == null ? null : source.apply(alt);
            }
            if (src == null) {
                problems.add("missing weight '" + name + "'");
                continue;
            }
            Tensor dst = e.getValue();
            if (!src.shape().equals(dst.shape())) {
                problems.add("weight '" + name + "' has shape " + src.shape() + ", the config implies " + dst.shape());
                continue;
            }
            dst.copyFrom(src.toFloatArray());
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("the checkpoint does not fit the model's config: " + String.join("; ", problems));
        }
    }

    /**
     * Fills every parameter named "*.weight" of rank 2 with N(0, std) from {@code random}, leaving norms (ones)
     * and biases (zeros) as constructed: the initialisation Hugging Face's {@code _init_weights} uses.
     *
     * @param module the module whose weights are drawn
     * @param std standard deviation of the normal distribution
     * @param random the seeded random stream
     */
    public static void initNormal(Module module, double std, SplittableRandom random) {
        for (Map.Entry<String, Tensor> e : module.stateDict().entrySet()) {
            Tensor t = e.getValue();
            if (t.rank() == 2) {
                fill(t, () -> gaussian(random) * std);
            }
        }
    }

    /**
     * Overwrites the contiguous float32 tensor {@code t} (on any device) with {@code numel} values drawn in
     * row-major order, each rounded to float32: how parameters are initialised from a seeded stream.
     *
     * @param t the tensor to overwrite
     * @param values supplies one value per element
     */
    public static void fill(Tensor t, DoubleSupplier values) {
        float[] v = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) values.getAsDouble();
        }
        t.copyFrom(v);
    }

    /**
     * A standard normal draw (Box-Muller), reproducible from the random stream.
     *
     * @param random the random stream
     * @return a draw from N(0, 1)
     */
    public static double gaussian(SplittableRandom random) {
        double u1 = random.nextDouble();
        double u2 = random.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }
}
