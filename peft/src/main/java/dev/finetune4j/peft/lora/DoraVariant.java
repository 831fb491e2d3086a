package dev.finetune4j.peft.lora;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.LowRank;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.Map;

/**
 * DoRA (Liu et al. 2024, eq. 5): a learned magnitude m per output row and a LoRA-updated direction,
 * y = bias + (m / ||W + s B A||_row) (x W^T + s x A^T B^T), with the row norm a constant for autograd (section 4.3).
 * Computed as PEFT's {@code DoraLinearLayer} does, y = base(x) + (m/n - 1)(dropout(x) W^T) + (m/n) s B A dropout(x),
 * by one op, {@link LowRank#weightDecomposed}, which keeps one (rows, out) activation more than plain LoRA's
 * {@link LowRank#linear} for the backward; the norm's (out, in) temporaries live in a scope of their own that closes once the (out) norms are
 * computed. {@link #output} is the same formula from its parts, for the inference engine's shared base product.
 *
 * <p>Thread safety: one instance per layer; as {@link LoraLinear}.
 */
final class DoraVariant implements LoraVariant {
    /** PEFT's name of m. */
    static final String MAGNITUDE = "lora_magnitude_vector";
    @Override
    public Map<String, Shape> parameters(int outFeatures) {
        return Map.of(MAGNITUDE, Shape.of(outFeatures));
    }

    /** m = ||W + s B A||_row, so that a fresh DoRA layer computes what the base layer computes. */
    @Override
    public void initialise(LoraLinear layer) {
        Tensor m = layer.parameter(MAGNITUDE);
        try (var scope = TensorScope.open()) {
            m.backend().copy().copy(rowNorms(layer, layer.base().weightTensor()), m);
        }
    }

    @Override
    public Tensor forward(LoraLinear layer, Tensor x, Tensor dropped) {
        // the stored weight when it is (out, in) (any dtype the products read), else a float32 (out, in) copy
        Tensor dense = layer.base().denseWeightOutIn();
        Tensor w = dense != null ? dense : layer.base().weightTensor();
        // NOTE: the products read NF4 blocks, the row norms only element values: QDoRA's take the dequantized copy
        Tensor norms = rowNorms(layer, w.dtype() == DType.NF4 ? layer.base().weightTensor() : w);
        return LowRank.weightDecomposed(x, dropped, w, layer.base().bias(), layer.loraA(), layer.loraB(),
                layer.scaling(), layer.parameter(MAGNITUDE), norms);
    }

    /** m / n (out), the norm n detached: PEFT treats it as a constant. */
    static Tensor scale(LoraLinear layer) {
        return scale(layer.parameter(MAGNITUDE), layer.base().weightTensor(), layer.loraA(), layer.loraB(), layer.scaling());
    }

    /** m / ||W + s B A||_row from the parts, for a layer's factors copied out of it (the inference engine's). */
    static Tensor scale(Tensor magnitude, Tensor weight, Tensor a, Tensor b, float s) {
        return Elementwise.div(magnitude, rowNorms(weight, a, b, s));
    }

    /** base(x) + (scale - 1) (base(x) - bias) + scale s B A x. */
    static Tensor output(Tensor result, Tensor baseResult, Tensor scale, Tensor lora, float scaling) {
        Tensor dBase = Elementwise.mul(Elementwise.addScalar(scale, -1f), baseResult);
        Tensor dLora = Elementwise.mul(scale, Elementwise.scale(lora, scaling));
        return Elementwise.add(result, Elementwise.add(dBase, dLora));
    }

    /** (m / n) (W + s B A), with n = ||W + s B A||_row. */
    @Override
    public Tensor mergedWeight(LoraLinear layer) {
        Tensor w = layer.base().weightTensor();
        Tensor scale = scale(layer.parameter(MAGNITUDE), w, layer.loraA(), layer.loraB(), layer.scaling());
        return LoraLinear.mergedWeight(w, layer.loraA(), layer.loraB(), layer.scaling(), scale);
    }

    /**
     * ||W + s B A|| per output row: (out), without autograd, in the current scope. It runs at every forward, so it
     * is expanded as ||W_i||^2 + 2 s B_i . (W A^T)_i + s^2 B_i . (B A A^T)_i: W is read twice (its rows' dot
     * products with themselves, and the product W A^T), with no (out, in) temporary, where summing W + s B A directly
     * makes W + s B A, its square and a float32 copy of W. The (out, r) temporaries live in an inner scope that closes
     * here.
     *
     * @param weight the layer's base weight W as (out, in), in any dtype
     */
    private static Tensor rowNorms(LoraLinear layer, Tensor weight) {
        return rowNorms(weight, layer.loraA(), layer.loraB(), layer.scaling());
    }

    private static Tensor rowNorms(Tensor weight, Tensor a, Tensor b, float s) {
        TensorScope caller = TensorScope.current();
        try (var temps = TensorScope.open(); var ng = Autograd.noGrad()) {
            Tensor squares = rowDot(weight, weight);
            // W A^T (out, r); B (A A^T) (out, r), A A^T being symmetric
            Tensor cross = rowDot(b, Matmul.linear(weight, a, null));
            Tensor quadratic = rowDot(b, Matmul.linear(b, Matmul.linear(a, a, null), null));
            Tensor normSquared = Elementwise.add(squares, Elementwise.add(Elementwise.scale(cross, 2 * s),
                    Elementwise.scale(quadratic, s * s)));
            Tensor norm = Elementwise.sqrt(normSquared);
            return norm.copyTo(norm.device(), caller);
        }
    }

    /** sum over columns of x * y, per row: (out, k) x (out, k) -> (out), summed in double, no (out, k) temporary. */
    private static Tensor rowDot(Tensor x, Tensor y) {
        return Reductions.dot(x, y, 1);
    }
}
