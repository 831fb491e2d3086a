package dev.finetune4j.data.augment;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

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
        return new SynonymGroups(groups);
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
        return new SynonymGroups(groups);
    }

    /**
     * WordNet database files ({@code data.noun}, {@code data.verb}, {@code data.adj}, {@code data.adv}) in
     * {@code dir}: the words of one synset are synonyms. Underscores in lemmas become spaces.
     *
     * @param dir the folder with the WordNet data files
     * @return a source over the synsets
     * @throws IOException when a file cannot be read
     * @throws IllegalArgumentException naming the file and line when a line is not a synset line
     */
    public static SynonymSource wordnet(Path dir) throws IOException {
        List<List<String>> groups = new ArrayList<>();
        for (String pos : List.of("noun", "verb", "adj", "adv")) {
            Path file = dir.resolve("data." + pos);
            if (!Files.exists(file)) {
                continue;
            }
            try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                long lineNumber = 0;
                for (String line; (line = r.readLine()) != null; ) {
                    lineNumber++;
                    if (!line.isBlank() && !line.startsWith(" ")) { // license header lines start with two spaces
                        groups.add(wordnetSynset(line, file, lineNumber));
                    }
                }
            }
        }
        if (groups.isEmpty()) {
            throw new IOException("no WordNet data.noun/verb/adj/adv files in " + dir
                    + "; point at WordNet's 'dict' folder");
        }
        return new SynonymGroups(groups);
    }

    /**
     * The lemmas of {@code offset lex_filenum ss_type w_cnt word lex_id [word lex_id...] ...} (WordNet's wndb
     * format, w_cnt in hexadecimal), without adjective markers such as {@code (a)}. The count is a claim of the
     * file: it is checked against the fields the line has before anything is allocated for it.
     */
    private static List<String> wordnetSynset(String line, Path file, long lineNumber) {
        String[] f = line.split(" ");
        if (f.length < 4) {
            throw notASynset(file, lineNumber, "it has " + f.length + " fields, a synset has offset, lex_filenum,"
                    + " ss_type, w_cnt and its words");
        }
        int count;
        try {
            count = Integer.parseInt(f[3], 16);
        } catch (NumberFormatException e) {
            throw notASynset(file, lineNumber, "w_cnt '" + f[3] + "' is not a hexadecimal word count");
        }
        int room = (f.length - 4) / 2;
        if (count < 0 || count > room) {
            throw notASynset(file, lineNumber, "w_cnt " + f[3] + " says " + count + " words, but the line has room"
                    + " for " + room + " (a word and its lex_id each)");
        }
        List<String> words = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            words.add(withoutMarker(f[4 + 2 * i].replace('_', ' ')).toLowerCase(Locale.ROOT));
        }
        return words;
    }

    /** {@code word(a)} to {@code word}: from the first '(' when the lemma ends with ')', in one scan. */
    private static String withoutMarker(String lemma) {
        int open = lemma.endsWith(")") ? lemma.indexOf('(') : -1;
        return open < 0 ? lemma : lemma.substring(0, open);
    }

    private static IllegalArgumentException notASynset(Path file, long lineNumber, String what) {
        return new IllegalArgumentException(file + " line " + lineNumber + " is not a WordNet synset: " + what
                + "; point at WordNet's dict folder (data.noun/verb/adj/adv as distributed), or fix or delete the line");
    }
}
