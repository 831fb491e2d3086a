package dev.finetune4j.samples.quickstart;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.samples.cli.BadInputException;
import dev.finetune4j.samples.cli.DeviceOption;
import dev.finetune4j.samples.cli.PrecisionOption;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * The end-to-end quickstart: raw support export to an evaluated, promoted, deployable adapter on built-in data and
 * a built-in model, on the CPU, without network. See {@link QuickstartRun} for the steps and the README for what
 * it prints.
 */
@Command(name = "quickstart", mixinStandardHelpOptions = true,
        description = "Runs the whole fine-tuning cycle on the bundled bank/insurer support data.")
public final class Quickstart implements Runnable {
    /** A run with the default options; picocli sets the fields from the command line. */
    public Quickstart() {
    }

    @Spec
    CommandSpec spec;

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("target", "quickstart");

    @Option(names = "--base-cache", paramLabel = "DIR",
            description = "Where the pretrained base model is cached (default: ~/.cache/finetune4j/quickstart-base).")
    Path baseCache = BaseModelCache.defaultDir();

    @Option(names = "--seed", description = "Seed of split, initialisation, shuffling and dropout (default: ${DEFAULT-VALUE}).")
    long seed = 42;

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "auto", converter = DeviceOption.Converter.class,
            description = "Where the adapter trains and the models run (the small base model is pretrained on the "
                    + "CPU): " + DeviceOption.DESCRIPTION)
    DeviceOption device;

    @Option(names = "--precision", paramLabel = "P", defaultValue = "auto", converter = PrecisionOption.Converter.class,
            description = "What the adapter trains and the models run in: " + PrecisionOption.DESCRIPTION)
    PrecisionOption precision;

    @Option(names = "--smoke", description = "Few steps of everything: checks the pipeline, not the model.")
    boolean smoke;

    /**
     * Runs the quickstart with the options of the command line ({@code --help} lists them) and exits as the
     * {@code finetune4j} tool does: 0 done, 1 failed while running, 2 for an unknown or malformed option (named,
     * with the likely option or the usage).
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        System.exit(new CommandLine(new Quickstart()).execute(args));
    }

    @Override
    public void run() {
        QuickstartSettings s = (smoke ? QuickstartSettings.smoke() : QuickstartSettings.defaults()).withSeed(seed);
        Device target;
        try {
            target = device.resolve();
        } catch (BadInputException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage(), e); // exit code 2, as for any bad option
        }
        try {
            new QuickstartRun(s, new Workspace(out), baseCache, target, precision.on(target), System.out).run();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
