package dev.finetune4j.core.models;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.AttentionMask;
import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.LinearCrossEntropy;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.ModuleList;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.BiFunction;

/**
 * The tensor-level face of a causal language model, shared by every family: {@link #forward} returns logits
 * with autograd, {@link #logits} is the plain-array inference entry of {@link CausalLM}. The model owns the
 * scope of its parameters and frees it on {@link #close()}.
 */
public abstract class LanguageModel extends Module implements CausalLM, LogitsModel {
    private TensorScope parameterScope;
    private final ModelSpec spec;
    private SplittableRandom dropoutRandom = new SplittableRandom(0);
    private boolean gradientCheckpointing;
    private Path source;

    /**
     * A model whose parameters live in {@code parameterScope}.
     *
     * @param parameterScope owns the parameters
     * @param spec the model's shape facts
     */
    protected LanguageModel(TensorScope parameterScope, ModelSpec spec) {
        this.parameterScope = parameterScope;
        this.spec = spec;
    }

    /**
     * Hands the parameters over to {@code loaded}, the scope that owns the weights {@link AutoModel} put in place
     * of the placeholders this model was built with; the placeholders' scope is closed.
     */
    final void adoptParameterScope(TensorScope loaded) {
        TensorScope placeholders = parameterScope;
        parameterScope = loaded;
        placeholders.close();
    }

    /** Shape facts adapters need (layers, heads, dimensions). */
    @Override
    public final ModelSpec spec() {
        return spec;
    }

    /**
     * The folder this model was loaded from ({@link AutoModel#loadCausalLM}), empty for a model built in memory.
     *
     * @return the source folder, or empty
     */
    public final Optional<Path> source() {
        return Optional.ofNullable(source);
    }

    final void source(Path dir) {
        source = dir;
    }

    /**
     * The dotted paths of the modules of the checkpoint's transformers class that this model leaves out (Gemma 3's
     * vision tower and projector), whose weights, and adapter tensors, are not loaded.
     *
     * @return the paths, empty for a model that holds its whole checkpoint
     */
    public List<String> modulesLeftOut() {
        return List.of();
    }

    /**
     * A weight or module path saved under an older transformers release's naming of this model's class (Gemma 3's
     * {@code language_model.model.layers.0...} of transformers 4.50), in the naming of {@link #stateDict()}.
     *
     * @param name a path in either naming
     * @return the path as this model names it; {@code name} when no naming changed
     */
    public String currentName(String name) {
        return name;
    }

    /**
     * The scope that owns this model's parameters (PEFT methods allocate their own weights there too).
     *
     * @return the parameters' scope
     */
    public final TensorScope parameterScope() {
        return parameterScope;
    }

    /** Logits (B, T, V) for a batch, with autograd when parameters require gradients. */
    @Override
    public final Tensor forward(ModelInput input) {
        ForwardContext ctx = context(input);
        Tensor embeds = input.inputsEmbeds() != null ? input.inputsEmbeds() : embed(input.inputIds());
        return logitsFromHidden(hiddenStates(embeds, ctx));
    }

    /** Logits (B, V) of each row's last position, the output head run on that position alone. */
    @Override
    public final Tensor nextTokenLogits(ModelInput input) {
        return lastPositionLogits(hiddenStates(input));
    }

    /**
     * Logits (B, V) of the last position of final hidden states: the output head on that position alone, as
     * {@link #nextTokenLogits} and wrappers that compute the hidden states themselves need them.
     *
     * @param hidden final hidden states, (B, T, C)
     * @return the logits of position T - 1, (B, V)
     */
    public final Tensor lastPositionLogits(Tensor hidden) {
        int last = hidden.dim(1) - 1;
        Tensor logits = logitsFromHidden(hidden.slice(1, last, last + 1));
        return logits.reshape(logits.dim(0), logits.dim(2));
    }

    /**
     * log p(label) per position through the output head without the (B * T, V) logits when the head is a plain
     * projection ({@link #outputProjection}); see {@link LogitsModel#tokenLogProbs}.
     */
    @Override
    public final Tensor tokenLogProbs(ModelInput input, int[] labels) {
        return headLogProbs(hiddenStates(input), labels);
    }

