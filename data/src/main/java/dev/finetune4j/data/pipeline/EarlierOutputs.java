package dev.finetune4j.data.pipeline;

import dev.finetune4j.data.format.Json;
import dev.finetune4j.data.format.Sha256;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The files an earlier run wrote into an output folder, as its {@code manifest.json} lists them, so that a new run
 * can remove those it does not write itself: a run without a split used to leave the earlier
 * train/validation/test files beside its {@code data} file, where a trainer took them for current.
 *
 * <p>A file is removed only when the earlier manifest names it as a plain name in the folder, it is a regular file,
 * it is none of the new run's inputs, and it still holds what that run wrote (the SHA-256 the manifest recorded;
 * the quarantine file, which has none, by name). A file changed since is kept with a warning. A quarantine file that
 * no manifest lists is an earlier run's too: a run that found no record to write keeps its quarantine file, to say
 * why, and writes no manifest.
 */
final class EarlierOutputs {
    private static final Logger LOG = LoggerFactory.getLogger(EarlierOutputs.class);

    private final Path dir;
    /** File name to the SHA-256 the earlier run recorded, {@code null} for its quarantine file; in manifest order. */
    private final Map<String, String> files;

    private EarlierOutputs(Path dir, Map<String, String> files) {
        this.dir = dir;
        this.files = files;
    }

    /**
     * What the manifest in {@code dir} lists; nothing when there is none or it cannot be read (then nothing is
     * removed).
     */
    static EarlierOutputs read(Path dir) {
        Path manifest = dir.resolve("manifest.json");
        Map<String, String> files = new LinkedHashMap<>();
        if (Files.isRegularFile(manifest)) {
            try {
                files.putAll(Json.MAPPER.readValue(manifest.toFile(), PipelineReport.class).outputsInFolder());
            } catch (IOException | RuntimeException e) {
                LOG.warn("{} cannot be read ({}); the files an earlier run wrote beside it are left as they are",
                        manifest, e.getMessage());
                files.clear();
            }
        }
        if (Files.isRegularFile(dir.resolve(Pipeline.QUARANTINE_FILE), LinkOption.NOFOLLOW_LINKS)) {
            files.putIfAbsent(Pipeline.QUARANTINE_FILE, null);
        }
        return new EarlierOutputs(dir, files);
    }

    /**
     * Removes the earlier run's files that this run did not write.
     *
     * @param written the file names this run wrote (outputs and quarantine file)
     * @param inputs  the files this run read, never removed
     * @return a warning for each earlier file kept because it changed since that run
     * @throws IOException when a file cannot be hashed or removed
     */
    List<String> removeAllBut(Set<String> written, List<Path> inputs) throws IOException {
        List<String> warnings = new ArrayList<>();
        for (Map.Entry<String, String> f : files.entrySet()) {
            Path file = inFolder(f.getKey());
            if (written.contains(f.getKey()) || file == null || isInput(file, inputs)) {
                continue;
            }
            if (f.getValue() == null || f.getValue().equals(Sha256.of(file))) {
                Files.delete(file);
                LOG.info("removed {}: an earlier run wrote it and this run does not", file);
            } else {
                warnings.add(f.getKey() + " is an earlier run's output that changed since, so it was kept, but this"
                        + " run did not write it: delete it, or write to an empty folder");
            }
        }
        return warnings;
    }

    /** The regular file {@code name} directly in the folder, or null: a manifest cannot point elsewhere. */
    private Path inFolder(String name) {
        try {
            Path relative = Path.of(name);
            if (relative.isAbsolute() || relative.getNameCount() != 1 || name.equals(".") || name.equals("..")) {
                return null;
            }
            Path file = dir.resolve(relative);
            return Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) ? file : null;
        } catch (InvalidPathException e) {
            return null;
        }
    }

    private static boolean isInput(Path file, List<Path> inputs) throws IOException {
        for (Path input : inputs) {
            if (Files.exists(input) && Files.isSameFile(file, input)) {
                return true;
            }
        }
        return false;
    }
}
