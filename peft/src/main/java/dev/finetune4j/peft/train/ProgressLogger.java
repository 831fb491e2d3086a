package dev.finetune4j.peft.train;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;

/** Writes one compact SLF4J line every N steps, one per evaluation and a summary at the end. */
final class ProgressLogger implements TrainingListener {
    private static final Logger LOG = LoggerFactory.getLogger("dev.finetune4j.peft.train");

    private final int everySteps;

    ProgressLogger(int everySteps) {
        this.everySteps = everySteps;
    }

    @Override
    public void onStep(StepMetrics m) {
        if (m.skipped()) {
            LOG.warn("step {}/{}: loss {} or a gradient is not finite, or the step has no label token; update skipped",
                    m.step(), m.totalSteps(), m.loss());
        } else if (m.step() % everySteps == 0 || m.step() == m.totalSteps()) {
            LOG.info("step {}/{} epoch {} loss {} lr {} grad {} tok/s {} eta {} mem {}{}", m.step(), m.totalSteps(),
                    String.format("%.2f", m.epoch()), String.format("%.4f", m.loss()),
                    String.format("%.2e", m.learningRate()), String.format("%.3f", m.gradNorm()),
                    String.format("%.0f", m.tokensPerSecond()), format(m.eta()), m.memory().describe(), extras(m.extra()));
        }
    }

    @Override
    public void onEvaluation(EvalMetrics m) {
        LOG.info("eval at step {}: loss {}{}{}{}", m.step(), String.format("%.4f", m.loss()),
                Double.isNaN(m.perplexity()) ? "" : String.format(" perplexity %.3f", m.perplexity()), extras(m.extra()),
                m.improved() ? " (best)" : "");
    }

    @Override
    public void onTrainEnd(TrainResult result) {
        LOG.info("training done: {}", result.summary());
    }

    private static String extras(Map<String, Double> extra) {
        StringBuilder sb = new StringBuilder();
        new java.util.TreeMap<>(extra).forEach((k, v) -> sb.append(' ').append(k).append(' ').append(String.format("%.4f", v)));
        return sb.toString();
    }

    private static String format(Duration d) {
        long s = d.toSeconds();
        return String.format("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
    }
}
