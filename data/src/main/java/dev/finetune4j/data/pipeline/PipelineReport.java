package dev.finetune4j.data.pipeline;

import dev.finetune4j.data.format.WrittenFile;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The run summary, written as {@code manifest.json} beside the outputs: the provenance of every output.
 *
 * @param library           library name and version
 * @param startedAt         ISO-8601 start time
 * @param elapsedMillis     wall time of the run
 * @param seed              the pipeline's seed
 * @param inputs            every input with its hash, size and counts
 * @param quarantineFile    the quarantine file's name, or {@code null} when no line was bad
 * @param quarantined       bad lines in all
 * @param quarantinedByKind bad lines by kind ({@code invalid JSON}, {@code invalid UTF-8}, ...)
 * @param steps             every step with its parameters and counts, in order
 * @param split             the split's parameters, or {@code null} without a split
 * @param outputs           every output file with its hash and record count
 * @param warnings          things a human should look at: unusual split ratios, a step that dropped more than half
 *                          of its records, a split with fewer than 10 records
 */
public record PipelineReport(String library, String startedAt, long elapsedMillis, long seed,
                             List<InputReport> inputs, String quarantineFile, long quarantined,
                             Map<String, Long> quarantinedByKind, List<StepReport> steps,
                             Map<String, Object> split, List<WrittenFile> outputs, List<String> warnings) {

    /**
     * The report of the step called {@code name}.
     *
     * @param name a step's {@link Step#name()}
     * @return its report
     */
    public StepReport step(String name) {
        return steps.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow(
                () -> new IllegalArgumentException("no step named '" + name + "'; steps are "
                        + steps.stream().map(StepReport::name).toList()));
    }

    /**
     * Records written in all outputs.
     *
     * @return the sum of the outputs' record counts
     */
    public long written() {
        return outputs.stream().mapToLong(WrittenFile::records).sum();
    }

    /**
     * What this run wrote into its folder, as a later run into that folder may replace it: each output given by a
     * plain name (a file with its SHA-256, a folder, named with a trailing '/', with null) and the quarantine file
     * (null). Names that point elsewhere ({@code ../x}, {@code a/b}) and files without a hash are left out: a manifest
     * must not make a later run remove what it did not write.
     *
     * @return name to SHA-256 (or null), in manifest order
     */
    public Map<String, String> outputsInFolder() {
        Map<String, String> files = new LinkedHashMap<>();
        for (WrittenFile f : outputs == null ? List.<WrittenFile>of() : outputs) {
            if (f != null && isPlainName(f.file()) && (f.sha256() != null || f.file().endsWith("/"))) {
                files.put(f.file(), f.sha256());
            }
        }
        if (isPlainName(quarantineFile)) {
            files.put(quarantineFile, null);
        }
        return files;
    }

    /** A name directly in the folder, optionally with a trailing '/'. */
    private static boolean isPlainName(String name) {
        if (name == null) {
            return false;
        }
        String bare = name.endsWith("/") ? name.substring(0, name.length() - 1) : name;
        return !bare.isEmpty() && !bare.contains("/") && !bare.equals(".") && !bare.equals("..");
    }
}
