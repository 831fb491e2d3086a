package dev.finetune4j.samples.quickstart;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.HfModelFolder;
import dev.finetune4j.core.models.LanguageModel;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The pretrained base model, cached as a Hugging Face folder (by default {@code ~/.cache/finetune4j/quickstart-base};
 * the quickstart's {@code --base-cache} changes it). A run reuses the folder when its {@code pretraining.json}
 * fingerprint (model config, pretraining settings, SHA-256 of the corpus) matches, and pretrains again otherwise.
 * Delete the folder to force a new pretraining.
 */
final class BaseModelCache {
    static final String FINGERPRINT = "pretraining.json";

    private BaseModelCache() {
    }

    /** {@code ~/.cache/finetune4j/quickstart-base}. */
    static Path defaultDir() {
        return Path.of(System.getProperty("user.home"), ".cache", "finetune4j", "quickstart-base");
    }

    /**
     * Makes sure {@code dir} holds the base model pretrained with {@code s} on {@code corpus}.
     *
     * @return true when it was pretrained now, false when the cached folder was reused
     */
    static boolean ensure(Path dir, Path corpus, BasePretraining.Settings s, PrintStream out) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode fingerprint = json.createObjectNode();
        fingerprint.set("config", BaseModelConfig.configJson());
        fingerprint.set("settings", json.valueToTree(s));
        fingerprint.put("corpus_sha256", sha256(corpus));
        Path file = dir.resolve(FINGERPRINT);
        // NOTE: compared after a JSON round trip: a long written out reads back as an int node, which equals() rejects
        if (Files.isRegularFile(file) && Files.isRegularFile(dir.resolve("model.safetensors"))
                && json.readTree(file.toFile()).equals(json.readTree(json.writeValueAsString(fingerprint)))) {
            if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) {
                ByteLevelTokenizerFiles.write(dir); // caches from before the folder carried its tokenizer
            }
            out.println("  reusing the cached base model in " + dir);
            return false;
        }
        out.println("  pretraining the base model on the general corpus (" + s.steps() + " steps; cached in " + dir + ")");
        try (LanguageModel model = BasePretraining.pretrain(corpus, s, new ProgressLine("pretrain"))) {
            HfModelFolder.save(model, BaseModelConfig.configJson(), null, dir);
            ByteLevelTokenizerFiles.write(dir);
        }
        json.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), fingerprint);
        return true;
    }

    private static String sha256(Path file) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
