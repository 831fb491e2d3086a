package dev.finetune4j.peft;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.models.CausalLM;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LogitsModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.nio.file.Path;
import java.util.Map;

/**
 * A causal language model with one PEFT adapter: Hugging Face PEFT's {@code PeftModelForCausalLM}.
 * Create it with {@link Peft#wrap}, {@link Peft#load} or {@link Peft#loadTrainable}.
 *
 * <pre>{@code
 * try (PeftModel m = Peft.wrap(base, LoraConfig.builder().r(16).loraAlpha(32).targetModules("q_proj", "v_proj").build())) {
 *     System.out.println(m.trainableReport());   // trainable params: ... || all params: ... || trainable%: ...
 *     // train m.trainableParameters() ...
 *     m.save(Path.of("adapter"));               // loads in Python PEFT as it is
 * }
 * }</pre>
 *
 * <p>With prompt tuning the logits have {@link #virtualTokens()} extra positions at the front, as in PEFT.
 *
 * <p>Thread safety: {@link #logits} and {@link #forward} in eval mode may run concurrently; {@link #train},
 * {@link #disableAdapter}, {@link #merge}, {@link #unmerge}, loading and saving must not overlap with anything.
 */
public final class PeftModel implements CausalLM, LogitsModel {
    private final LanguageModel base;
    private final AdapterState state;

    PeftModel(LanguageModel base, AdapterState state) {
        this.base = base;
        this.state = state;
    }

    /** The base model (its tree holds the adapter's wrappers while the adapter is injected). */
    public LanguageModel base() {
        return base;
    }

    /** The adapter's configuration. */
    public PeftConfig config() {
        return state.config();
    }

    /** Logits (B, P + T, V) with autograd through the adapter's parameters; P is {@link #virtualTokens()}. */
    @Override
    public Tensor forward(ModelInput input) {
        return base.forward(state.tuner().prepare(input));
    }

    @Override
    public ModelSpec spec() {
        return base.spec();
    }

    /** Positions prepended to every sequence's logits: prompt tuning's virtual tokens, else 0. */
    public int virtualTokens() {
        return state.tuner().virtualTokens();
    }

    /** The adapter's parameters that require gradients, keyed by PEFT's saved names, in a stable order. */
    public Map<String, Tensor> trainableParameters() {
        return state.trainableParameters();
    }

    /** Every adapter tensor by PEFT's saved name (trainable or not), in a stable order. */
    public Map<String, Tensor> adapterTensors() {
        return state.tuner().adapterTensors();
    }

    /**
     * Switches the adapter off until the handle is closed, giving the base model's outputs (DPO's reference model):
     * {@code try (var off = m.disableAdapter()) { ... }}. Nests.
     *
     * @throws IllegalStateException while merged
     */
    public AutoCloseable disableAdapter() {
        return state.disable();
    }

    /** Training mode (dropout on) or eval mode, for the whole model. */
    public void train(boolean on) {
        base.train(on);
    }

    /**
     * Saves {@code adapter_config.json} and {@code adapter_model.safetensors} with PEFT's names into {@code dir},
     * atomically: written to a temporary sibling folder, then renamed (an existing {@code dir} is replaced).
     */
    public void save(Path dir) {
        state.save(dir);
    }

    /** Folds the adapter into the base weights (LoRA, DoRA, IA3); forward then costs what the base model costs. */
    public void merge() {
        state.tuner().merge();
    }

    /** Takes a merged adapter back out of the base weights. */
    public void unmerge() {
        state.tuner().unmerge();
    }

    /** True while merged. */
    public boolean isMerged() {
        return state.tuner().isMerged();
    }

    /**
     * Merges the adapter and removes its wrappers: the base model alone then computes what this model computed.
     * This PeftModel is unusable afterwards.
     */
    public LanguageModel mergeAndUnload() {
        if (!isMerged()) {
            merge();
        }
        state.unload();
        return base;
    }

    /** Trainable and total parameter counts, printed like PEFT's {@code print_trainable_parameters}. */
    public TrainableReport trainableReport() {
        return state.report();
    }

    @Override
    public float[][][] logits(long[][] inputIds, long[][] attentionMask) {
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            return LanguageModel.toArray3(forward(ModelInput.of(inputIds, attentionMask)));
        }
    }

    @Override
    public int vocabSize() {
        return base.vocabSize();
    }

    @Override
    public int maxPositionEmbeddings() {
        return base.maxPositionEmbeddings();
    }

    /** Frees the base model and the adapter (both live in the base model's parameter scope). */
    @Override
    public void close() {
        base.close();
    }
}
