package dev.finetune4j.samples.cli;

import dev.finetune4j.eval.GateRule;
import picocli.CommandLine.ITypeConverter;

/**
 * {@code gate --rule METRIC:higher|lower[:MAX_REGRESSION[:MIN_GAIN]]}: one {@link GateRule}. The tolerances are in
 * the metric's units, or fractions of the baseline when written as percentages ({@code perplexity:lower:5%}: at most
 * 5% worse); no maximum regression allows none, no minimum gain requires none.
 */
final class GateRuleOption implements ITypeConverter<GateRule> {
    /** The option's syntax, for the help and the errors. */
    static final String SYNTAX = "METRIC:higher|lower[:MAX_REGRESSION[:MIN_GAIN]]";

    @Override
    public GateRule convert(String text) {
        String[] parts = text.split(":", -1);
        if (parts.length < 2 || parts.length > 4 || parts[0].isBlank()) {
            throw new IllegalArgumentException("rule '" + text + "' is not " + SYNTAX + ", e.g. bleu:higher:0.5 or "
                    + "perplexity:lower:5%");
        }
        GateRule rule = switch (parts[1]) {
            case "higher" -> GateRule.higherIsBetter(parts[0]);
            case "lower" -> GateRule.lowerIsBetter(parts[0]);
            default -> throw new IllegalArgumentException("rule '" + text + "': '" + parts[1] + "' is not higher or "
                    + "lower (which values of " + parts[0] + " are better)");
        };
        boolean relative = parts.length > 2 && parts[2].endsWith("%");
        if (parts.length > 3 && parts[3].endsWith("%") != relative) {
            throw new IllegalArgumentException("rule '" + text + "': give both tolerances as percentages of the "
                    + "baseline or both in the metric's units");
        }
        double maxRegression = parts.length > 2 ? number(parts[2], text, "maximum regression") : 0;
        double minGain = parts.length > 3 ? number(parts[3], text, "minimum gain") : Double.NaN;
        // the record checks the pair (a negative regression, a gain that could never hold)
        return rule.maxRegression(maxRegression).minGain(minGain).relative(relative);
    }

    private static double number(String value, String rule, String what) {
        boolean percent = value.endsWith("%");
        try {
            double v = Double.parseDouble(percent ? value.substring(0, value.length() - 1) : value);
            if (!Double.isFinite(v)) {
                throw new NumberFormatException();
            }
            return percent ? v / 100 : v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("rule '" + rule + "': the " + what + " '" + value + "' is not a number "
                    + "(or a percentage such as 5%)", e);
        }
    }
}
