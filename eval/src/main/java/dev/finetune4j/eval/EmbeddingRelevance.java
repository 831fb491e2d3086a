package dev.finetune4j.eval;

import java.util.List;

/**
 * The embedding domain relevance scorer (see {@link DomainRelevance#embedding}): with unit-length
 * embeddings e, the domain centroid {@code c = normalize(mean of e(d) over the domain corpus)},
 * {@code s(x) = cos(e(x), c)}, the domain level {@code L_D = mean of s(d)} over the domain corpus and the
 * background level {@code L_B = mean of s(b)} over the background corpus (0 without one), a text scores
 * {@code clamp((s(x) - L_B) / (L_D - L_B), 0, 1)}: 0 at or below typical general text, 1 at or above typical
 * domain text. Immutable and thread-safe (as far as the embedder is).
 */
final class EmbeddingRelevance implements RelevanceScorer {
    private final TextEmbedder embedder;
    private final double[] centroid;
    private final double domainLevel;
    private final double backgroundLevel;

    EmbeddingRelevance(TextEmbedder embedder, List<String> domain, List<String> background) {
        if (domain.isEmpty()) {
            throw new IllegalArgumentException("the domain reference corpus is empty; give a few hundred in-domain texts");
        }
        this.embedder = embedder;
        float[][] d = embedder.embed(domain);
        double[] c = new double[d[0].length];
        for (float[] e : d) {
            double[] u = unit(e);
            for (int k = 0; k < c.length; k++) {
                c[k] += u[k];
            }
        }
        this.centroid = unit(c);
        this.domainLevel = meanSimilarity(d);
        this.backgroundLevel = background == null || background.isEmpty() ? 0.0 : meanSimilarity(embedder.embed(background));
        if (!(domainLevel > backgroundLevel)) {
            throw new IllegalStateException(String.format(java.util.Locale.ROOT,
                    "the embedder does not separate the domain corpus (mean similarity to its centroid %.4f) from the "
                            + "background (%.4f); use a sentence encoder trained for similarity or the lexical scorer",
                    domainLevel, backgroundLevel));
        }
    }

    @Override
    public double score(String text) {
        return scoreAll(List.of(text))[0];
    }

    @Override
    public double[] scoreAll(List<String> texts) {
        float[][] e = embedder.embed(texts);
        double[] out = new double[e.length];
        for (int i = 0; i < e.length; i++) {
            double s = cosine(e[i]);
            out[i] = Math.min(1.0, Math.max(0.0, (s - backgroundLevel) / (domainLevel - backgroundLevel)));
        }
        return out;
    }

    /** {@code L_D}, the mean similarity of the domain corpus to its centroid. */
    double domainLevel() {
        return domainLevel;
    }

    /** {@code L_B}, the mean similarity of the background corpus to the domain centroid. */
    double backgroundLevel() {
        return backgroundLevel;
    }

    private double meanSimilarity(float[][] embeddings) {
        double sum = 0;
        for (float[] e : embeddings) {
            sum += cosine(e);
        }
        return sum / embeddings.length;
    }

    private double cosine(float[] e) {
        double[] u = unit(e);
        double dot = 0;
        for (int k = 0; k < u.length; k++) {
            dot += u[k] * centroid[k];
        }
        return dot;
    }

    private static double[] unit(float[] v) {
        double[] d = new double[v.length];
        for (int k = 0; k < v.length; k++) {
            d[k] = v[k];
        }
        return unit(d);
    }

    private static double[] unit(double[] v) {
        double norm = 0;
        for (double x : v) {
            norm += x * x;
        }
        norm = Math.sqrt(norm);
        double[] out = new double[v.length];
        for (int k = 0; k < v.length; k++) {
            out[k] = norm == 0 ? 0 : v[k] / norm;
        }
        return out;
    }
}