    /**
     * log p(label) of final hidden states through the output head, flattened to (B * T): fused and chunked with
     * {@link LinearCrossEntropy} when the head is a plain projection ({@link #outputProjection}), else through
     * {@link #logitsFromHidden} and {@link CrossEntropy}. Both give the same values and input gradients.
     *
     * @param hidden final hidden states, (B, T, C)
     * @param labels the label of each position, row after row, in [0, V) or {@link CrossEntropy#IGNORE_INDEX}
     * @return the log-probabilities, (B * T), 0 at ignored positions
     */
    public final Tensor headLogProbs(Tensor hidden, int[] labels) {
        Tensor weight = outputProjection();
        return headLogProbs(hidden, labels, weight == null ? 0 : LinearCrossEntropy.defaultChunkRows(weight.dim(0)));
    }

    /** {@link #headLogProbs(Tensor, int[])} with the fused path's chunks of {@code chunkRows} rows. */
    final Tensor headLogProbs(Tensor hidden, int[] labels, int chunkRows) {
        Tensor weight = outputProjection();
        // NOTE: when every row fits in one chunk the logits are no larger than a chunk, and keeping them saves the
        // fused path's recomputation of the head in the backward (a tenth of a small model's step)
        if (weight == null || (long) hidden.dim(0) * hidden.dim(1) <= chunkRows) {
            Tensor logits = logitsFromHidden(hidden);
            return CrossEntropy.tokenLogProbs(logits.reshape(logits.dim(0) * logits.dim(1), logits.dim(2)), labels);
        }
        return LinearCrossEntropy.tokenLogProbs(headInput(hidden), weight, labels, chunkRows, logitSoftCap());
    }

    /**
     * The weight (V, C) when the output head is {@code hidden W^T} and nothing else (no bias, no adapter around
     * it), else null. {@link #logitsFromHidden} must then compute exactly
     * {@code Matmul.linear(headInput(hidden), W, null)}, soft-capped by {@link #logitSoftCap} when that is not 0.
     *
     * @return the output projection's weight, or null when the head is anything else
     */
    protected Tensor outputProjection() {
        return null;
    }

    /**
     * The soft cap c of the logits, {@code c * tanh(z / c)} (Gemma 2's {@code final_logit_softcapping}), which the
     * fused head loss applies chunk by chunk.
     *
     * @return the cap, or 0 when the logits are not capped
     */
    protected float logitSoftCap() {
        return 0f;
    }

    /**
     * The divisor s of the logits (Granite's {@code logits_scaling}): the head computes {@code (hidden / s) W^T},
     * which is {@code (hidden W^T) / s}, so that the fused head loss divides the hidden states rather than each
     * chunk of logits.
     *
     * @return the divisor, 1 when the logits are not scaled
     */
    protected float logitsScaling() {
        return 1f;
    }

    /**
     * The output head's input: the final hidden states divided by {@link #logitsScaling}.
     *
     * @param hidden final hidden states, (B, T, C)
     * @return {@code hidden}, or its scaled copy
     */
    protected final Tensor headInput(Tensor hidden) {
        float scaling = logitsScaling();
        return scaling == 1f ? hidden : Elementwise.scale(hidden, 1f / scaling);
    }

    /**
     * Final hidden states (B, T, C) after the last norm, for embeddings and custom heads.
     *
     * @param input the batch
     * @return the hidden states, (B, T, C)
     */
    public final Tensor hiddenStates(ModelInput input) {
        ForwardContext ctx = context(input);
        Tensor embeds = input.inputsEmbeds() != null ? input.inputsEmbeds() : embed(input.inputIds());
        return hiddenStates(embeds, ctx);
    }

    /**
     * Token embeddings (B, T, C) of ids (position embeddings, where a family has them, come later).
     *
     * @param ids token ids, B rows of T
     * @return the embeddings, (B, T, C)
     */
    public abstract Tensor embed(long[][] ids);

    /**
     * The transformer stack over input embeddings -> final hidden states (B, T, C).
     *
     * @param inputsEmbeds the input embeddings, (B, T, C)
     * @param ctx positions, masks and caches of this forward pass
     * @return the hidden states, (B, T, C)
     */
    protected abstract Tensor hiddenStates(Tensor inputsEmbeds, ForwardContext ctx);

