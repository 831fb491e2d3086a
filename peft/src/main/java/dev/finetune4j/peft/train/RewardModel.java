package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.ClassifierConfig;
import dev.finetune4j.core.models.SequenceClassifier;
import dev.finetune4j.core.models.SequenceClassifierModule;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftClassifier;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;

/**
 * A trained reward model as a GRPO reward (a model in TRL's {@code reward_funcs}): a sequence classifier with one label
 * (BERT, or a decoder's {@code *ForSequenceClassification}, with or without an adapter, e.g. trained by
 * {@link RewardTrainer}) scores each prompt + completion, and the reward is its logit.
 *
 * <pre>{@code
 * try (RewardModel rm = RewardModel.load(Path.of("runs/rm/base"), Path.of("runs/rm/adapter"), rmTokenizer, Device.cpu())) {
 *     GrpoTrainer.builder().model(policy).tokenizer(tokenizer).config(cfg).reward(rm).trainData(prompts).build().train();
 * }
 * }</pre>
 *
 * <p>As TRL's {@code GRPOTrainer} does: a plain-text prompt and its completion are concatenated; a conversation
 * ({@link GrpoExample#conversation()}) gets the completion as an assistant message and goes through the reward
 * tokenizer's chat template (without generation prompt). The text is encoded with the reward model's tokenizer without
 * adding special tokens, a batch is right-padded with the classifier's {@code pad_token_id}, and the classifier runs in
 * eval mode (no dropout) without autograd; the score is logit 0. One call of {@link #scoreAll} (a GRPO micro-batch)
 * is one forward pass. Unlike TRL, which passes every token, a sequence longer than the classifier's
 * {@code max_position_embeddings} keeps its last tokens (where a decoder reads its score; the completion's end).
 *
 * <p>Ownership: a reward model from {@link #load} owns its classifier and frees its weights when closed (close it
 * after training, e.g. in try-with-resources); one from {@link #of} borrows the caller's classifier, which the caller
 * closes, and closing the reward model does nothing. The classifier may live on another device than the policy: only
 * text and scores cross. Thread safety: not for concurrent calls (a call switches the classifier to eval mode and
 * back); GRPO calls it on the training thread.
 */
public final class RewardModel implements RewardFunction, AutoCloseable {
    /** The name of a reward model given by {@link #of} ({@link #load} names it after its folder). */
    public static final String DEFAULT_NAME = "reward_model";

    private final SequenceClassifier classifier;
    private final Tokenizer tokenizer;
    private final String name;
    private final long padId;
    private final boolean owned;

    private RewardModel(SequenceClassifier classifier, Tokenizer tokenizer, String name, long padId, boolean owned) {
        this.classifier = classifier;
        this.tokenizer = tokenizer;
        this.name = name;
        this.padId = padId;
        this.owned = owned;
    }

    /**
     * Loads a reward model without adapter (a full {@code *ForSequenceClassification} checkpoint); see
     * {@link #load(Path, Path, Tokenizer, Device)}.
     *
     * @param modelDir  a Hugging Face model folder of a one-label sequence classifier
     * @param tokenizer the reward model's tokenizer
     * @param device    where the reward model lives and runs
     * @return the reward model, which owns the classifier: close it
     */
    public static RewardModel load(Path modelDir, Tokenizer tokenizer, Device device) {
        return load(modelDir, null, tokenizer, device);
    }

