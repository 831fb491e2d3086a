package dev.finetune4j.eval;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/** Input checks and reshaping shared by the corpus metrics. */
final class Segments {
    private Segments() {
    }

    /**
     * Turns sacreBLEU's reference streams ({@code streams.get(k).get(i)}: k-th reference of segment i) into
     * the references of each segment, dropping {@code null} entries.
     */
    static List<List<String>> transpose(List<String> hypotheses, List<List<String>> streams, String where) {
        if (hypotheses == null) {
            throw new IllegalArgumentException(where + ": hypotheses is null");
        }
        if (streams == null || streams.isEmpty()) {
            throw new IllegalArgumentException(where + ": no reference streams; pass List.of(references) for one reference per segment");
        }
        int n = hypotheses.size();
        if (n == 0) {
            throw new IllegalArgumentException(where + ": no segments; an empty evaluation set has no score"
                    + " (pass at least one hypothesis)");
        }
        for (int k = 0; k < streams.size(); k++) {
            if (streams.get(k) == null) {
                throw new IllegalArgumentException(where + ": reference stream " + k + " is null");
            }
            if (streams.get(k).size() != n) {
                throw new IllegalArgumentException(where + ": reference stream " + k + " has " + streams.get(k).size()
                        + " segments but there are " + n + " hypotheses; every stream needs one entry per hypothesis (null where a segment has fewer references)");
            }
        }
        List<List<String>> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            if (hypotheses.get(i) == null) {
                throw new IllegalArgumentException(where + ": hypothesis " + i + " is null; use \"\" for an empty output");
            }
            List<String> refs = new ArrayList<>(streams.size());
            for (List<String> stream : streams) {
                if (stream.get(i) != null) {
                    refs.add(stream.get(i));
                }
            }
            if (refs.isEmpty()) {
                throw new IllegalArgumentException(where + ": segment " + i + " has no reference (all streams null)");
            }
            out.add(refs);
        }
        return out;
    }

    /** The references of one sentence, without nulls, at least one. */
    static List<String> nonNull(List<String> references, String where) {
        if (references == null) {
            throw new IllegalArgumentException(where + ": references is null; pass at least one reference");
        }
        List<String> refs = references.stream().filter(Objects::nonNull).toList();
        if (refs.isEmpty()) {
            throw new IllegalArgumentException(where + ": at least one non-null reference is required");
        }
        return refs;
    }

    /** The hypothesis of one segment, which must not be null. */
    static String hypothesis(String hypothesis, String where) {
        if (hypothesis == null) {
            throw new IllegalArgumentException(where + ": hypothesis is null; use \"\" for an empty output");
        }
        return hypothesis;
    }

    /** sacreBLEU's {@code nrefs} signature value: the common reference count, or "var". */
    static String signatureRefCount(List<List<String>> refsBySegment) {
        Set<Integer> counts = new HashSet<>();
        for (List<String> refs : refsBySegment) {
            counts.add(refs.size());
        }
        return counts.size() == 1 ? String.valueOf(counts.iterator().next()) : counts.isEmpty() ? "0" : "var";
    }

    static List<Double> boxed(double[] values) {
        List<Double> out = new ArrayList<>(values.length);
        for (double v : values) {
            out.add(v);
        }
        return out;
    }
}
