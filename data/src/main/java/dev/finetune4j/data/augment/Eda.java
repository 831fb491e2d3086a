package dev.finetune4j.data.augment;

import com.google.common.hash.Hashing;
import dev.finetune4j.data.pipeline.Outcome;
import dev.finetune4j.data.pipeline.Step;
import dev.finetune4j.data.record.Record;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * EDA augmentation on Chinese and English: keeps each record and adds {@link EdaConfig#copies()} copies whose
 * text values went through synonym replacement, random insertion, random swap and random deletion. Copies carry
 * {@code augmented_from}. Deterministic per record id and seed; stateless and thread-safe.
 */
public final class Eda implements Step.Stateless {
    /** The operation rates, copies and seed. */
    private final EdaConfig config;
    /** Where synonyms come from. */
    private final SynonymSource synonyms;

    /**
     * An EDA step.
     *
     * @param config the operation rates, copies and seed
     * @param synonyms where synonym replacement and insertion find synonyms
     */
    public Eda(EdaConfig config, SynonymSource synonyms) {
        this.config = config;
        this.synonyms = synonyms;
    }

    @Override
    public String name() {
        return "eda";
    }

    @Override
    public Map<String, Object> params() {
        return config.params();
    }

    @Override
    public Outcome apply(Record record) {
        long base = config.seed() ^ Hashing.murmur3_128().hashString(record.id(), StandardCharsets.UTF_8).asLong();
        List<Record> copies = new ArrayList<>();
        for (int n = 0; n < config.copies(); n++) {
            SplittableRandom rnd = new SplittableRandom(base + n);
            copies.add(Augmented.copy(record, record.mapProse(t -> augment(t, rnd)), "eda", n));
        }
        return Outcome.keep(record).withAdded(copies);
    }

    /**
     * One augmented version of {@code text}.
     *
     * @param text one text value of a record
     * @param rnd the random source of this copy
     * @return the augmented text, or {@code text} itself when it has fewer than two words
     */
    public String augment(String text, SplittableRandom rnd) {
        List<String> words = new ArrayList<>(Segmenter.words(text));
        if (words.size() < 2) {
            return text;
        }
        int n = words.size();
        replaceSynonyms(words, Math.max(1, (int) (config.synonymRate() * n)), rnd);
        words = insert(words, (int) Math.round(config.insertRate() * n), rnd);
        for (int i = 0; i < Math.round(config.swapRate() * n); i++) {
            int a = rnd.nextInt(words.size());
            int b = rnd.nextInt(words.size());
            String t = words.get(a);
            words.set(a, words.get(b));
            words.set(b, t);
        }
        if (config.deleteRate() > 0) {
            List<String> kept = new ArrayList<>(words.size());
            words.forEach(w -> {
                if (rnd.nextDouble() >= config.deleteRate()) {
                    kept.add(w);
                }
            });
            words = kept.isEmpty() ? List.of(words.get(rnd.nextInt(words.size()))) : kept;
        }
        return Segmenter.join(words);
    }

    private void replaceSynonyms(List<String> words, int count, SplittableRandom rnd) {
        if (config.synonymRate() == 0) {
            return;
        }
        int done = 0;
        for (int tries = 0; tries < words.size() * 2 && done < count; tries++) {
            int i = rnd.nextInt(words.size());
            List<String> syn = synonyms.synonyms(words.get(i));
            if (!syn.isEmpty()) {
                words.set(i, syn.get(rnd.nextInt(syn.size())));
                done++;
            }
        }
    }

    /**
     * {@code words} with {@code count} synonyms of random words (inserted ones included) at random places. Each
     * insertion draws the word, then the place, then the synonym, as the list-shifting version before
     * {@link InsertionList} did, so a seed keeps giving the texts it gave.
     */
    private List<String> insert(List<String> words, int count, SplittableRandom rnd) {
        if (count == 0) {
            return words;
        }
        InsertionList out = new InsertionList(words);
        for (int k = 0; k < count; k++) {
            for (int tries = 0; tries < 10; tries++) {
                List<String> syn = synonyms.synonyms(out.get(rnd.nextInt(out.size())));
                if (!syn.isEmpty()) {
                    int at = rnd.nextInt(out.size() + 1);
                    out.add(at, syn.get(rnd.nextInt(syn.size())));
                    break;
                }
            }
        }
        return out.toList();
    }
}
