package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.LoraConfig;
import dev.finetune4j.peft.LoraInit;
import dev.finetune4j.peft.Peft;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

/** The tiny fixture models, LoRA adapters saved from them, and completions computed by core's Generator alone. */
final class ServeFixtures {
    private ServeFixtures() {
    }

    /** A model folder under src/test/resources/hf-tiny. */
    static Path model(String name) {
        try {
            return Path.of(ServeFixtures.class.getResource("/hf-tiny/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing test resource /hf-tiny/" + name, e);
        }
    }

    static LanguageModel load(String model) {
        return AutoModel.loadCausalLM(model(model));
    }

    /** Saves a LoRA adapter with random A and B (so that it changes the output) into {@code dir}. */
    static Path saveAdapter(String model, LoraConfig.Builder config, long seed, Path dir) {
        try (LanguageModel base = load(model)) {
            Peft.wrap(base, config.initLoraWeights(LoraInit.RANDOM).build(), seed).save(dir);
        }
        return dir;
    }

    /** The tokens core's Generator adds to {@code prompt}, on the base model or with the adapter in {@code adapterDir}. */
    static long[] generateAlone(String model, Path adapterDir, long[] prompt, GenerationConfig cfg) {
        try (LanguageModel base = load(model)) {
            long[] full = adapterDir == null ? Generator.generate(base, prompt, cfg)
                    : Generator.generate(Peft.load(base, adapterDir), prompt, cfg);
            return Arrays.copyOfRange(full, prompt.length, full.length);
        }
    }

    /** A prompt of {@code length} ids below {@code vocab}, from {@code seed}. */
    static long[] prompt(int length, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long[] p = new long[length];
        for (int i = 0; i < length; i++) {
            p[i] = r.nextInt(vocab);
        }
        return p;
    }
}
