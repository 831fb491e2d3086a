package dev.finetune4j.core.generate;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.models.LogitsModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.nn.KvCache;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Autoregressive text generation from a {@link LogitsModel}: a language model, or one with a PEFT adapter.
 *
 * <pre>{@code
 * long[] out = Generator.generate(model, tokenizer.encode("Hello"), GenerationConfig.greedy(20));
 * }</pre>
 *
 * <p>With the KV cache each step feeds only the newest token; without it every step re-reads the whole
 * sequence. Both choose the same tokens (tested). Thread-safe: each call has its own cache and scope.
 */
public final class Generator {
    private Generator() {
    }

    /** The prompt followed by the generated tokens (stopping after a stop token or the length limit). */
    public static long[] generate(LogitsModel model, long[] prompt, GenerationConfig cfg) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt is empty: give at least one token (for example BOS)");
        }
        int limit = Math.min(prompt.length + cfg.maxNewTokens(), model.spec().maxPositionEmbeddings());
        long[] seq = Arrays.copyOf(prompt, limit);
        int len = prompt.length;
        SplittableRandom random = new SplittableRandom(cfg.seed());
        KvCache cache = cfg.useCache() ? new KvCache(model.spec().numLayers(), true) : null;
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            int fed = 0;
            while (len < limit) {
                long[] input = cache == null ? Arrays.copyOf(seq, len) : Arrays.copyOfRange(seq, fed, len);
                Tensor logits = model.forward(new ModelInput(new long[][]{input}, null, null, null, cache));
                fed = len;
                // the last position: a wrapper may prepend virtual positions to the logits
                int lastPos = logits.dim(1) - 1;
                float[] last = logits.slice(1, lastPos, lastPos + 1).toFloatArray();
                LogitsProcessing.repetitionPenalty(last, seq, len, cfg.repetitionPenalty());
                int next = cfg.temperature() == 0 ? LogitsProcessing.argmax(last) : LogitsProcessing.sample(last, cfg, random);
                seq[len++] = next;
                if (cfg.stopTokens().contains((long) next)) {
                    break;
                }
            }
        }
        return Arrays.copyOf(seq, len);
    }
}
