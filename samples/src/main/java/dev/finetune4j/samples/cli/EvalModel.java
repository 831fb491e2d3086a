package dev.finetune4j.samples.cli;

import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.eval.Perplexity;
import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.PeftModel;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The model {@code eval --model} answers with: a model folder on a device, with its adapter if any, computing in a
 * precision; closing it closes what it loaded. Both eval modes (text metrics, tool calls) answer through it.
 */
final class EvalModel implements AutoCloseable {
    private final LanguageModel base;
    private final PeftModel tuned;
    private final Precision numbers;
    private final Tokenizer tok;

    private EvalModel(LanguageModel base, PeftModel tuned, Precision numbers, Tokenizer tok) {
        this.base = base;
        this.tuned = tuned;
        this.numbers = numbers;
        this.tok = tok;
    }

    /**
     * Loads the model in {@code dir} on {@code target} for inference in {@code numbers}, with the adapter in
     * {@code adapter} (null for none); a tokenizer of another vocabulary, like a folder that does not load, is bad input.
     * The adapter is read first: a QLoRA one's base is quantized to NF4 as it loads, as it was for training.
     */
    static EvalModel load(Path dir, Path adapter, Device target, Precision numbers, Tokenizer tok) {
        try (AdapterFiles files = adapter == null ? null : ModelInputs.readAdapter(adapter)) {
            LanguageModel base = ModelInputs.loadForInference(dir, target, numbers, files != null && files.trainedOnQuantizedBase());
            try {
                ModelInputs.requireSameVocabulary(tok, base, dir);
                return new EvalModel(base, files == null ? null : ModelInputs.loadAdapter(base, files), numbers, tok);
            } catch (RuntimeException e) {
                base.close();
                throw e;
            }
        }
    }

    /**
     * Refuses, before hours of answering, a prompt that fills the model's positions and leaves no room for an answer.
     *
     * @param lines each prompt's line in {@code file}, for the message
     */
    void requireRoom(List<long[]> prompts, List<Long> lines, Path file) {
        int positions = base.spec().maxPositionEmbeddings();
        for (int i = 0; i < prompts.size(); i++) {
            if (prompts.get(i).length >= positions) {
                throw new BadInputException(file + " line " + lines.get(i) + ": the prompt has " + prompts.get(i).length
                        + " tokens, but the model takes at most " + positions + " positions (max_position_embeddings), "
                        + "which leaves no room for an answer; shorten that row or remove it");
            }
        }
    }

    /**
     * Greedy answers to {@code prompts}, {@code batchSize} at a time (each gets what it gets alone), decoded and
     * stripped; each ends at EOS or after {@code maxNewTokens}. Progress goes to {@code err}.
     */
    List<String> answer(List<long[]> prompts, int maxNewTokens, int batchSize, PrintWriter err) {
        GenerationConfig cfg = GenerationConfig.builder().maxNewTokens(maxNewTokens)
                .stopTokens(tok.eosTokenId().isPresent() ? Set.of(tok.eosTokenId().getAsLong()) : Set.of()).build();
        List<String> answers = new ArrayList<>(prompts.size());
        WorkProgress progress = new WorkProgress(err, (done, total) -> "answered " + done + " of " + total + " prompts",
                System::nanoTime);
        try (var inPrecision = numbers.use()) {
            for (int from = 0; from < prompts.size(); from += batchSize) {
                long[][] batch = prompts.subList(from, Math.min(prompts.size(), from + batchSize)).toArray(long[][]::new);
                long[][] outs = Generator.generate(tuned != null ? tuned : base, batch, cfg);
                for (int i = 0; i < batch.length; i++) {
                    answers.add(tok.decode(Arrays.copyOfRange(outs[i], batch[i].length, outs[i].length)).strip());
                }
                progress.reached(answers.size(), prompts.size());
            }
        }
        return answers;
    }

    /** The perplexity of the model over {@code documents} (token ids each). */
    double perplexity(List<long[]> documents) {
        try (var inPrecision = numbers.use()) {
            return Perplexity.builder().build().compute(tuned != null ? tuned : base, documents).perplexity();
        }
    }

    @Override
    public void close() {
        if (tuned != null) {
            tuned.close();
        }
        base.close();
    }
}
