package dev.finetune4j.spark;

import dev.finetune4j.data.format.Json;
import dev.finetune4j.data.pipeline.PipelineReport;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The output folder of a Spark run, on any Hadoop file system, replaced as the single-machine pipeline replaces
 * its own: every output is written under {@code _staging/} and moved into place only once the run has it, so a run
 * that fails leaves the earlier run's outputs as they were; the outputs of the earlier run (as its
 * {@code manifest.json} lists them) that this run does not write are removed, so that the folder holds what its
 * manifest lists (a file of a single-machine run only while it still holds what that run wrote). An input inside a
 * folder this run replaces or removes is refused before any job runs. {@link #close()} removes the staging folder,
 * whether the run succeeded or not. Not thread-safe.
 */
final class OutputFolder implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OutputFolder.class);
    private static final String STAGING = "_staging";
    private static final String MANIFEST = "manifest.json";

    private final FileSystem fs;
    private final Path dir;
    /** Output name (a folder ends with '/') to its SHA-256 as the earlier manifest lists it, or null. */
    private final Map<String, String> earlier;

    private OutputFolder(FileSystem fs, Path dir, Map<String, String> earlier) {
        this.fs = fs;
        this.dir = dir;
        this.earlier = earlier;
    }

    /**
     * Opens the folder (creating it), checked before any job runs.
     *
     * @param conf    the session's Hadoop configuration
     * @param dir     the folder
     * @param inputs  the run's input paths, none of which may lie in what this run replaces or removes
     * @param outputs the names of the folders this run may write
     * @return the folder, without an earlier run's staging files
     * @throws IOException              when the folder cannot be created (a file is in the way, say)
     * @throws IllegalArgumentException when an input lies in a folder this run replaces or removes
     */
    static OutputFolder open(Configuration conf, String dir, List<String> inputs, Collection<String> outputs)
            throws IOException {
        Path path = new Path(dir);
        FileSystem fs = path.getFileSystem(conf);
        if (fs.exists(path) && !fs.getFileStatus(path).isDirectory()) {
            throw new IOException("the output folder " + dir + " is a file; give write() a folder (a new one, or an"
                    + " earlier run's)");
        }
        if (!fs.mkdirs(path)) {
            throw new IOException("cannot create the output folder " + dir + "; check that it is writable");
        }
        Path qualified = fs.makeQualified(path);
        OutputFolder folder = new OutputFolder(fs, qualified, earlierOutputs(fs, new Path(qualified, MANIFEST)));
        List<String> replaced = new ArrayList<>(outputs);
        replaced.add(STAGING);
        replaced.add(MANIFEST);
        replaced.addAll(folder.earlier.keySet());
        for (String input : inputs) {
            folder.requireOutside(conf, input, replaced);
        }
        fs.delete(new Path(folder.dir, STAGING), true);
        return folder;
    }

    /** What the earlier manifest lists as plain names in the folder; nothing when there is none or it is unreadable. */
    private static Map<String, String> earlierOutputs(FileSystem fs, Path manifest) {
        try (InputStream in = fs.open(manifest)) {
            return Json.MAPPER.readValue(in, PipelineReport.class).outputsInFolder();
        } catch (FileNotFoundException e) {
            return Map.of();
        } catch (IOException | RuntimeException e) {
            LOG.warn("{} cannot be read ({}); the outputs an earlier run wrote beside it are left as they are",
                    manifest, e.getMessage());
            return Map.of();
        }
    }

    private void requireOutside(Configuration conf, String input, List<String> replaced) throws IOException {
        Path in = new Path(input);
        String qualified = in.getFileSystem(conf).makeQualified(in).toString();
        for (String name : replaced) {
            String target = new Path(dir, name).toString();
            if (qualified.equals(target) || qualified.startsWith(target + "/")) {
                throw new IllegalArgumentException("input " + input + " lies in " + target + ", which this run"
                        + " replaces or removes; move the input out of the output folder, or write elsewhere");
            }
        }
    }

    /**
     * Where a Spark writer puts the output {@code name} until {@link #publish} moves it into place.
     *
     * @param name a name under the staging folder
     * @return the path, for Spark's writers
     */
    String staged(String name) {
        return new Path(new Path(dir, STAGING), name).toString();
    }

    /**
     * Replaces the folder {@code name} with what was staged as {@code staged} (an empty folder when nothing was),
     * marked complete with a {@code _SUCCESS} file.
     *
     * @param staged the name given to {@link #staged}
     * @param name   the output's name in the folder
     * @throws IOException when the file system refuses
     */
    void publish(String staged, String name) throws IOException {
        Path from = new Path(staged(staged));
        Path to = new Path(dir, name);
        fs.delete(to, true);
        if (fs.exists(from)) {
            if (!fs.rename(from, to)) {
                throw new IOException("the file system refused to rename " + from + " to " + to + "; check that"
                        + " the output folder is writable");
            }
        } else {
            fs.mkdirs(to);
        }
        fs.create(new Path(to, "_SUCCESS"), true).close();
    }

    /**
     * Removes the earlier run's outputs that this run did not write.
     *
     * @param written the names this run wrote, folders with a trailing '/'
     * @return a warning for each earlier file kept because it changed since that run
     * @throws IOException when a file cannot be hashed or removed
     */
    List<String> finish(Set<String> written) throws IOException {
        List<String> warnings = new ArrayList<>();
        for (Map.Entry<String, String> f : earlier.entrySet()) {
            Path path = new Path(dir, f.getKey());
            FileStatus status = written.contains(f.getKey()) || !fs.exists(path) ? null : fs.getFileStatus(path);
            if (status == null) {
                continue;
            }
            if (status.isDirectory() == f.getKey().endsWith("/")
                    && (f.getValue() == null || f.getValue().equals(FileHash.of(fs, path).sha256()))) {
                fs.delete(path, true);
                LOG.info("removed {}: an earlier run wrote it and this run does not", path);
            } else {
                warnings.add(f.getKey() + " is an earlier run's output that changed since, so it was kept, but this"
                        + " run did not write it: delete it, or write to an empty folder");
            }
        }
        return warnings;
    }

    /**
     * Writes {@code manifest.json}.
     *
     * @param report the run's report
     * @throws IOException when it cannot be written
     */
    void writeManifest(PipelineReport report) throws IOException {
        try (FSDataOutputStream out = fs.create(new Path(dir, MANIFEST), true)) {
            out.write(Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(report)
                    .getBytes(StandardCharsets.UTF_8));
        }
    }

    /**
     * Removes the staging folder and whatever a failed run left in it.
     *
     * @throws IOException when the file system refuses
     */
    @Override
    public void close() throws IOException {
        fs.delete(new Path(dir, STAGING), true);
    }
}