    /**
     * Loads a reward model: the classifier of {@code modelDir} with config.json's labels (which must be one; a config
     * that names none, a causal LM's, gets one, as TRL loads {@code num_labels=1}) and, as TRL sets it, the tokenizer's
     * pad id (else its EOS id, else config.json's {@code pad_token_id}), and the adapter of {@code adapterDir} around
     * it, not trainable. The {@code score} head comes from the checkpoint or from the adapter (RewardTrainer saves it
     * there), so a causal LM's folder (config.json without labels) needs the adapter. Named after {@code modelDir}'s
     * folder (TRL names a model by its id's last part); {@link RewardFunction#named} renames it.
     *
     * @param modelDir   a Hugging Face model folder (config.json + safetensors)
     * @param adapterDir the reward model's adapter folder (saved by {@link RewardTrainer}'s model or Python PEFT), or
     *                   null for none
     * @param tokenizer  the reward model's tokenizer, at most as many tokens as the classifier's vocabulary
     * @param device     where the reward model lives and runs; any device, whichever the policy is on
     * @return the reward model, which owns the classifier: close it
     * @throws IllegalArgumentException for a missing folder, a classifier with other than one label, a causal LM's
     *                                  folder without adapter (its head would be untrained), or a tokenizer larger
     *                                  than the classifier's vocabulary
     */
    public static RewardModel load(Path modelDir, Path adapterDir, Tokenizer tokenizer, Device device) {
        requireFolder(modelDir, "config.json", "reward model folder",
                "a Hugging Face model folder (config.json + model.safetensors)");
        if (adapterDir != null) {
            requireFolder(adapterDir, "adapter_config.json", "reward model adapter folder",
                    "a folder saved by RewardTrainer's model (PeftClassifier.save) or Python PEFT");
        }
        if (tokenizer == null || device == null) {
            throw new IllegalArgumentException("a reward model needs its tokenizer and a device, got " + tokenizer
                    + " and " + device);
        }
        JsonNode json = AutoModel.readConfig(modelDir);
        ClassifierConfig stored = ClassifierConfig.fromJson(json);
        if (json.has("id2label") || json.has("num_labels")) {
            requireOneLabel(stored.numLabels(), modelDir.resolve("config.json").toString());
        } else if (adapterDir != null) {
            // a causal LM's folder under a reward adapter (RewardTrainer's): TRL loads it with num_labels=1
            stored = stored.withLabels(List.of("reward"));
        } else {
            throw new IllegalArgumentException(modelDir.resolve("config.json") + " names no labels: it is a language "
                    + "model, not a reward model, and its score head would be drawn at random; give the adapter "
                    + "RewardTrainer saved for it, or a *ForSequenceClassification checkpoint with one label");
        }
        OptionalLong pad = tokenizer.padTokenId().isPresent() ? tokenizer.padTokenId() : tokenizer.eosTokenId();
        ClassifierConfig config = pad.isPresent() ? stored.withPadTokenId(pad.getAsLong()) : stored;
        SequenceClassifierModule base = AutoModel.loadSequenceClassifier(modelDir, device, config);
        try {
            SequenceClassifier classifier = adapterDir == null ? base : Peft.load(base, adapterDir);
            return of(classifier, tokenizer, folderName(modelDir), true);
        } catch (RuntimeException e) {
            base.close();
            throw e;
        }
    }

    /**
     * A reward model around a classifier the caller has loaded (a {@link PeftClassifier}, e.g. right after
     * {@link RewardTrainer} trained it, or a base classifier), named {@value #DEFAULT_NAME}. It borrows the classifier:
     * the caller keeps closing it. A decoder classifier must have a {@code pad_token_id}
     * ({@code ClassifierConfig.withPadTokenId} when loading) to score padded batches.
     *
     * @param classifier a one-label sequence classifier
     * @param tokenizer  its tokenizer, at most as many tokens as the classifier's vocabulary
     * @return the reward model; closing it leaves the classifier open
     * @throws IllegalArgumentException for a classifier with other than one label, a decoder without pad id, or a
     *                                  tokenizer larger than the classifier's vocabulary
     */
    public static RewardModel of(SequenceClassifier classifier, Tokenizer tokenizer) {
        if (classifier == null || tokenizer == null) {
            throw new IllegalArgumentException("a reward model needs a classifier and its tokenizer, got " + classifier
                    + " and " + tokenizer);
        }
        return of(classifier, tokenizer, DEFAULT_NAME, false);
    }

    private static RewardModel of(SequenceClassifier classifier, Tokenizer tokenizer, String name, boolean owned) {
        requireOneLabel(classifier.numLabels(), "the classifier");
        if (tokenizer.vocabSize() > classifier.spec().vocabSize()) {
            throw new IllegalArgumentException("the reward tokenizer has " + tokenizer.vocabSize() + " tokens, but the "
                    + "reward model's vocabulary has " + classifier.spec().vocabSize() + " (vocab_size): they belong to "
                    + "different models; give the tokenizer saved with the reward model");
        }
        OptionalLong pad = classifier.classifierConfig().padTokenId();
        if (pad.isEmpty() && classifier.spec().causal()) {
            throw new IllegalArgumentException("the decoder reward model has no pad_token_id, by which it finds each "
                    + "padded row's last token: load it with ClassifierConfig.withPadTokenId (the tokenizer's pad or EOS "
                    + "id), or use RewardModel.load, which sets it");
        }
        // an encoder reads its padding through the attention mask only, so any id pads it
        long padId = pad.orElse(tokenizer.padTokenId().orElse(0));
        return new RewardModel(classifier, tokenizer, name, padId, owned);
    }

