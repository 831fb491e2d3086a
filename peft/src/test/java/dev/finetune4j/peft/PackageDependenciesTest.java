package dev.finetune4j.peft;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Keeps the "Allowed dependencies" line of every peft package's package-info.java true for its main sources, and
 * keeps method folders apart: a method folder never names another method's folder, whatever its line says.
 */
class PackageDependenciesTest {
    private static final Path SOURCES = Path.of("src/main/java");
    private static final String PROJECT = "dev.finetune4j.";
    /** A reference to a project class: its package (lower-case segments) before the class name. */
    private static final Pattern REFERENCE = Pattern.compile("\\b(dev\\.finetune4j(?:\\.[a-z][a-z0-9_]*)+)\\.[A-Z*]");
    private static final Pattern RULE = Pattern.compile("Allowed dependencies:(.*)");
    private static final Pattern CODE = Pattern.compile("\\{@code ([\\w.*]+)}");
    /** QLoRA registers no method (it saves LoRA adapters) but is a method folder all the same. */
    private static final String QLORA = "dev.finetune4j.peft.qlora";

    @Test
    void everyPackageKeepsItsDeclaredDependencies() throws IOException {
        Map<String, List<String>> rules = rules();
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, List<Path>> e : sourcesByPackage().entrySet()) {
            List<String> allowed = rules.get(e.getKey());
            if (allowed == null) {
                problems.add(e.getKey() + " has no package-info.java with an 'Allowed dependencies:' line: write down "
                        + "which packages it may use");
                continue;
            }
            for (Path file : e.getValue()) {
                violations(e.getKey(), Files.readString(file), allowed)
                        .forEach(v -> problems.add(SOURCES.relativize(file) + " uses " + v + ", outside " + allowed));
            }
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void noMethodFolderNamesAnother() throws IOException {
        Set<String> methods = methodFolders();
        assertTrue(methods.containsAll(Set.of("dev.finetune4j.peft.lora", "dev.finetune4j.peft.ia3", QLORA)), methods.toString());
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, List<Path>> e : sourcesByPackage().entrySet()) {
            if (!methods.contains(e.getKey())) {
                continue;
            }
            for (Path file : e.getValue()) {
                for (String used : referencedPackages(Files.readString(file))) {
                    if (methods.contains(used) && !used.equals(e.getKey())) {
                        problems.add(SOURCES.relativize(file) + " names the method folder " + used);
                    }
                }
            }
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void theRootAndTheTrainersNameNoMethodFolder() throws IOException {
        Map<String, List<String>> rules = rules();
        for (String pkg : List.of("dev.finetune4j.peft", "dev.finetune4j.peft.train")) {
            for (String method : methodFolders()) {
                assertFalse(rules.get(pkg).stream().anyMatch(r -> allows(r, method)), pkg + " may not use " + method);
            }
        }
    }

    /** The checker itself: a method folder importing another is reported, core and the root API are not. */
    @Test
    void aForbiddenImportIsReported() {
        String source = """
                package dev.finetune4j.peft.ia3;

                import dev.finetune4j.core.nn.Module;
                import dev.finetune4j.peft.PeftContext;
                import dev.finetune4j.peft.lora.LoraLinear;
                import static dev.finetune4j.peft.prompt.PromptInjector.inject;

                final class X { dev.finetune4j.peft.prefix.PrefixEncoder e; }
                """;
        List<String> allowed = List.of("dev.finetune4j.core.*", "dev.finetune4j.peft");
        assertEquals(List.of("dev.finetune4j.peft.lora", "dev.finetune4j.peft.prefix", "dev.finetune4j.peft.prompt"),
                violations("dev.finetune4j.peft.ia3", source, allowed));
    }

    /** Project packages {@code source} names that {@code allowed} does not cover (its own package always is). */
    static List<String> violations(String pkg, String source, List<String> allowed) {
        return referencedPackages(source).stream()
                .filter(used -> !used.equals(pkg) && allowed.stream().noneMatch(r -> allows(r, used)))
                .toList();
    }

    /** {@code a.b.*} covers a.b and every package under it; {@code a.b} covers a.b alone. */
    private static boolean allows(String rule, String pkg) {
        return rule.endsWith(".*") ? pkg.equals(rule.substring(0, rule.length() - 2)) || pkg.startsWith(rule.substring(0, rule.length() - 1))
                : pkg.equals(rule);
    }

    /** Every project package named in imports, static imports, qualified names and Javadoc links, sorted. */
    private static Set<String> referencedPackages(String source) {
        String body = source.replaceFirst("(?m)^package [\\w.]+;", "");
        Set<String> out = new TreeSet<>();
        Matcher m = REFERENCE.matcher(body);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    /** Package -> its "Allowed dependencies:" entries, from every package-info.java under peft's sources. */
    private static Map<String, List<String>> rules() throws IOException {
        Map<String, List<String>> out = new TreeMap<>();
        for (Map.Entry<String, List<Path>> e : filesByPackage(true).entrySet()) {
            Matcher line = RULE.matcher(Files.readString(e.getValue().getFirst()));
            if (line.find()) {
                List<String> allowed = new ArrayList<>();
                Matcher code = CODE.matcher(line.group(1));
                while (code.find()) {
                    if (code.group(1).startsWith(PROJECT)) {
                        allowed.add(code.group(1));
                    }
                }
                out.put(e.getKey(), allowed);
            }
        }
        return out;
    }

    /** The packages of the registered methods' injectors, and QLoRA's. */
    private static Set<String> methodFolders() {
        Set<String> out = new TreeSet<>(Set.of(QLORA));
        PeftRegistry.methods().forEach(m -> out.add(m.getClass().getPackageName()));
        return out;
    }

    private static Map<String, List<Path>> sourcesByPackage() throws IOException {
        return filesByPackage(false);
    }

    private static Map<String, List<Path>> filesByPackage(boolean packageInfo) throws IOException {
        Path root = SOURCES.resolve("dev/finetune4j/peft");
        Map<String, List<Path>> out = new TreeMap<>();
        try (Stream<Path> files = Files.walk(root)) {
            files.filter(f -> f.toString().endsWith(".java"))
                    .filter(f -> f.getFileName().toString().equals("package-info.java") == packageInfo)
                    .forEach(f -> out.computeIfAbsent(SOURCES.relativize(f.getParent()).toString().replace('/', '.'),
                            k -> new ArrayList<>()).add(f));
        }
        return out;
    }
}
