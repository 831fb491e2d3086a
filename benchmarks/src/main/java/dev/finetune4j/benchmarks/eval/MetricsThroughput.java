package dev.finetune4j.benchmarks.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.eval.Bleu;
import dev.finetune4j.eval.Chrf;
import dev.finetune4j.eval.Rouge;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Pairs per second of corpus BLEU (13a on en_pairs, zh on zh_pairs), chrF, chrF++ and ROUGE-1/2/L/Lsum
 * (without and with the Porter stemmer) on the anchor corpora of shared/BENCHMARKS.md, next to the Python
 * anchors (sacreBLEU 2.6.0, rouge-score). Each workload runs once to warm up, then {@code repeats} times;
 * the median is reported. Both cores may be used (segments are scored in parallel).
 *
 * <pre>
 * python3 shared/bench/corpora.py --dump /tmp/corpora
 * java -cp ... dev.finetune4j.benchmarks.eval.MetricsThroughput /tmp/corpora [repeats]
 * </pre>
 */
public final class MetricsThroughput {
    private record Pairs(List<String> hyps, List<String> refs) {
    }

    private record Workload(String name, String anchorTool, double anchorPairsPerSecond, Pairs pairs, Supplier<Object> run) {
    }

    private MetricsThroughput() {
    }

    /**
     * Runs the benchmark and prints pairs per second of each metric.
     *
     * @param args the corpora folder, then optionally the number of repeats
     * @throws IOException when a corpus cannot be read
     */
    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            throw new IllegalArgumentException("usage: MetricsThroughput <corpora dir from corpora.py --dump> [repeats]");
        }
        Path dir = Path.of(args[0]);
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        Pairs en = read(dir.resolve("en_pairs.jsonl"));
        Pairs zh = read(dir.resolve("zh_pairs.jsonl"));
        Bleu bleu13a = Bleu.builder().tokenize("13a").build();
        Bleu bleuZh = Bleu.builder().tokenize("zh").build();
        Chrf chrf = Chrf.builder().build();
        Chrf chrfPlusPlus = Chrf.builder().wordOrder(2).build();
        Rouge rouge = Rouge.builder().rougeTypes("rouge1", "rouge2", "rougeL", "rougeLsum").build();
        Rouge rougeStem = Rouge.builder().rougeTypes("rouge1", "rouge2", "rougeL", "rougeLsum").useStemmer(true).build();
        List<Workload> workloads = List.of(
                new Workload("corpus BLEU, tokenize 13a, en_pairs", "sacreBLEU", 3339, en,
                        () -> bleu13a.corpusScore(en.hyps, List.of(en.refs)).score()),
                new Workload("corpus BLEU, tokenize zh, zh_pairs", "sacreBLEU", 1554, zh,
                        () -> bleuZh.corpusScore(zh.hyps, List.of(zh.refs)).score()),
                new Workload("corpus chrF, en_pairs", "sacreBLEU", 1229, en,
                        () -> chrf.corpusScore(en.hyps, List.of(en.refs)).score()),
                new Workload("corpus chrF++, en_pairs", "sacreBLEU", 980, en,
                        () -> chrfPlusPlus.corpusScore(en.hyps, List.of(en.refs)).score()),
                new Workload("ROUGE-1/2/L/Lsum, no stemmer, en_pairs", "rouge-score", 2145, en,
                        () -> rouge.corpusScore(en.hyps, List.of(en.refs)).get("rougeL").fmeasure()),
                new Workload("ROUGE-1/2/L/Lsum, Porter stemmer, en_pairs", "rouge-score", 666, en,
                        () -> rougeStem.corpusScore(en.hyps, List.of(en.refs)).get("rougeL").fmeasure()));
        System.out.printf(Locale.ROOT, "JDK %s, %d available processors, %d repeats (median)%n%n",
                Runtime.version(), Runtime.getRuntime().availableProcessors(), repeats);
        System.out.println("| workload | pairs | value | ours, pairs/s (median) | anchor | anchor pairs/s | ratio |");
        System.out.println("| --- | --- | --- | --- | --- | --- | --- |");
        for (Workload w : workloads) {
            Object value = w.run.get();
            double[] seconds = new double[repeats];
            for (int r = 0; r < repeats; r++) {
                long t0 = System.nanoTime();
                w.run.get();
                seconds[r] = (System.nanoTime() - t0) / 1e9;
            }
            Arrays.sort(seconds);
            double perSecond = w.pairs.hyps.size() / seconds[repeats / 2];
            System.out.printf(Locale.ROOT, "| %s | %,d | %.4f | %,.0f | %s | %,.0f | %.1fx |%n", w.name, w.pairs.hyps.size(),
                    ((Number) value).doubleValue(), perSecond, w.anchorTool, w.anchorPairsPerSecond, perSecond / w.anchorPairsPerSecond);
        }
    }

    private static Pairs read(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<String> hyps = new ArrayList<>();
        List<String> refs = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (!line.isBlank()) {
                    JsonNode n = json.readTree(line);
                    hyps.add(n.get("hyp").asText());
                    refs.add(n.get("ref").asText());
                }
            }
        }
        return new Pairs(hyps, refs);
    }
}
