package dev.finetune4j.samples.quickstart;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.HfModelFolder;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.data.format.JsonObjectLines;
import dev.finetune4j.peft.FreezeConfig;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.train.Schedule;
import dev.finetune4j.peft.train.SftTrainer;
import dev.finetune4j.peft.train.TokenizedDataset;
import dev.finetune4j.peft.train.TokenizedExample;
import dev.finetune4j.peft.train.TrainingConfig;
import dev.finetune4j.peft.train.TrainingListener;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Pretrains the quickstart's base model ({@link BaseModelConfig}) from scratch on the bundled general corpus: weights
 * drawn from N(0, 0.02) with the seed, then next-byte prediction over the corpus cut into fixed windows (documents
 * separated by EOS), every weight trainable (PEFT's freeze method with every name trainable), AdamW with cosine
 * decay. The result is a Hugging Face folder.
 *
 * <p>Run on its own: {@code java ... dev.finetune4j.samples.quickstart.BasePretraining OUT_DIR [STEPS]}; the
 * quickstart calls it through {@link BaseModelCache} when its cache is missing or stale.
 */
public final class BasePretraining {
    /**
     * How to pretrain.
     *
     * @param steps        optimizer steps
     * @param window       bytes per training sequence
     * @param batch        sequences per step
     * @param learningRate peak learning rate
     * @param seed         seed of the initial weights and the data order
     */
    public record Settings(int steps, int window, int batch, double learningRate, long seed) {
        /**
         * What the quickstart uses.
         *
         * @return the default settings
         */
        public static Settings defaults() {
            return new Settings(200, 128, 16, 3e-3, 1234);
        }

        /**
         * The same with fewer steps (smoke tests).
         *
         * @param n the number of optimizer steps
         * @return new settings
         */
        public Settings withSteps(int n) {
            return new Settings(n, window, batch, learningRate, seed);
        }
    }

    private BasePretraining() {
    }

    /**
     * Pretrains the base model on the bundled corpus and saves it as a Hugging Face folder.
     *
     * @param args the output folder, then optionally the number of steps
     * @throws IOException when the corpus cannot be read or the model cannot be written
     */
    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            System.err.println("usage: BasePretraining OUT_DIR [STEPS]   (corpus: the bundled general_corpus.jsonl)");
            return;
        }
        Path out = Path.of(args[0]);
        Settings s = args.length > 1 ? Settings.defaults().withSteps(Integer.parseInt(args[1])) : Settings.defaults();
        Path corpus = Files.createTempFile("general_corpus", ".jsonl");
        try {
            Workspace.extract(Workspace.GENERAL, corpus);
            try (LanguageModel model = pretrain(corpus, s, new ProgressLine("pretrain"))) {
                HfModelFolder.save(model, BaseModelConfig.configJson(), null, out);
                ByteLevelTokenizerFiles.write(out);
            }
        } finally {
            Files.deleteIfExists(corpus);
        }
        System.out.println("base model written to " + out.toAbsolutePath());
    }

    /**
     * A freshly initialised model trained on the {@code {"text"}} records of {@code corpus}.
     *
     * @param corpus a JSONL file of {@code {"text": ...}} records
     * @param s steps, window, batch, learning rate and seed
     * @param progress receives the training progress
     * @return the trained model; close it to free its weights
     * @throws IOException when the corpus cannot be read
     */
    public static LanguageModel pretrain(Path corpus, Settings s, TrainingListener progress) throws IOException {
        LanguageModel model = AutoModel.newCausalLM(BaseModelConfig.configJson(), TensorScope.detached());
        StateDicts.initNormal(model, 0.02, new SplittableRandom(s.seed()));
        PeftModel trainable = Peft.wrap(model, new FreezeConfig(0, List.of("."), "CAUSAL_LM"));
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(s.steps()).microBatchSize(s.batch())
                .learningRate(s.learningRate()).weightDecay(0.01).schedule(Schedule.COSINE).warmupSteps(s.steps() / 20)
                .maxGradNorm(1.0).shuffle(true).seed(s.seed()).logEverySteps(0).build();
        SftTrainer.builder().model(trainable).config(cfg).padTokenId(ByteLevelTokenizer.PAD)
                .trainData(windows(corpus, s.window())).listener(progress).build().train();
        return trainable.mergeAndUnload();
    }

    /** The {@code text} field of every line of a {@code {"text"}} corpus, in file order. */
    static List<String> texts(Path corpus) throws IOException {
        List<String> texts = new ArrayList<>();
        for (JsonObjectLines.Ok line : JsonObjectLines.readAll(corpus)) {
            if (!(line.object().get("text") instanceof String text)) {
                throw new IOException(corpus + " line " + line.line() + ": 'text' must be a string");
            }
            texts.add(text);
        }
        return texts;
    }

    /** The corpus as consecutive windows of {@code window} ids, documents separated by EOS. */
    static TokenizedDataset windows(Path corpus, int window) throws IOException {
        ByteLevelTokenizer tok = new ByteLevelTokenizer();
        List<Long> stream = new ArrayList<>();
        for (String text : texts(corpus)) {
            for (long id : tok.encode(text)) {
                stream.add(id);
            }
            stream.add((long) ByteLevelTokenizer.EOS);
        }
        List<TokenizedExample> examples = new ArrayList<>();
        for (int start = 0; start + window <= stream.size(); start += window) {
            long[] ids = stream.subList(start, start + window).stream().mapToLong(Long::longValue).toArray();
            examples.add(new TokenizedExample(ids, Arrays.copyOf(ids, ids.length), null));
        }
        return TokenizedDataset.of(examples);
    }
}
