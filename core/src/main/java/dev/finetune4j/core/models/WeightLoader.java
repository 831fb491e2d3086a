package dev.finetune4j.core.models;

import dev.finetune4j.core.autograd.Xielu;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.io.TensorInfo;
import dev.finetune4j.core.models.decoder.FusedExperts;
import dev.finetune4j.core.models.decoder.SparseMoeBlock;
import dev.finetune4j.core.models.decoder.StackedMatrices;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Quantization;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Puts a checkpoint's weights in place of a model's placeholder parameters (built on {@link Device#meta()}), each
 * going from the file into its final storage once:
 * <ul>
 *   <li>BF16 and F16 weights that stay in their dtype on the CPU are the memory-mapped file itself: no copy, no
 *       anonymous memory, read-only (a frozen base for adapters);</li>
 *   <li>with {@link Quantization#NF4}, each linear weight but {@code lm_head}'s and a mixture of experts' routers'
 *       ({@code gate}, {@code shared_expert_gate}, {@code router}), and gpt-oss's stacked expert matrices, is
 *       quantized from the file (on
 *       another device: from one staged copy of that weight) straight into its NF4 tensor;</li>
 *   <li>parameters stored as MXFP4 blocks and scales (gpt-oss's experts, {@link Mxfp4}) are dequantized, to bf16
 *       unless another dtype is asked for (with NF4: quantized from a host bf16 copy);</li>
 *   <li>everything else (F32 checkpoints, a dtype conversion, another device) is copied into the scope of the
 *       loaded weights, converted on the way, and can be trained or merged into.</li>
 * </ul>
 */
final class WeightLoader {
    private WeightLoader() {
    }

    /** Checkpoint tensors that are buffers, not weights: rotary frequencies, GPT-2's causal-mask buffers. */
    private static final Pattern BUFFERS = Pattern.compile(
            "(.*\\.)?(rotary_emb\\.inv_freq|h\\.\\d+\\.attn\\.(bias|masked_bias)|embeddings\\.(position_ids|token_type_ids))");

    /** xIELU's beta and eps (Apertus), which transformers saves as buffers beside the learned scalars. */
    private static final Pattern XIELU_CONSTANTS = Pattern.compile("(.*\\.)?act_fn\\.(beta|eps)");

    /**
     * What {@link #load} did.
     *
     * @param mapped whether some weight is a view of the mapped checkpoint (which must then stay open with the model)
     * @param unused checkpoint tensors no parameter took, in checkpoint order, leaving out known-harmless ones
     *               (buffers, an output head identical to a loaded embedding)
     */
    record Result(boolean mapped, List<String> unused) {
    }

    /**
     * Loads every parameter of {@code model} from {@code ckpt} into {@code into}.
     *
     * @param dtype   the dtype to store weights in, or null for each weight's dtype in the checkpoint
     * @param quantization whether linear weights (all but {@code lm_head}'s and the routers') are stored as NF4
     * @param aliases alternative names to try for a parameter; may return null
     * @param progress counts the bytes read, and reports a long load
     * @return whether the checkpoint stays mapped, and the checkpoint tensors the model did not use
     * @throws IllegalArgumentException listing every missing or mis-shaped weight
     */
    static Result load(Module model, SafetensorsCheckpoint ckpt, Function<String, String> aliases, TensorScope into,
                        DType dtype, Quantization quantization, LoadProgress progress) {
        List<String> problems = new ArrayList<>();
        boolean mapped = false;
        Set<String> used = new HashSet<>();
        for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
            String name = e.getKey();
            Tensor placeholder = e.getValue();
            String key = ckpt.contains(name) ? name : aliases.apply(name);
            if ((key == null || !ckpt.contains(key)) && Mxfp4.holds(ckpt, name)) {
                used.add(name + "_blocks");
                used.add(name + "_scales");
                replace(model, name, unpacked(model, ckpt, name, placeholder, into, dtype, quantization));
                progress.advance(Mxfp4.storedBytes(ckpt, name));
                continue;
            }
            if (key == null || !ckpt.contains(key)) {
                problems.add("missing weight '" + name + "'");
                continue;
            }
            used.add(key);
            long bytes = ckpt.info(key).byteSize();
            Tensor src = ckpt.tensor(key);
            if (!src.dtype().isFloatingPoint()) {
                problems.add("weight '" + name + "' is " + src.dtype() + ", not a floating-point type");
                continue;
            }
            if (!src.shape().equals(placeholder.shape()) && storedAsTransformersHoldsIt(model, name, src, placeholder)) {
                replace(model, name, turned(model, name, src, placeholder, dtype, quantization, into));
                progress.advance(bytes);
                continue;
            }
            if (!src.shape().equals(placeholder.shape())) {
                problems.add("weight '" + name + "' has shape " + src.shape() + ", the config implies " + placeholder.shape());
                continue;
            }
            if (quantization == Quantization.NF4 && isQuantizable(model, name)) {
                replace(model, name, quantize(src, into));
                progress.advance(bytes);
                continue;
            }
            DType target = dtype != null ? dtype : src.dtype();
            boolean zeroCopy = target == src.dtype() && target != DType.F32 && into.device().isCpu();
            Tensor weight = zeroCopy ? src : copy(src, target, into);
            mapped |= zeroCopy;
            replace(model, name, weight.requiresGrad(placeholder.requiresGrad() && target == DType.F32));
            progress.advance(bytes);
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("the checkpoint does not fit the model's config: " + String.join("; ", problems));
        }
        progress.finish();
        return new Result(mapped, unused(ckpt, used));
    }

    /**
     * Whether {@code src} is a stacked expert matrix that transformers 5 turns from its checkpoint layout as it loads it
     * (Qwen3-VL-MoE's, {@link FusedExperts#transposedByTransformers}) saved the way transformers holds it, as
     * {@code save_pretrained} writes it: each expert's matrix transposed. (Square matrices cannot be told apart by their
     * shape: they are read in the checkpoint layout, which the published folders use.)
     */
    private static boolean storedAsTransformersHoldsIt(Module model, String name, Tensor src, Tensor placeholder) {
        int dot = name.lastIndexOf('.');
        return dot > 0 && owner(model, name) instanceof FusedExperts experts && experts.transposedByTransformers()
                && experts.isMatrix(name.substring(dot + 1)) && src.rank() == 3
                && src.shape().equals(Shape.of(placeholder.dim(0), placeholder.dim(2), placeholder.dim(1)));
    }

    /** {@code src}'s experts each transposed into the checkpoint layout, converted or quantized as the load asks. */
    private static Tensor turned(Module model, String name, Tensor src, Tensor placeholder, DType dtype,
                                 Quantization quantization, TensorScope into) {
        try (TensorScope staging = TensorScope.open()) {
            Tensor layout = src.permute(0, 2, 1).contiguous();
            if (quantization == Quantization.NF4 && isQuantizable(model, name)) {
                return quantize(layout, into);
            }
            DType target = dtype != null ? dtype : src.dtype();
            return copy(layout, target, into).requiresGrad(placeholder.requiresGrad() && target == DType.F32);
        }
    }

    /**
     * An MXFP4-packed parameter dequantized (exactly) into bf16 or the asked dtype, or, with NF4, from a host bf16
     * copy into NF4, so that QLoRA of a published gpt-oss folder holds its experts in 4 bits.
     */
    private static Tensor unpacked(Module model, SafetensorsCheckpoint ckpt, String name, Tensor placeholder,
                                   TensorScope into, DType dtype, Quantization quantization) {
        if (quantization == Quantization.NF4 && isQuantizable(model, name)) {
            try (TensorScope staging = TensorScope.detached()) {
                return quantize(Mxfp4.dequantize(ckpt, name, placeholder.shape(), DType.BF16, staging), into);
            }
        }
        DType target = dtype != null ? dtype : DType.BF16; // exact: FP4 values under power-of-two scales
        return Mxfp4.dequantize(ckpt, name, placeholder.shape(), target, into)
                .requiresGrad(placeholder.requiresGrad() && target == DType.F32);
    }

    /**
     * The tensors of {@code ckpt} not in {@code used}, leaving out buffers and exact copies of a used tensor (a
     * tied {@code lm_head.weight} saved next to the embeddings it equals). A tensor left over otherwise means the
     * config describes another architecture than the file (Qwen2's q/k/v biases under {@code model_type} llama).
     */
    static List<String> unused(SafetensorsCheckpoint ckpt, Set<String> used) {
        List<String> unused = new ArrayList<>();
        for (String name : ckpt.names()) {
            if (!used.contains(name) && !BUFFERS.matcher(name).matches() && !fixedXieluConstant(ckpt, name)
                    && !copyOfUsed(ckpt, name, used)) {
                unused.add(name);
            }
        }
        return unused;
    }

    /**
     * Whether {@code name} is an xIELU beta or eps buffer holding the value the kernels use ({@link Xielu#BETA},
     * {@link Xielu#EPS}); within 1%, since a bf16 checkpoint holds eps rounded to 8 significant bits (-9.98e-7).
     *
     * @throws IllegalArgumentException when it holds another value, which finetune4j would not compute with
     */
    private static boolean fixedXieluConstant(SafetensorsCheckpoint ckpt, String name) {
        Matcher m = XIELU_CONSTANTS.matcher(name);
        if (!m.matches()) {
            return false;
        }
        float expected = m.group(2).equals("beta") ? Xielu.BETA : Xielu.EPS;
        float[] stored = ckpt.tensor(name).toFloatArray();
        if (stored.length != 1 || !(Math.abs(stored[0] - expected) <= 0.01 * Math.abs(expected))) {
            throw new IllegalArgumentException("checkpoint tensor '" + name + "' holds " + Arrays.toString(stored)
                    + ", but finetune4j computes xIELU with transformers' fixed " + m.group(2) + " = " + expected
                    + " (a buffer that training never changes): a checkpoint with another value is not supported");
        }
        return true;
    }

    private static boolean copyOfUsed(SafetensorsCheckpoint ckpt, String name, Set<String> used) {
        TensorInfo info = ckpt.info(name);
        for (String u : used) {
            TensorInfo other = ckpt.info(u);
            if (other.dtype() == info.dtype() && Arrays.equals(other.shape(), info.shape())
                    && ckpt.tensor(name).hostSegment().mismatch(ckpt.tensor(u).hostSegment()) == -1) {
                return true;
            }
        }
        return false;
    }

    /** {@code src} (host memory) converted to {@code dtype} in a tensor of {@code into} on its device. */
    private static Tensor copy(Tensor src, DType dtype, TensorScope into) {
        if (into.device().isCpu()) {
            return src.convertTo(dtype, into);
        }
        try (TensorScope staging = TensorScope.detached()) {
            return src.convertTo(dtype, staging).copyTo(into.device(), into);
        }
    }

    /**
     * Whether {@code name} is what NF4 loading quantizes: the weight of a {@link Linear} other than the output head
     * and the routers, or a stacked expert matrix (gpt-oss's, Granite's).
     */
    private static boolean isQuantizable(Module root, String name) {
        int dot = name.lastIndexOf('.');
        if (dot > 0 && owner(root, name) instanceof StackedMatrices stacked && stacked.isMatrix(name.substring(dot + 1))) {
            return true;
        }
        if (dot < 0 || !name.substring(dot + 1).equals("weight") || name.substring(0, dot).equals("lm_head")) {
            return false;
        }
        // NOTE: a mixture's routers stay as stored: 4-bit error in their scores would change which experts a token meets
        String module = name.substring(0, dot);
        return owner(root, name) instanceof Linear && !SparseMoeBlock.isRouter(module);
    }

    /** {@code src} (host memory) quantized to NF4 in a tensor of {@code into} on its device. */
    private static Tensor quantize(Tensor src, TensorScope into) {
        if (into.device().isCpu()) {
            return src.convertTo(DType.NF4, into);
        }
        try (TensorScope staging = TensorScope.detached(into.device())) {
            Tensor staged = src.copyTo(into.device(), staging);
            Tensor out = Tensor.zeros(into, DType.NF4, src.shape());
            into.device().backend().quantization().quantizeNf4(staged, out);
            return out;
        }
    }

    /** Sets the parameter at the dotted path {@code name} ("model.layers.0.mlp.up_proj.weight"). */
    private static void replace(Module root, String name, Tensor value) {
        owner(root, name).setParameter(name.substring(name.lastIndexOf('.') + 1), value);
    }

    /** The module holding the parameter at the dotted path {@code name}: {@code root} for a name without a dot. */
    static Module owner(Module root, String name) {
        Module owner = root;
        String[] parts = name.split("\\.");
        for (int i = 0; i < parts.length - 1; i++) {
            owner = owner.child(parts[i]);
        }
        return owner;
    }
}
