package dev.finetune4j.onnx;

import dev.finetune4j.core.io.AtomicDirectory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Decides whether a folder may receive an ONNX export. The export replaces its folder as a whole, so a folder that
 * holds anything besides a previous export's own files would lose those files: such a folder is refused, as is one
 * the user works in or reads from. Stateless and thread-safe.
 */
public final class ExportFolder {
    /** The graph and its weights, which every export writes; a folder holding only these is a previous export. */
    private static final Set<String> GRAPH_FILES = Set.of(OnnxExporter.MODEL_FILE, OnnxExporter.DATA_FILE);
    /**
     * What a classifier's export writes beside the graph: these count as a previous export's only beside its
     * {@value OnnxExporter#MODEL_FILE}, so that a folder of a model's config and tokenizer alone is never replaced.
     */
    private static final Set<String> CLASSIFIER_FILES = Stream.concat(Stream.of(ClassifierFiles.CONFIG_FILE),
            ClassifierFiles.TOKENIZER_FILES.stream()).collect(Collectors.toUnmodifiableSet());
    /** How many foreign entries a refusal names before it stops counting them one by one. */
    private static final int NAMED_ENTRIES = 5;

    private ExportFolder() {
    }

    /**
     * Refuses a folder whose replacement would delete what the user is working in or reading from: the current
     * directory or a folder above it, or one of {@code protectedFolders} (a model's or adapter's folder) or a
     * folder above one of them.
     *
     * @param folder           the export folder, existing or not
     * @param protectedFolders folders that must survive the export; nulls are ignored
     * @throws IllegalArgumentException naming the folder and what it would delete
     */
    public static void requireNotProtected(Path folder, Collection<Path> protectedFolders) {
        Map<Path, String> kept = new LinkedHashMap<>();
        protectedFolders.stream().filter(Objects::nonNull).forEach(p -> kept.put(p, "the model's folder"));
        AtomicDirectory.requireReplaceable(folder, "export ONNX into", kept);
    }

    /**
     * Refuses a folder that exists and holds anything besides a previous export's {@value OnnxExporter#MODEL_FILE}
     * and {@value OnnxExporter#DATA_FILE} (and, beside them, a classifier export's config.json and tokenizer files),
     * or that is not a folder; a missing or empty folder passes.
     *
     * @param folder the export folder, existing or not
     * @throws IllegalArgumentException naming the folder and the entries that would be lost
     */
    static void requireOnlyPreviousExport(Path folder) {
        Path target = folder.toAbsolutePath().normalize();
        if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException("cannot export ONNX into " + target + ": it is a file or a link, not a "
                    + "folder; choose a new or empty folder");
        }
        List<String> foreign = foreignEntries(target).stream().map(p -> p.getFileName().toString()).sorted().toList();
        if (!foreign.isEmpty()) {
            String named = String.join(", ", foreign.subList(0, Math.min(NAMED_ENTRIES, foreign.size())))
                    + (foreign.size() > NAMED_ENTRIES ? " and " + (foreign.size() - NAMED_ENTRIES) + " more" : "");
            throw new IllegalArgumentException("cannot export ONNX into " + target + ": it holds " + named + ", which "
                    + "an earlier export did not write and replacing the folder would delete; choose a new or empty "
                    + "folder, or move those files away");
        }
    }

    /**
     * The entries of {@code folder} that an export did not write: what replacing the folder would delete. A caller
     * that was told to replace the folder anyway (the CLI's {@code --overwrite}) removes these itself first.
     *
     * @param folder an existing folder
     * @return its entries other than {@value OnnxExporter#MODEL_FILE} and {@value OnnxExporter#DATA_FILE} and,
     *         where {@value OnnxExporter#MODEL_FILE} is there, a classifier export's config.json and tokenizer files
     * @throws UncheckedIOException when the folder cannot be listed
     */
    public static List<Path> foreignEntries(Path folder) {
        boolean exported = Files.isRegularFile(folder.resolve(OnnxExporter.MODEL_FILE), LinkOption.NOFOLLOW_LINKS);
        try (Stream<Path> entries = Files.list(folder)) {
            return entries.filter(p -> !isExportFile(p, exported)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the ONNX export folder " + folder.toAbsolutePath() + ": "
                    + e.getMessage(), e);
        }
    }

    private static boolean isExportFile(Path entry, boolean besideGraph) {
        String name = entry.getFileName().toString();
        return (GRAPH_FILES.contains(name) || besideGraph && CLASSIFIER_FILES.contains(name))
                && Files.isRegularFile(entry, LinkOption.NOFOLLOW_LINKS);
    }
}
