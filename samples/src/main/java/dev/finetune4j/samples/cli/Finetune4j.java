package dev.finetune4j.samples.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.Map;

/**
 * The {@code finetune4j} command-line tool: {@code prepare}, {@code train}, {@code eval}, {@code gate},
 * {@code merge}, {@code mix-adapters}, {@code export-onnx}, {@code export-gguf} and {@code serve}, for people who would
 * rather configure than code.
 * {@code java -jar finetune4j.jar --help} lists them; each has its own {@code --help}. Exit codes are in
 * {@link ExitCodes}.
 */
@Command(name = "finetune4j", mixinStandardHelpOptions = true, version = "finetune4j 0.2.0-SNAPSHOT",
        description = "Prepare data, fine-tune with PEFT methods, evaluate, gate a promotion, merge and mix adapters, export "
                + "to ONNX or GGUF and serve on the JVM.",
        subcommands = {PrepareCommand.class, TrainCommand.class, EvalCommand.class, GateCommand.class, MergeCommand.class,
                MixAdaptersCommand.class, ExportOnnxCommand.class, ExportGgufCommand.class, ServeCommand.class,
                CommandLine.HelpCommand.class},
        footer = {"", "Exit codes: 0 done, 1 failed while running, 2 bad input (options, config, files); gate: 3 hold, "
                + "4 rollback."})
public final class Finetune4j {
    /** Columns of --help: the longest config example line of a footer fits. */
    private static final int USAGE_HELP_WIDTH = 120;

    /**
     * Levels of DJL's loggers for the logger finetune4j.jar ships (slf4j-simple), where the user sets none. The first
     * Hugging Face tokenizer of a JVM makes DJL look for a GPU to pick its native library: CudaUtils warns "Failed to
     * detect GPU count" wherever the CUDA runtime is installed without a usable driver, and Platform logs the
     * library it picked. Tokenizers run on the CPU either way, and the device this tool computes on is reported by
     * its own probe when a command resolves one; DJL's failures are still thrown, and logged at ERROR.
     */
    private static final Map<String, String> DJL_LOG_LEVELS = Map.of(
            "org.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils", "error",
            "org.slf4j.simpleLogger.log.ai.djl.util.Platform", "warn");

    private Finetune4j() {
    }

    /**
     * Runs the tool and exits the JVM with its exit code. DJL's GPU probe at the first tokenizer load logs only
     * errors unless {@code -Dorg.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils=warn} (or another level) is given.
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        // NOTE: here, not in run(): an application that embeds the tool keeps its own logging as it is
        DJL_LOG_LEVELS.forEach((property, level) -> {
            if (System.getProperty(property) == null) {
                System.setProperty(property, level);
            }
        });
        System.exit(run(args));
    }

    /**
     * Runs the tool and returns its exit code (what {@link #main} exits with); tests call this.
     *
     * @param args the command line
     * @return 0 when done, 1 when a command failed while running, 2 for bad input
     */
    public static int run(String... args) {
        return commandLine().execute(args);
    }

    /**
     * The configured command line: bad input ({@link BadInputException}, raised where the commands check what
     * they were given) exits with 2 and the message that says what to fix; any other failure, including a library
     * exception while running, exits with 1 and the cause chain.
     *
     * @return a new command line with every subcommand
     */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Finetune4j());
        // NOTE: wide enough that the config examples in the footers print unbroken: wrapped, they are not valid YAML
        cl.setUsageHelpWidth(USAGE_HELP_WIDTH);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof BadInputException) {
                cmd.getErr().println("error: " + e.getMessage());
                return ExitCodes.BAD_INPUT;
            }
            cmd.getErr().println("failed: " + describe(e));
            return ExitCodes.FAILURE;
        });
        return cl;
    }

    /** The exception and its causes on one line: {@code IOException: disk full <- ...}. */
    private static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            sb.append(sb.isEmpty() ? "" : " <- ").append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
        }
        return sb.toString();
    }
}
