package dev.finetune4j.peft;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.models.CausalLM;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LogitsModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

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
 * <p>With prompt tuning the model prepends {@link #virtualTokens()} learned positions to every sequence; unlike
 * PEFT, whose logits keep them at the front, {@link #forward} and {@link #logits} return only the input's own
 * positions, so losses, perplexity and generation line up with the input ids whatever the method.
 *
 * <p>Thread safety: {@link #logits} and {@link #forward} in eval mode may run concurrently; {@link #train},
 * {@link #disableAdapter}, {@link #merge}, {@link #unmerge}, loading and saving must not overlap with anything.
 */
public final class PeftModel extends AdapterModel<LanguageModel> implements CausalLM, LogitsModel {
    PeftModel(LanguageModel base, AdapterState state) {
        super(base, state);
    }

    /**
     * The base model (its tree holds the adapter's wrappers while the adapter is injected).
     *
     * @return the base model
     */
    public LanguageModel base() {
        return base;
    }

    /**
     * Logits (B, T, V) of the input's T positions, with autograd through the adapter's parameters. The
     * {@link #virtualTokens()} positions prompt tuning prepends are computed and then dropped.
     */
    @Override
    public Tensor forward(ModelInput input) {
        ModelInput prepared = state.tuner().prepare(input);
        Tensor logits = base.forward(prepared);
        int added = logits.dim(1) - input.length();
        return added == 0 ? logits : logits.slice(1, added, logits.dim(1));
    }

    /**
     * Logits (B, V) of each row's last input position through the adapter, the base model's output head run on that
     * position alone (virtual positions come first, so the last is the input's own).
     */
    @Override
    public Tensor nextTokenLogits(ModelInput input) {
        return base.lastPositionLogits(base.hiddenStates(state.tuner().prepare(input)));
    }

    /**
     * log p(label) of the input's own positions, flattened to (B * T), with autograd through the adapter: the base
     * model's {@link LanguageModel#headLogProbs}, which does not hold the (B * T, V) logits when the output head is
     * a plain projection. Equal to the default's {@code CrossEntropy.tokenLogProbs} of {@link #forward}.
     */
    @Override
    public Tensor tokenLogProbs(ModelInput input, int[] labels) {
        ModelInput prepared = state.tuner().prepare(input);
        Tensor hidden = base.hiddenStates(prepared);
        int added = hidden.dim(1) - input.length();
        return base.headLogProbs(added == 0 ? hidden : hidden.slice(1, added, hidden.dim(1)), labels);
    }

    /** The base model's shape facts; the longest sequence excludes the positions prompt or prefix tuning takes. */
    @Override
    public boolean cacheGoesStale(int cached, int length) {
        return base().cacheGoesStale(cached, length);
    }

    @Override
    public ModelSpec spec() {
        ModelSpec s = base.spec();
        return new ModelSpec(s.modelType(), s.vocabSize(), s.hiddenSize(), s.numLayers(), s.numHeads(),
                s.numKeyValueHeads(), s.headDim(), maxPositionEmbeddings(), s.causal());
    }

    /**
     * Positions prompt or prefix tuning puts before every sequence (the input's positions start after them), else 0.
     *
     * @return the number of virtual positions
     */
    public int virtualTokens() {
        return state.tuner().virtualTokens();
    }

    /**
     * Merges the adapter and removes its wrappers: the base model alone then computes what this model computed.
     * This PeftModel is unusable afterwards.
     *
     * @return the base model with the adapter merged into its weights
     */
    public LanguageModel mergeAndUnload() {
        return mergeAndUnloadBase();
    }

    /**
     * Removes the adapter's wrappers without merging (PEFT's {@code unload()}): the base model then computes what it
     * computed before the adapter was injected. The adapter's tensors stay in the base model's parameter scope
     * until it closes; this PeftModel is unusable afterwards.
     *
     * @return the base model
     */
    public LanguageModel unload() {
        state.unload();
        return base;
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
        return base.maxPositionEmbeddings() - virtualTokens();
    }

    /** Frees the base model and the adapter (both live in the base model's parameter scope). */
    @Override
    public void close() {
        base.close();
    }
}