    /**
     * The output head: (B, T, C) -> (B, T, V).
     *
     * @param hidden final hidden states, (B, T, C)
     * @return the logits, (B, T, V)
     */
    protected abstract Tensor logitsFromHidden(Tensor hidden);

    /**
     * Seeds the dropout stream used in training mode.
     *
     * @param seed the seed
     */
    public final void seedDropout(long seed) {
        this.dropoutRandom = new SplittableRandom(seed);
    }

    /**
     * The dropout stream's state, for bit-exact checkpoints.
     *
     * @return the stream (not a copy)
     */
    public final SplittableRandom dropoutRandom() {
        return dropoutRandom;
    }

    /**
     * Turns gradient checkpointing on or off: with it on, each layer of the stack runs its forward without keeping
     * its activations, and the backward recomputes the layer from its saved input (one more forward per layer for
     * activation memory of one layer). Gradients are the same either way. Layers that read a trainable prefix
     * (prefix tuning's cache) run without it.
     *
     * @param on true to recompute layers in the backward
     * @throws IllegalStateException when {@code on} and the model's layers read each other's activations
     *                               ({@link #gradientCheckpointingRefusal()})
     */
    public final void gradientCheckpointing(boolean on) {
        String refusal = on ? gradientCheckpointingRefusal() : null;
        if (refusal != null) {
            throw new IllegalStateException(refusal);
        }
        this.gradientCheckpointing = on;
    }

    /**
     * Why this model cannot recompute its layers in the backward, or null when it can: a layer that reads another
     * layer's activations (besides its input) would lose their gradients in the recompute.
     *
     * @return the reason, with what to do instead, or null
     */
    protected String gradientCheckpointingRefusal() {
        return null;
    }

    /**
     * Whether gradient checkpointing is on (see {@link #gradientCheckpointing(boolean)}).
     *
     * @return true when layers are recomputed in the backward
     */
    public final boolean isGradientCheckpointing() {
        return gradientCheckpointing;
    }

    /**
     * Runs the stack's layers in order, each through a {@link LayerRunner} (its own dropout stream in training, gradient
     * checkpointing when on); families call it from
     * {@link #hiddenStates(Tensor, ForwardContext)}. In inference (gradient recording off) a layer's intermediate
     * tensors are freed as soon as it returns, and its input once the next layer has returned: no backward will read
     * them, and a forward pass otherwise holds every layer's activations until its scope closes (a prompt of 4,096
     * tokens through a 1.1B model: 6 GB). The KV cache's buffers stay.
     *
     * @param layers the layers, in order
     * @param x the first layer's input, (B, T, C); never freed here
     * @param ctx the forward pass's context
     * @param forward one layer's forward on its input
     * @param <L> the layers' type
     * @return the last layer's output
     */
    protected final <L extends Module> Tensor forwardLayers(ModuleList<L> layers, Tensor x, ForwardContext ctx,
                                                            BiFunction<L, Tensor, Tensor> forward) {
        boolean inference = !Autograd.isEnabled();
        LayerRunner runner = new LayerRunner(isTraining(), gradientCheckpointing && ctx.cache() == null,
                () -> dropoutRandom, stream -> dropoutRandom = stream);
        TensorScope scope = TensorScope.current();
        Tensor h = x;
        for (int i = 0; i < layers.size(); i++) {
            L layer = layers.get(i);
            Tensor in = h;
            long mark = scope.mark();
            h = runner.run(layer, in, t -> forward.apply(layer, t));
            if (inference) {
                Tensor[] cache = ctx.cache() == null ? new Tensor[0] : ctx.cache().buffers();
                Tensor[] shared = ctx.sharedKeyValues() == null ? new Tensor[0] : ctx.sharedKeyValues().tensors();
                Tensor[] keep = Arrays.copyOf(cache, cache.length + shared.length + 1);
                System.arraycopy(shared, 0, keep, cache.length, shared.length);
                keep[keep.length - 1] = h;
                scope.releaseSince(mark, keep);
                if (i > 0 && scope.owns(in) && in.storage() != h.storage()) {
                    scope.release(in);
                }
            }
        }
        return h;
    }

