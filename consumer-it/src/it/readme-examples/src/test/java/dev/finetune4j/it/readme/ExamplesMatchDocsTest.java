package dev.finetune4j.it.readme;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Keeps the documentation and these tests one text: every {@code ```java} block of README.md and of the module
 * guides ({@code <module>/*.md}) appears, verbatim up to indentation, in this project's sources between
 * {@code // example DOC#N} and {@code // end example}, where the other tests compile and run it; and every such
 * region still matches a block. Import lines at the head of a block must be imports of the file that runs it.
 */
class ExamplesMatchDocsTest {
    private static final Pattern JAVA_BLOCK = Pattern.compile("(?m)^```java\\n(.*?)^```", Pattern.DOTALL);
    private static final Pattern REGION =
            Pattern.compile("(?m)^[ \\t]*// example (\\S+#\\d+)\\n(.*?)^[ \\t]*// end example$", Pattern.DOTALL);

    @Test
    void everyDocumentedExampleIsRunVerbatim() throws IOException {
        Path docs = Path.of(System.getProperty("finetune4j.docs"));
        Map<String, String> blocks = documentedBlocks(docs);
        assertTrue(blocks.containsKey("README.md#1"), "no Java examples found under " + docs);
        Map<String, Region> regions = exampleRegions(Path.of(System.getProperty("examples.sources")));

        List<String> problems = new ArrayList<>();
        blocks.forEach((id, block) -> {
            Region region = regions.get(id);
            List<String> lines = new ArrayList<>(block.lines().toList());
            List<String> imports = new ArrayList<>();
            while (!lines.isEmpty() && (lines.getFirst().startsWith("import ") || lines.getFirst().isBlank())) {
                String line = lines.removeFirst();
                if (!line.isBlank()) {
                    imports.add(line);
                }
            }
            if (region == null) {
                problems.add(id + " is not run: write '//@@ " + id + "' in a test, set up its variables, run tools/sync-doc-examples.py");
            } else if (!dedent(lines).equals(dedent(region.body.lines().toList()))) {
                problems.add(id + " differs from the copy in " + region.file.getFileName()
                        + ": update one to match the other (tools/sync-doc-examples.py copies the docs into the tests)");
            } else {
                imports.stream().filter(i -> !region.fileText.contains("\n" + i + "\n"))
                        .forEach(i -> problems.add(id + ": " + region.file.getFileName() + " lacks '" + i + "'"));
            }
        });
        regions.keySet().stream().filter(id -> !blocks.containsKey(id))
                .forEach(id -> problems.add(id + " is in the tests but no longer in the docs: remove it"));
        assertEquals(List.of(), problems);
    }

    /** The {@code ```java} blocks of README.md and {@code <module>/*.md}, by {@code DOC#N} (N counts from 1). */
    private static Map<String, String> documentedBlocks(Path root) throws IOException {
        List<Path> docs = new ArrayList<>(List.of(root.resolve("README.md")));
        try (Stream<Path> modules = Files.list(root)) {
            for (Path module : modules.filter(p -> Files.isRegularFile(p.resolve("pom.xml"))).sorted().toList()) {
                try (Stream<Path> files = Files.list(module)) {
                    files.filter(f -> f.toString().endsWith(".md")).sorted().forEach(docs::add);
                }
            }
        }
        Map<String, String> blocks = new LinkedHashMap<>();
        for (Path doc : docs) {
            Matcher m = JAVA_BLOCK.matcher(Files.readString(doc));
            String name = root.relativize(doc).toString().replace('\\', '/');
            for (int n = 1; m.find(); n++) {
                blocks.put(name + "#" + n, m.group(1));
            }
        }
        return blocks;
    }

    private record Region(Path file, String fileText, String body) {
    }

    private static Map<String, Region> exampleRegions(Path sources) throws IOException {
        Map<String, Region> regions = new LinkedHashMap<>();
        try (Stream<Path> files = Files.walk(sources)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String text = Files.readString(file);
                Matcher m = REGION.matcher(text);
                while (m.find()) {
                    Region previous = regions.put(m.group(1), new Region(file, text, m.group(2)));
                    assertTrue(previous == null, m.group(1) + " is run twice");
                }
            }
        }
        return regions;
    }

    /** The lines without trailing spaces and without the indentation they all share. */
    private static List<String> dedent(List<String> lines) {
        int indent = lines.stream().filter(l -> !l.isBlank())
                .mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
        return lines.stream().map(l -> l.isBlank() ? "" : l.substring(indent).stripTrailing()).toList();
    }
}
