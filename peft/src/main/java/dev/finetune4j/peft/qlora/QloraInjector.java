package dev.finetune4j.peft.qlora;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.decoder.SparseMoeBlock;
import dev.finetune4j.core.models.decoder.StackedMatrices;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftConfig;
import dev.finetune4j.peft.PeftModel;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * QLoRA: the base model's linear weights become {@link DType#NF4} tensors (all of them except the output head's, as
 * bitsandbytes' 4-bit loading leaves {@code lm_head}), then LoRA goes on top as usual. The saved adapter is a plain
 * LoRA adapter, as PEFT saves QLoRA adapters.
 *
 * <pre>{@code
 * PeftModel m = QloraInjector.wrap(base, LoraConfig.builder().r(16).loraAlpha(32).targetModules("q_proj", "v_proj").build());
 * }</pre>
 *
 * <p>A base loaded with {@code LoadOptions.builder().quantization(Quantization.NF4)} is quantized already, as each
 * weight was read, and {@code Peft.wrap} on it is QLoRA; these methods leave its NF4 weights as they are. On a
 * full-precision base each weight that is quantized here is released from the base model's parameter scope right
 * away, so the model's memory shrinks to the NF4 share; the peak while loading still held the full checkpoint.
 *
 * <p>Thread safety: stateless; mutates the given model.
 */
public final class QloraInjector {
    private QloraInjector() {
    }

    /**
     * Quantizes the weight of every linear layer of {@code base} that {@link #quantizes} names to NF4 (layers
     * already in NF4 stay as they are), and the stacked expert matrices of gpt-oss and Granite (not in the returned
     * map).
     *
     * @param base the model to quantize in place
     * @return the linear layers quantized by this call, by path
     */
    public static Map<String, Linear> quantize(LanguageModel base) {
        Map<String, Linear> out = new LinkedHashMap<>();
        TensorScope scope = base.parameterScope();
        base.namedModules().forEach((path, m) -> {
            if (quantizes(path, m) && !isQuantized(m)) {
                Linear l = (Linear) m;
                toNf4(l, "weight", scope);
                out.put(path, l);
            }
            if (m instanceof StackedMatrices stacked) {
                for (String matrix : stacked.matrixNames()) {
                    if (m.parameter(matrix).dtype() != DType.NF4) {
                        toNf4(m, matrix, scope);
                    }
                }
            }
        });
        return out;
    }

    /** Replaces {@code module}'s parameter {@code name} by its NF4 quantization, freeing the dense copy. */
    private static void toNf4(Module module, String name, TensorScope scope) {
        Tensor dense = module.parameter(name);
        module.setParameter(name, dense.convertTo(DType.NF4, scope));
        if (scope.owns(dense)) {
            scope.release(dense); // a memory-mapped weight belongs to its file
        }
    }

    /**
     * Whether QLoRA stores the weight of the layer {@code module} at {@code path} in NF4: true for every linear layer
     * but the output head, {@code lm_head}, and a mixture of experts' routers ({@link SparseMoeBlock#isRouter}).
     *
     * @param path   the layer's dotted path in its model, e.g. {@code model.layers.0.mlp.up_proj}
     * @param module the layer
     * @return true for a layer {@link #quantize} quantizes
     */
    public static boolean quantizes(String path, Module module) {
        return module instanceof Linear && !path.equals("lm_head") && !SparseMoeBlock.isRouter(path);
    }

    /**
     * Whether {@code module} is a linear layer with an NF4 weight.
     *
     * @param module any module
     * @return true for a quantized linear layer
     */
    public static boolean isQuantized(Module module) {
        return module instanceof Linear l && l.weight().dtype() == DType.NF4;
    }

    /**
     * Quantizes the base model to NF4 and injects a fresh adapter on top: QLoRA with a {@code LoraConfig}.
     *
     * @param base   the model (quantized in place)
     * @param config the adapter's config (a {@code LoraConfig} for QLoRA)
     * @return the adapted model
     */
    public static PeftModel wrap(LanguageModel base, PeftConfig config) {
        quantize(base);
        return Peft.wrap(base, config);
    }

    /**
     * Quantizes the base model to NF4 and loads a saved (QLoRA) adapter on top, for inference: the logits are then
     * those the adapter was trained with. {@code Peft.load} on a full-precision base warns that they differ.
     *
     * @param base       the model (quantized in place)
     * @param adapterDir the saved adapter
     * @return the QLoRA model
     */
    public static PeftModel load(LanguageModel base, Path adapterDir) {
        quantize(base);
        return Peft.load(base, adapterDir);
    }

    /**
     * As {@link #load}, with the adapter's parameters trainable (to continue QLoRA training).
     *
     * @param base       the model (quantized in place)
     * @param adapterDir the saved adapter
     * @return the QLoRA model
     */
    public static PeftModel loadTrainable(LanguageModel base, Path adapterDir) {
        quantize(base);
        return Peft.loadTrainable(base, adapterDir);
    }

    /**
     * Bytes per quantized parameter over every NF4 weight of {@code model} (about 0.516: codes, block maxima and
     * group scales).
     *
     * @param model any module tree
     * @return the storage of its NF4 weights per value, or 0 when it has none
     */
    public static double bytesPerParameter(Module model) {
        long bytes = 0;
        long params = 0;
        for (Tensor w : model.stateDict().values()) {
            if (w.dtype() == DType.NF4) {
                bytes += DType.NF4.bytesFor(w.numel());
                params += w.numel();
            }
        }
        return params == 0 ? 0 : (double) bytes / params;
    }
}