    @Override
    public float[][][] logits(long[][] inputIds, long[][] attentionMask) {
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            Tensor out = forward(ModelInput.of(inputIds, attentionMask));
            return toArray3(out);
        }
    }

    @Override
    public int vocabSize() {
        return spec.vocabSize();
    }

    @Override
    public int maxPositionEmbeddings() {
        return spec.maxPositionEmbeddings();
    }

    @Override
    public void close() {
        parameterScope.close();
    }

    /**
     * Copies a (B, T, V) tensor into nested arrays.
     *
     * @param t a (B, T, V) tensor
     * @return a new {@code [B][T][V]} array
     */
    public static float[][][] toArray3(Tensor t) {
        int b = t.dim(0);
        int s = t.dim(1);
        int v = t.dim(2);
        float[] flat = t.toFloatArray();
        float[][][] out = new float[b][s][v];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < s; j++) {
                System.arraycopy(flat, (i * s + j) * v, out[i][j], 0, v);
            }
        }
        return out;
    }

    private ForwardContext context(ModelInput in) {
        int b = in.batchSize();
        int t = in.length();
        int past = in.cache() == null ? 0 : in.cache().length();
        int s = past + t;
        if (in.positionIds() == null && (long) past + t > spec.maxPositionEmbeddings()) {
            throw new IllegalArgumentException(t + " tokens after " + past + " cached positions exceed the model's "
                    + spec.maxPositionEmbeddings() + " positions (max_position_embeddings): positions past them were never "
                    + "trained; shorten or split the input");
        }
        boolean[][] keyValid = null;
        if (in.attentionMask() != null) {
            keyValid = new boolean[b][s];
            for (int i = 0; i < b; i++) {
                long[] row = in.attentionMask()[i];
                if (row.length != t && row.length != s) {
                    throw new IllegalArgumentException("attention mask row " + i + " has length " + row.length
                            + "; expected " + t + " (new tokens) or " + s + " (cached + new)");
                }
                int shift = s - row.length; // a mask over the new tokens only: cached positions are real
                for (int j = 0; j < s; j++) {
                    keyValid[i][j] = j < shift || row[j - shift] != 0;
                }
            }
        }
        int[][] segments = in.segments();
        int[][] positions = in.positionIds() != null ? checkedPositions(in.positionIds(), b, t) : new int[b][t];
        if (segments != null && past > 0) {
            throw new IllegalArgumentException("packed segments cannot be combined with a KV cache or prefix");
        }
        for (int i = 0; i < b && in.positionIds() == null; i++) {
            int start = 0;
            for (int j = 0; j < t; j++) {
                if (segments != null && j > 0 && segments[i][j] != segments[i][j - 1]) {
                    start = j;
                }
                positions[i][j] = past + j - start;
            }
        }
        AttentionMask mask = new AttentionMask(spec.causal(), keyValid, segments);
        RouterLoadBalance balance = RouterLoadBalance.current();
        if (balance != null) {
            balance.tokens(in.attentionMask(), b, t);
        }
        return new ForwardContext(mask, positions, in.cache(), isTraining() ? this::dropoutRandom : null,
                checkedSequenceLengths(in.sequenceLengths(), b)).withInputIds(in.inputIds());
    }

    private static int[] checkedSequenceLengths(int[] lengths, int b) {
        if (lengths != null && lengths.length != b) {
            throw new IllegalArgumentException(lengths.length + " sequence lengths for a batch of " + b);
        }
        return lengths;
    }

    private int[][] checkedPositions(int[][] positions, int b, int t) {
        if (positions.length != b) {
            throw new IllegalArgumentException(positions.length + " rows of position ids for a batch of " + b);
        }
        for (int i = 0; i < b; i++) {
            if (positions[i].length != t) {
                throw new IllegalArgumentException("position ids row " + i + " has " + positions[i].length
                        + " entries for " + t + " new tokens");
            }
            for (int p : positions[i]) {
                if (p < 0 || p >= spec.maxPositionEmbeddings()) {
                    throw new IllegalArgumentException("position id " + p + " in row " + i + " is outside [0, "
                            + spec.maxPositionEmbeddings() + "), the model's max_position_embeddings");
                }
            }
        }
        return positions;
    }
}
