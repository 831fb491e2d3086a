package dev.finetune4j.samples.quickstart;

import dev.finetune4j.peft.train.EvalMetrics;
import dev.finetune4j.peft.train.StepMetrics;
import dev.finetune4j.peft.train.TrainResult;
import dev.finetune4j.peft.train.TrainingListener;

import java.io.PrintStream;
import java.time.Duration;

/**
 * A live one-line progress display for a trainer: on a terminal the line is rewritten in place (carriage return);
 * elsewhere (a log file, Maven's output) one line is printed every tenth of the run, so logs stay short. Validation
 * results are printed on their own line as they come.
 */
public final class ProgressLine implements TrainingListener {
    private final String label;
    private final PrintStream out;
    private final boolean live;
    private int total;
    private String lastEval = "";

    /** A progress line on standard output, live when a console is attached. */
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
        String line = String.format("  %-8s step %4d/%-4d epoch %5.2f  loss %7.4f  lr %.2e  %6.0f tok/s  eta %s%s",
                label, m.step(), m.totalSteps(), m.epoch(), m.loss(), m.learningRate(), m.tokensPerSecond(),
                clock(m.eta()), lastEval);
        if (live) {
            out.print("\r" + line);
            out.flush();
        } else if (m.step() == 1 || m.step() % Math.max(1, total / 10) == 0 || m.step() == m.totalSteps()) {
            out.println(line);
        }
    }

    @Override
    public void onEvaluation(EvalMetrics m) {
        lastEval = String.format("  val loss %.4f%s", m.loss(), m.improved() ? " *" : "");
    }

    @Override
    public void onTrainEnd(TrainResult result) {
        if (live) {
            out.println();
        }
    }

    private static String clock(Duration d) {
        long s = Math.max(0, d.toSeconds());
        return String.format("%d:%02d", s / 60, s % 60);
    }
}