    /**
     * The reward of one completion, alone; see {@link #scoreAll} for a batch (one forward for all).
     *
     * @param prompt     the prompt's text
     * @param completion the completion's text
     * @return the classifier's logit for prompt + completion
     */
    @Override
    public double score(String prompt, String completion) {
        return scoreTexts(List.of(prompt + completion))[0];
    }

    /**
     * The rewards of a batch in one forward pass; a conversation's completion is scored through the chat template.
     *
     * @param prompts     each completion's prompt
     * @param completions the completions' texts
     * @return the classifier's logit of each prompt + completion
     */
    @Override
    public double[] scoreAll(List<GrpoExample> prompts, List<String> completions) {
        if (prompts.size() != completions.size()) {
            throw new IllegalArgumentException(prompts.size() + " prompts for " + completions.size() + " completions: "
                    + "give each completion its prompt");
        }
        List<String> texts = new ArrayList<>(completions.size());
        for (int i = 0; i < completions.size(); i++) {
            texts.add(text(prompts.get(i), completions.get(i)));
        }
        return scoreTexts(texts);
    }

    /** TRL's reward-model input: the conversation with the completion as the assistant's turn, or the texts joined. */
    private String text(GrpoExample prompt, String completion) {
        if (prompt.conversation().isEmpty()) {
            return prompt.text() + completion;
        }
        List<ChatMessage> messages = new ArrayList<>(prompt.conversation());
        messages.add(ChatMessage.assistant(completion));
        return tokenizer.applyChatTemplate(messages, false);
    }

    /** One forward over the texts, right-padded; each row keeps its last max_position_embeddings tokens. */
    private double[] scoreTexts(List<String> texts) {
        int maxLength = classifier.spec().maxPositionEmbeddings();
        List<long[]> rows = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            long[] ids = tokenizer.encode(texts.get(i));
            if (ids.length == 0) {
                throw new CompletionScoreException(i, new IllegalArgumentException("the prompt and completion encode "
                        + "to no token, which a reward model cannot score: give the prompts some text"));
            }
            rows.add(ids.length <= maxLength ? ids : Arrays.copyOfRange(ids, ids.length - maxLength, ids.length));
        }
        PaddedBatch batch = PaddedBatch.of(rows, padId);
        float[][] logits;
        Runnable restore = evalMode();
        try {
            logits = classifier.logits(batch.inputIds(), batch.attentionMask());
        } finally {
            restore.run();
        }
        double[] scores = new double[logits.length];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = logits[i][0];
        }
        return scores;
    }

    /** Switches the classifier's module tree to eval mode; the returned action restores its mode. */
    private Runnable evalMode() {
        Module tree = classifier instanceof PeftClassifier p ? (Module) p.base()
                : classifier instanceof Module m ? m : null;
        if (tree == null) {
            return () -> { };
        }
        boolean training = tree.isTraining();
        tree.train(false);
        return () -> tree.train(training);
    }

    /** The folder's name for {@link #load}, else {@value #DEFAULT_NAME}. */
    @Override
    public String name() {
        return name;
    }

    /** Frees the classifier's weights when this reward model loaded it ({@link #load}); else does nothing. */
    @Override
    public void close() {
        if (owned) {
            classifier.close();
        }
    }

    private static void requireOneLabel(int labels, String where) {
        if (labels != 1) {
            throw new IllegalArgumentException("a reward model scores a completion with one number, but " + where
                    + " has " + labels + " labels: use a classifier with num_labels 1 (what RewardTrainer trains)");
        }
    }

    private static void requireFolder(Path dir, String file, String what, String expected) {
        if (dir == null || !Files.isDirectory(dir) || !Files.isRegularFile(dir.resolve(file))) {
            String found = dir == null ? "is null" : !Files.exists(dir) ? dir.toAbsolutePath() + " does not exist"
                    : !Files.isDirectory(dir) ? dir.toAbsolutePath() + " is a file" : dir.toAbsolutePath() + " has no " + file;
            throw new IllegalArgumentException("the " + what + " " + found + ": point at " + expected);
        }
    }

    private static String folderName(Path dir) {
        Path name = dir.toAbsolutePath().normalize().getFileName();
        return name == null ? DEFAULT_NAME : name.toString();
    }
}
