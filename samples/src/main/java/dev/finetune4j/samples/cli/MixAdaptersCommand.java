package dev.finetune4j.samples.cli;

import dev.finetune4j.core.io.AtomicDirectory;
import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.mix.AdapterMix;
import dev.finetune4j.peft.mix.CombinationType;
import dev.finetune4j.peft.mix.MajoritySign;
import dev.finetune4j.peft.mix.MixOptions;
import dev.finetune4j.peft.mix.MixedAdapter;
import dev.finetune4j.peft.mix.WeightedAdapter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code finetune4j mix-adapters}: combines LoRA adapters of one base model into one, as PEFT's add_weighted_adapter. */
@Command(name = "mix-adapters", mixinStandardHelpOptions = true,
        description = {"Combine LoRA adapters of one base model into one LoRA adapter without training (PEFT's "
                + "add_weighted_adapter); the result loads like any adapter, here and in Python PEFT.",
                "Types: cat (exact sum of the weighted updates, rank = sum of ranks), svd (the sum truncated to "
                        + "--svd-rank), linear (weighted sums of the A and B factors: cheap, approximate; equal ranks), "
                        + "ties, dare_linear, dare_ties, magnitude_prune (need --density), and ties_svd, dare_linear_svd, "
                        + "dare_ties_svd, magnitude_prune_svd (these decompose each module's full update: minutes per module of a "
                        + "large model)."},
        footer = {"", "Example: finetune4j mix-adapters --adapter runs/legal/adapter:0.7 --adapter runs/support/adapter:0.3 "
                + "--type ties --density 0.5 --output runs/legal+support",
                "", "Exit codes: 0 done, 1 failed while running, 2 bad input (missing folders, adapters that cannot be "
                + "mixed, options the type does not take)."})
final class MixAdaptersCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-a", "--adapter"}, required = true, paramLabel = "DIR[:WEIGHT]",
            description = "An adapter folder and its weight (default 1; negative subtracts). Repeat for each adapter; the "
                    + "first gives the other settings of the result.")
    List<String> adapters;

    @Option(names = {"-t", "--type"}, required = true, paramLabel = "TYPE",
            description = "The combination type (see above), as PEFT names it.")
    String type;

    @Option(names = "--density", paramLabel = "D", description = "Fraction of entries kept by ties, dare_* and "
            + "magnitude_prune*, in (0, 1].")
    Double density;

    @Option(names = "--svd-rank", paramLabel = "R", description = "Rank of an svd type's result (default: the largest "
            + "rank among the adapters).")
    Integer svdRank;

    @Option(names = "--svd-clamp", paramLabel = "Q", description = "Clamp an svd type's factors at this quantile of "
            + "their entries, in (0, 1] (default: no clamp).")
    Double svdClamp;

    @Option(names = "--majority-sign", paramLabel = "METHOD", defaultValue = "total",
            description = "How ties types elect signs: total or frequency (default total).")
    String majoritySign;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "Seed of the dare types' random drops (default 0).")
    long seed;

    @Option(names = {"-o", "--output", "--out"}, required = true, paramLabel = "DIR",
            description = "Folder for the combined adapter.")
    Path output;

    @Option(names = "--overwrite", description = "Replace the output folder even when it holds files already "
            + "(never the current directory, a folder above it, or one of the adapters' folders).")
    boolean overwrite;

    @Override
    public Integer call() {
        OutputFolder.requireFresh(output, overwrite);
        List<Path> dirs = new ArrayList<>();
        List<Double> weights = new ArrayList<>();
        for (String spec : adapters) {
            parse(spec, dirs, weights);
        }
        Map<Path, String> kept = new LinkedHashMap<>();
        dirs.forEach(d -> kept.put(d, "an adapter's folder"));
        CombinationType combination;
        MixOptions options;
        try {
            AtomicDirectory.requireReplaceable(output, "write the mixed adapter to", kept);
            combination = CombinationType.of(type);
            MixOptions.Builder b = MixOptions.builder().majoritySign(MajoritySign.of(majoritySign)).seed(seed);
            if (density != null) {
                b.density(density);
            }
            if (svdRank != null) {
                b.svdRank(svdRank);
            }
            if (svdClamp != null) {
                b.svdClamp(svdClamp);
            }
            options = b.build();
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage(), e);
        }
        List<AdapterFiles> files = new ArrayList<>();
        try {
            List<WeightedAdapter> weighted = new ArrayList<>();
            for (int i = 0; i < dirs.size(); i++) {
                files.add(ModelInputs.readAdapter(dirs.get(i)));
                weighted.add(new WeightedAdapter(files.getLast(), weights.get(i)));
            }
            MixedAdapter mixed = mix(weighted, combination, options);
            mixed.save(output);
            spec.commandLine().getOut().println("mixed adapter (" + combination.pythonName() + " of " + dirs.size()
                    + ", r " + mixed.config().r() + ", " + mixed.factors().size() / 2 + " modules) written to "
                    + output.toAbsolutePath());
        } finally {
            files.forEach(AdapterFiles::close);
        }
        return ExitCodes.OK;
    }

    /** Adapters that cannot be mixed, or options the type does not take, are bad input. */
    private static MixedAdapter mix(List<WeightedAdapter> adapters, CombinationType type, MixOptions options) {
        try {
            return AdapterMix.combine(adapters, type, options);
        } catch (PeftException | IllegalArgumentException e) {
            throw new BadInputException("cannot mix these adapters: " + e.getMessage(), e);
        }
    }

    /** {@code DIR[:WEIGHT]}: the text after the last colon is the weight when it is a number (C:\ paths stay whole). */
    private static void parse(String spec, List<Path> dirs, List<Double> weights) {
        int colon = spec.lastIndexOf(':');
        Double weight = null;
        if (colon > 0) {
            try {
                weight = Double.parseDouble(spec.substring(colon + 1));
            } catch (NumberFormatException e) {
                // not a number: the colon belongs to the path
            }
        }
        if (weight != null && !Double.isFinite(weight)) {
            throw new BadInputException("--adapter " + spec + ": the weight must be a finite number, e.g. DIR:0.5");
        }
        dirs.add(Path.of(weight == null ? spec : spec.substring(0, colon)));
        weights.add(weight == null ? 1.0 : weight);
    }
}
