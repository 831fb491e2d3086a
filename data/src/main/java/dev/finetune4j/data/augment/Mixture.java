package dev.finetune4j.data.augment;

import com.google.common.hash.Hashing;
import dev.finetune4j.data.format.Parsed;
import dev.finetune4j.data.format.RecordStream;
import dev.finetune4j.data.format.Source;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Mixes several sources by weight, e.g. 80% domain data and 20% general data replayed to prevent forgetting.
 * Each next item comes from source {@code i} with probability {@code weight_i / sum}; the mixture ends when the
 * first source runs out, so the proportions hold. Deterministic for a seed. Its hash in the manifest is the
 * SHA-256 of the members' hashes.
 *
 * @param sources the sources to mix, at least one
 * @param weights one weight per source, finite and {@code > 0}; they need not sum to 1
 * @param seed seed of the draws that pick each item's source
 */
public record Mixture(List<Source> sources, List<Double> weights, long seed) implements Source {
    /** Copies the lists and checks that there is one finite, positive weight per source. */
    public Mixture {
        sources = List.copyOf(sources);
        weights = List.copyOf(weights);
        if (sources.isEmpty() || sources.size() != weights.size()) {
            throw new IllegalArgumentException("need one weight per source, found " + sources.size() + " sources and "
                    + weights.size() + " weights");
        }
        if (weights.stream().anyMatch(w -> !(w > 0 && w < Double.POSITIVE_INFINITY))) {
            throw new IllegalArgumentException("weights must be finite and > 0, found " + weights);
        }
    }

    @Override
    public String name() {
        return "mixture(" + String.join(",", sources.stream().map(Source::name).toList()) + ")";
    }

    @Override
    public List<Path> files() {
        return sources.stream().flatMap(s -> s.files().stream()).toList();
    }

    @Override
    public RecordStream open() throws IOException {
        List<RecordStream> open = new ArrayList<>();
        try {
            for (Source s : sources) {
                open.add(s.open());
            }
        } catch (IOException | RuntimeException e) {
            for (RecordStream r : open) {
                try {
                    r.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
        double total = weights.stream().mapToDouble(Double::doubleValue).sum();
        SplittableRandom rnd = new SplittableRandom(seed);
        return new RecordStream() {
            private boolean done;

            @Override
            public Parsed next() throws IOException {
                if (done) {
                    return null;
                }
                double u = rnd.nextDouble() * total;
                int i = 0;
                while (i < weights.size() - 1 && u >= weights.get(i)) {
                    u -= weights.get(i++);
                }
                Parsed p = open.get(i).next();
                done = p == null;
                return p;
            }

            @Override
            public String sha256() {
                StringBuilder all = new StringBuilder();
                open.forEach(s -> all.append(s.sha256()));
                return Hashing.sha256().hashString(all, StandardCharsets.UTF_8).toString();
            }

            @Override
            public long bytesRead() {
                return open.stream().mapToLong(RecordStream::bytesRead).sum();
            }

            @Override
            public void close() throws IOException {
                for (RecordStream s : open) {
                    s.close();
                }
            }
        };
    }
}
