package dev.finetune4j.core.generate;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.models.LogitsModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.core.nn.KvCache;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Autoregressive text generation from a {@link LogitsModel}: a language model, or one with a PEFT adapter.
 *
 * <pre>{@code
 * long[] out = Generator.generate(model, tokenizer.encode("Hello"), GenerationConfig.greedy(20));
 * long[][] outs = Generator.generate(model, new long[][]{promptA, promptB}, GenerationConfig.greedy(20));
 * }</pre>
 *
 * <p>Several prompts run as one batch, left-padded to the longest (the padding is masked out and the real
 * tokens keep their positions), and each row returns exactly what generating it alone returns: its own sampling
 * stream from the seed, its own stop. With the KV cache ({@link KvCache#forGeneration}) each step feeds only the
 * newest tokens and copies only their keys and values; without it every step re-reads the whole sequences. Both
 * choose the same tokens (tested). Each step runs the output head on the newest position alone
 * ({@link LogitsModel#nextTokenLogits}); greedy decoding without a penalty or logit bias takes each row's argmax on the
 * model's device and reads back two numbers per row (the argmax and the row's sum, which shows a NaN) instead of the
 * vocabulary's logits. Logits that hold NaN are refused, never turned into a token. Thread-safe: each call has its
 * own cache and scope.
 *
 * <p>Generation computes in the calling thread's {@link Precision}. On a GPU, load the model with its bf16 weights
 * ({@code LoadOptions.dtype(BF16)}, or a bf16 checkpoint's own) and generate under {@link Precision#BF16_MIXED}:
 * every product then multiplies bf16 operands on the tensor cores and the KV cache holds bf16, where under
 * {@link Precision#F32} each product converts its weight to float32 first.
 * <pre>{@code
 * try (var bf16 = Precision.BF16_MIXED.use()) {
 *     long[] out = Generator.generate(model, prompt, GenerationConfig.greedy(64));
 * }
 * }</pre>
 */
public final class Generator {
    /** The token fed in padding slots; masked out, so any id of the vocabulary does. */
    private static final long PAD = 0;

    private Generator() {
    }

    /**
     * The prompt followed by the generated tokens (stopping after a stop token or the length limit).
     *
     * @param model the model to run
     * @param prompt the prompt's token ids, at least one
     * @param cfg how to pick tokens and when to stop
     * @return a new array: the prompt, then the new tokens
     * @throws IllegalArgumentException when the prompt is empty, leaves no room within the model's positions or holds
     *                                  a token id outside the model's vocabulary
     * @throws IllegalStateException    when the model's logits hold NaN
     */
    public static long[] generate(LogitsModel model, long[] prompt, GenerationConfig cfg) {
        return generate(model, new long[][]{prompt}, cfg)[0];
    }

    /**
     * Each prompt followed by its generated tokens, computed as one batch.
     *
     * @param model the model to run
     * @param prompts the prompts' token ids, each at least one; lengths may differ
     * @param cfg how to pick tokens and when to stop
     * @return one new array per prompt: the prompt, then its new tokens
     * @throws IllegalArgumentException when a prompt is empty, leaves no room within the model's positions or holds a
     *                                  token id outside the model's vocabulary; or when the logit bias names such an id
     * @throws IllegalStateException    when the model's logits hold NaN
     */
    public static long[][] generate(LogitsModel model, long[][] prompts, GenerationConfig cfg) {
        long[] seeds = new long[prompts.length];
        Arrays.fill(seeds, cfg.seed());
        return generate(model, prompts, cfg, seeds);
    }

    /**
     * Each prompt followed by its generated tokens, computed as one batch, row {@code i} sampled from its own stream
     * seeded with {@code seeds[i]} (the configuration's seed is not used): several samples of one prompt in one
     * batch, as GRPO draws them. Row {@code i} equals {@code generate(model, prompts[i], cfg.withSeed(seeds[i]))}.
     *
     * @param model   the model to run
     * @param prompts the prompts' token ids, each at least one; lengths may differ; a prompt may appear several times
     * @param cfg     how to pick tokens and when to stop
     * @param seeds   one sampling seed per prompt
     * @return one new array per prompt: the prompt, then its new tokens
     * @throws IllegalArgumentException as {@link #generate(LogitsModel, long[][], GenerationConfig)}, or when there is
     *                                  not one seed per prompt
     * @throws IllegalStateException    when the model's logits hold NaN
     */
    public static long[][] generate(LogitsModel model, long[][] prompts, GenerationConfig cfg, long[] seeds) {
        if (seeds.length != prompts.length) {
            throw new IllegalArgumentException("got " + seeds.length + " seeds for " + prompts.length
                    + " prompts: give one sampling seed per prompt");
        }
        int maxPositions = model.spec().maxPositionEmbeddings();
        checkBias(cfg, model.spec());
        Row[] rows = new Row[prompts.length];
        int width = 0;
        for (int i = 0; i < rows.length; i++) {
            rows[i] = new Row(i, checkPrompt(prompts[i], i, model.spec()), cfg, seeds[i], maxPositions);
            width = Math.max(width, prompts[i].length);
        }
        if (rows.length == 0) {
            return new long[0][];
        }
        int maxSteps = Arrays.stream(rows).mapToInt(r -> r.limit - r.promptLength).max().orElse(0);
        Batch batch = new Batch(rows, width, width + maxSteps);
        KvCache cache = cfg.useCache() ? KvCache.forGeneration(model.spec().numLayers(), width + maxSteps) : null;
        boolean chosenOnDevice = cfg.choosesArgmax();
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            int fed = 0;
            int filled = width;
            while (!batch.allDone()) {
                if (cache != null && fed > 0 && model.cacheGoesStale(fed, filled)) {
                    for (Tensor buffer : cache.buffers()) {
                        scope.release(buffer);
                    }
                    cache = KvCache.forGeneration(model.spec().numLayers(), width + maxSteps);
                    fed = 0;
                }
                int from = cache == null ? 0 : fed;
                long mark = scope.mark();
                Tensor logits = model.nextTokenLogits(batch.input(from, filled, cache));
                fed = filled;
                // greedy without a penalty reads each row's argmax back, not the vocabulary's logits
                long[] argmax = chosenOnDevice ? LogitsProcessing.argmaxOnDevice(logits) : null;
                boolean onDevice = argmax != null;
                float[] last = onDevice ? null : logits.toFloatArray();
                int vocab = logits.dim(1);
                // only the cache carries over: the step's activations would otherwise pile up until the end
                scope.releaseSince(mark, cache == null ? new Tensor[0] : cache.buffers());
                boolean[] real = new boolean[rows.length];
                long[] next = new long[rows.length];
                for (int i = 0; i < rows.length; i++) {
                    real[i] = !rows[i].done;
                }
                IntStream running = IntStream.range(0, rows.length).filter(i -> real[i]);
                // a sampled row's softmax over a 150,000-word vocabulary takes over a millisecond: rows chosen on the
                // host are chosen in parallel, each task touching only its own row
                (onDevice ? running : running.parallel()).forEach(i -> next[i] = onDevice
                        ? rows[i].accept(argmax[i], cfg)
                        : rows[i].next(Arrays.copyOfRange(last, i * vocab, (i + 1) * vocab), cfg));
                for (int i = 0; i < rows.length; i++) {
                    batch.append(i, filled, real[i] ? next[i] : PAD, real[i]);
                }
                filled++;
            }
        }
        long[][] out = new long[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            out[i] = Arrays.copyOf(rows[i].seq, rows[i].length);
        }
        return out;
    }

    private static void checkBias(GenerationConfig cfg, ModelSpec spec) {
        for (long id : cfg.logitBias().keySet()) {
            if (id >= spec.vocabSize()) {
                throw new IllegalArgumentException("the logit bias names token " + id + ", outside the model's vocabulary [0, "
                        + spec.vocabSize() + "): bias ids of the model's own tokenizer");
            }
        }
    }

    private static long[] checkPrompt(long[] prompt, int index, ModelSpec spec) {
        if (prompt == null || prompt.length == 0) {
            throw new IllegalArgumentException("prompt " + index + " is empty: give at least one token (for example BOS)");
        }
        if (prompt.length >= spec.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("prompt " + index + " has " + prompt.length + " tokens, which leaves no room "
                    + "to generate: the model takes at most " + spec.maxPositionEmbeddings() + " positions "
                    + "(max_position_embeddings); shorten or truncate the prompt");
        }
        for (int j = 0; j < prompt.length; j++) {
            if (prompt[j] < 0 || prompt[j] >= spec.vocabSize()) {
                throw new IllegalArgumentException("prompt " + index + " has token id " + prompt[j] + " at index " + j
                        + ", outside the model's vocabulary [0, " + spec.vocabSize() + "): encode prompts with the "
                        + "model's own tokenizer");
            }
        }
        return prompt;
    }

    /** One prompt's generation: its tokens so far, its limit, its own sampling stream. */
    private static final class Row {
        final int index;
        final long[] seq;
        final int promptLength;
        final int limit;
        final SplittableRandom random;
        final OutputConstraint.State constraint;
        int length;
        boolean done;

        Row(int index, long[] prompt, GenerationConfig cfg, long seed, int maxPositions) {
            this.index = index;
            this.promptLength = prompt.length;
            this.limit = (int) Math.min((long) prompt.length + cfg.maxNewTokens(), maxPositions);
            this.seq = Arrays.copyOf(prompt, limit);
            this.length = prompt.length;
            this.random = new SplittableRandom(seed);
            this.constraint = cfg.constraint() == null ? null : cfg.constraint().start(cfg.stopTokens());
            this.done = length >= limit;
        }

        /** Chooses, records and returns the next token from the logits of the last position. */
        long next(float[] logits, GenerationConfig cfg) {
            if (LogitsProcessing.hasNaN(logits)) {
                throw new IllegalStateException("the model's logits for prompt " + index + " hold NaN at new token "
                        + (length - promptLength) + ": its weights or activations are not finite (a diverged fine-tune, "
                        + "or an overflow in reduced precision); check the weights, or generate under Precision.F32");
            }
            return accept(LogitsProcessing.choose(logits, seq, promptLength, length, cfg, random, constraint), cfg);
        }

        /** Records and returns the next token. */
        long accept(long token, GenerationConfig cfg) {
            seq[length++] = token;
            done = length >= limit || cfg.stopTokens().contains(token);
            return token;
        }
    }

    /**
     * The left-padded token grid of a batch: row i's prompt ends at column {@code width}, generated tokens follow;
     * padding (and the slots of rows that stopped) is masked out.
     */
    private static final class Batch {
        final Row[] rows;
        final long[][] tokens;
        final long[][] mask;
        final int[] padding;
        final boolean padded;

        Batch(Row[] rows, int width, int columns) {
            this.rows = rows;
            this.tokens = new long[rows.length][columns];
            this.mask = new long[rows.length][columns];
            this.padding = new int[rows.length];
            boolean anyPadding = false;
            for (int i = 0; i < rows.length; i++) {
                padding[i] = width - rows[i].promptLength;
                anyPadding |= padding[i] > 0;
                System.arraycopy(rows[i].seq, 0, tokens[i], padding[i], rows[i].promptLength);
                Arrays.fill(mask[i], padding[i], width, 1);
            }
            this.padded = anyPadding;
        }

        boolean allDone() {
            return Arrays.stream(rows).allMatch(r -> r.done);
        }

        /** Writes the token fed next in {@code row}; a slot after the row stopped is masked out. */
        void append(int row, int column, long token, boolean real) {
            if (column < tokens[row].length) {
                tokens[row][column] = token;
                mask[row][column] = real ? 1 : 0;
            }
        }

        /**
         * Columns {@code [from, to)} as the new tokens, the mask over {@code [0, to)} and, when some row is padded,
         * the positions of the real tokens (padding counts none).
         */
        ModelInput input(int from, int to, KvCache cache) {
            int b = rows.length;
            long[][] ids = new long[b][];
            long[][] visible = new long[b][];
            int[][] positions = padded ? new int[b][to - from] : null;
            for (int i = 0; i < b; i++) {
                ids[i] = Arrays.copyOfRange(tokens[i], from, to);
                visible[i] = Arrays.copyOf(mask[i], to);
                for (int j = from; padded && j < to; j++) {
                    // NOTE: a masked slot (left padding, or the tail of a row that stopped while others go on) is
                    // seen by no query that is read; position 0 keeps it inside the model's positions, where the
                    // tail of the longest row would run past max_position_embeddings
                    positions[i][j - from] = mask[i][j] == 1 ? j - padding[i] : 0;
                }
            }
            return new ModelInput(ids, null, padded || !allVisible(visible) ? visible : null, null, cache, positions);
        }

        private static boolean allVisible(long[][] visible) {
            for (long[] row : visible) {
                for (long v : row) {
                    if (v == 0) {
                        return false;
                    }
                }
            }
            return true;
        }
    }
}
