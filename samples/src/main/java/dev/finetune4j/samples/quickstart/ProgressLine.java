package dev.finetune4j.samples.quickstart;

import dev.finetune4j.peft.train.EvalMetrics;
import dev.finetune4j.peft.train.StepMetrics;
import dev.finetune4j.peft.train.TrainResult;
import dev.finetune4j.peft.train.TrainingListener;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/**
 * A live one-line progress display for a trainer: on a terminal the line is rewritten in place (carriage return);
 * elsewhere (a log file, Maven's output) one line is printed every tenth of the run, so logs stay short. Each
 * validation result is printed on its own line as it comes (a trainer reports a step before the evaluation that
 * follows it, so a step line could only ever show the previous one), marked "best so far" only when it improved.
 */
public final class ProgressLine implements TrainingListener {
    private final String label;
    private final PrintStream out;
    private final boolean live;
    private int total;

    /**
     * A progress line on standard output, live when a console is attached.
     *
     * @param label the name shown before the progress, e.g. {@code sft}
     */
    public ProgressLine(String label) {
        this(label, System.out, System.console() != null);
    }

    ProgressLine(String label, PrintStream out, boolean live) {
        this.label = label;
        this.out = out;
        this.live = live;
    }

    @Override
    public void onTrainBegin(int startStep, int totalSteps, int stepsPerEpoch) {
        total = totalSteps;
    }

    @Override
    public void onStep(StepMetrics m) {
        String line = String.format(Locale.ROOT, "  %-8s step %4d/%-4d epoch %5.2f  loss %7.4f  lr %.2e  %6.0f tok/s  eta %s",
                label, m.step(), m.totalSteps(), m.epoch(), m.loss(), m.learningRate(), m.tokensPerSecond(),
                clock(m.eta()));
        if (m.extra().containsKey("reward")) { // GRPO: the mean reward of the step's completions is what rises
            line += String.format(Locale.ROOT, "  reward %.4f", m.extra().get("reward"));
        }
        if (live) {
            out.print("\r" + line);
            out.flush();
        } else if (m.step() == 1 || m.step() % Math.max(1, total / 10) == 0 || m.step() == m.totalSteps()) {
            out.println(line);
        }
    }

    @Override
    public void onEvaluation(EvalMetrics m) {
        if (live) {
            out.println(); // keep the step line the evaluation belongs to
        }
        out.println(String.format(Locale.ROOT, "  %-8s step %4d  validation loss %.4f%s", label, m.step(), m.loss(),
                m.improved() ? "  (best so far)" : ""));
    }

    @Override
    public void onTrainEnd(TrainResult result) {
        if (live) {
            out.println();
        }
    }

    /**
     * A duration as minutes and seconds, {@code 12:05}, or from an hour on with the hours, {@code 15:39:12} (a run of
     * hours read {@code 939:12}), as the progress lines print it.
     *
     * @param d the duration (negative counts as 0)
     * @return {@code m:ss} or {@code h:mm:ss}
     */
    public static String clock(Duration d) {
        long s = Math.max(0, d.toSeconds());
        return s < 3600 ? String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }
}
