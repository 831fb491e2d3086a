package dev.finetune4j.data.augment;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Loads synonym dictionaries into memory. Each loader returns an immutable, thread-safe source. */
public final class SynonymSources {
    private SynonymSources() {
    }

    /**
     * A source over a word-to-synonyms map.
     *
     * @param map word to synonyms
     * @return a source answering from a copy of the map
     */
    public static SynonymSource of(Map<String, List<String>> map) {
        Map<String, List<String>> copy = Map.copyOf(map);
        return word -> copy.getOrDefault(word, List.of());
    }

    /**
     * A TSV dictionary: {@code word<TAB>synonym<TAB>synonym...} (synonyms may also be comma-separated); lines
     * starting with {@code #} are comments. Each line is a group: every member becomes a synonym of the others.
     *
     * @param file the TSV file
     * @return a source over its groups
     * @throws IOException when the file cannot be read
     */
    public static SynonymSource tsv(Path file) throws IOException {
        List<List<String>> groups = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (!line.isBlank() && !line.startsWith("#")) {
                groups.add(Arrays.stream(line.split("[\t,]")).map(String::strip).filter(s -> !s.isEmpty()).toList());
            }
        }
        return fromGroups(groups);
    }

    /**
     * The Cilin format (HIT-SCIR "TongYiCi CiLin" extended): {@code Aa01A01= 人 士 人物 ...}; only groups whose code
     * ends with {@code =} (true synonyms) are used, not {@code #} (related) or {@code @} (single word).
     *
     * @param file the Cilin file
     * @return a source over its synonym groups
     * @throws IOException when the file cannot be read
     */
    public static SynonymSource cilin(Path file) throws IOException {
        List<List<String>> groups = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String[] parts = line.strip().split("\\s+");
            if (parts.length > 2 && parts[0].endsWith("=")) {
                groups.add(Arrays.asList(parts).subList(1, parts.length));
            }
        }
        return fromGroups(groups);
    }

    /**
     * WordNet database files ({@code data.noun}, {@code data.verb}, {@code data.adj}, {@code data.adv}) in
     * {@code dir}: the words of one synset are synonyms. Underscores in lemmas become spaces.
     *
     * @param dir the folder with the WordNet data files
     * @return a source over the synsets
     * @throws IOException when a file cannot be read
     */
    public static SynonymSource wordnet(Path dir) throws IOException {
        List<List<String>> groups = new ArrayList<>();
        for (String pos : List.of("noun", "verb", "adj", "adv")) {
            Path file = dir.resolve("data." + pos);
            if (!Files.exists(file)) {
                continue;
            }
            try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (!line.startsWith(" ")) { // license header lines start with two spaces
                        groups.add(wordnetSynset(line));
                    }
                }
            }
        }
        if (groups.isEmpty()) {
            throw new IOException("no WordNet data.noun/verb/adj/adv files in " + dir
                    + "; point at WordNet's 'dict' folder");
        }
        return fromGroups(groups);
    }

    /** {@code offset lex_filenum ss_type w_cnt(hex) word lex_id [word lex_id...] ...} */
    private static List<String> wordnetSynset(String line) {
        String[] f = line.split(" ");
        int count = Integer.parseInt(f[3], 16);
        List<String> words = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            words.add(f[4 + 2 * i].replace('_', ' ').replaceAll("\\(.*\\)$", "").toLowerCase());
        }
        return words;
    }

    private static SynonymSource fromGroups(List<List<String>> groups) {
        Map<String, Set<String>> map = new HashMap<>();
        for (List<String> g : groups) {
            for (String w : g) {
                Set<String> s = map.computeIfAbsent(w, k -> new LinkedHashSet<>());
                g.stream().filter(o -> !o.equals(w)).forEach(s::add);
            }
        }
        Map<String, List<String>> frozen = new HashMap<>();
        map.forEach((k, v) -> frozen.put(k, List.copyOf(v)));
        return of(frozen);
    }
}
