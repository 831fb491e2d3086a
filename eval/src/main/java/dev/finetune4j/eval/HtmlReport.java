package dev.finetune4j.eval;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Renders a candidate-versus-baseline comparison as one self-contained HTML page: the gate's verdict and
 * reasons, a metric table with deltas, a grouped bar chart of the metrics (each metric scaled to the larger
 * of its two values), one chart per training-loss curve (each run on its own axes with labelled ticks: a short
 * DPO run drawn on the axis of a long SFT run would be a flat line) and any further sections the caller adds
 * (the data summary, an A/B test, sample answers), all as inline SVG and tables. Stateless and thread-safe.
 */
public final class HtmlReport {
    private static final String CANDIDATE_COLOR = "#2b6cb0";
    private static final String BASELINE_COLOR = "#a0aec0";
    /** Round steps give at most eight ticks; the cap bounds what rounding could still add. */
    private static final int MAX_TICKS = 10;
    /** A span below this fraction of its values is rounding noise, not a trend (see {@link #isFlat}). */
    private static final double FLAT_SPAN = 1e-12;

    private HtmlReport() {
    }

    /**
     * A training run's loss per step, drawn as its own chart.
     *
     * @param name   the run ("SFT", "DPO")
     * @param points loss per optimizer step of that run
     */
    public record LossCurve(String name, List<EvalReport.LossPoint> points) {
        /** Copies the points. */
        public LossCurve {
            points = List.copyOf(points);
        }
    }

    /**
     * A titled table appended to the page.
     *
     * @param title the section heading
     * @param rows  rows of cells (text, escaped when rendered); the first row is the header
     */
    public record Section(String title, List<List<String>> rows) {
        /** Copies the rows. */
        public Section {
            rows = rows.stream().map(List::copyOf).toList();
        }
    }

    /**
     * The page; {@code baseline} and {@code decision} may be null. The loss charts are those of the reports'
     * {@link EvalReport#lossCurve()}, one per report that has one.
     *
     * @param candidate the report of the model to promote
     * @param baseline the report it is compared with, or null
     * @param decision the gate's decision, or null
     * @return a self-contained HTML document
     */
    public static String render(EvalReport candidate, EvalReport baseline, GateDecision decision) {
        List<LossCurve> curves = new ArrayList<>();
        for (EvalReport r : baseline == null ? List.of(candidate) : List.of(candidate, baseline)) {
            if (!r.lossCurve().isEmpty()) {
                curves.add(new LossCurve(r.model(), r.lossCurve()));
            }
        }
        return render(candidate, baseline, decision, curves, List.of());
    }

    /**
     * The page with the given loss curves (one chart each) and further sections after the metrics.
     *
     * @param candidate the report of the model to promote
     * @param baseline the report it is compared with, or null
     * @param decision the gate's decision, or null
     * @param curves the loss curves to draw, one chart each
     * @param sections tables appended after the metrics, in order
     * @return a self-contained HTML document
     */
    public static String render(EvalReport candidate, EvalReport baseline, GateDecision decision, List<LossCurve> curves,
                                List<Section> sections) {
        StringBuilder h = new StringBuilder(8192);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Evaluation: ")
                .append(esc(candidate.model())).append("</title>\n<style>")
                .append("body{font-family:system-ui,sans-serif;margin:2em;color:#1a202c}table{border-collapse:collapse}")
                .append("td,th{border:1px solid #cbd5e0;padding:4px 10px;text-align:right}th:first-child,td:first-child{text-align:left}")
                .append(".PROMOTE{color:#276749}.HOLD{color:#975a16}.ROLLBACK{color:#c53030}.better{color:#276749}.worse{color:#c53030}")
                .append("</style></head><body>\n");
        h.append("<h1>Evaluation of ").append(esc(candidate.model()));
        if (baseline != null) {
            h.append(" against ").append(esc(baseline.model()));
        }
        h.append("</h1>\n");
        if (decision != null) {
            h.append("<h2 class=\"").append(decision.verdict()).append("\">Gate: ").append(decision.verdict()).append("</h2>\n<ul>");
            for (String r : decision.reasons()) {
                h.append("<li>").append(esc(r)).append("</li>");
            }
            h.append("</ul>\n");
        }
        metricTable(h, candidate, baseline, decision);
        h.append("<h2>Metrics</h2>\n").append(barChart(candidate, baseline));
        if (!curves.isEmpty()) {
            h.append("<h2>Training loss</h2>\n");
            for (LossCurve curve : curves) {
                h.append("<h3>").append(esc(curve.name())).append("</h3>\n").append(lossChart(curve));
            }
        }
        for (Section section : sections) {
            h.append("<h2>").append(esc(section.title())).append("</h2>\n<table>");
            for (int i = 0; i < section.rows().size(); i++) {
                String cell = i == 0 ? "th" : "td";
                h.append("<tr>");
                for (String v : section.rows().get(i)) {
                    h.append('<').append(cell).append(" style=\"text-align:left\">").append(esc(v)).append("</").append(cell).append('>');
                }
                h.append("</tr>\n");
            }
            h.append("</table>\n");
        }
        metadata(h, candidate);
        return h.append("</body></html>\n").toString();
    }

    /**
     * The metric table. The change column follows the gate's convention where a rule covers the metric (positive
     * is better, relative rules in percent), so the table and the gate's reasons read alike; other metrics show
     * candidate minus baseline.
     */
    private static void metricTable(StringBuilder h, EvalReport c, EvalReport b, GateDecision decision) {
        h.append("<table><tr><th>metric</th><th>").append(esc(c.model())).append("</th>");
        if (b != null) {
            h.append("<th>").append(esc(b.model())).append("</th><th>change (gate rules: + is better)</th>");
        }
        h.append("<th>95% interval</th></tr>\n");
        for (String name : metricNames(c, b)) {
            Double cv = c.metrics().get(name);
            h.append("<tr><td>").append(esc(name)).append("</td><td>").append(fmt(cv)).append("</td>");
            if (b != null) {
                Double bv = b.metrics().get(name);
                GateDecision.RuleOutcome rule = decision == null ? null : decision.outcomes().stream()
                        .filter(o -> o.rule().metric().equals(name)).findFirst().orElse(null);
                String delta = cv == null || bv == null ? ""
                        : rule == null ? String.format(Locale.ROOT, "%+.4g", cv - bv)
                        : rule.rule().relative() ? String.format(Locale.ROOT, "%+.4g%%", 100 * rule.improvement())
                        : String.format(Locale.ROOT, "%+.4g", rule.improvement());
                h.append("<td>").append(fmt(bv)).append("</td><td>").append(delta).append("</td>");
            }
            List<Double> iv = c.intervals().get(name);
            h.append("<td>").append(iv == null ? "" : "[" + fmt(iv.get(0)) + ", " + fmt(iv.get(1)) + "]").append("</td></tr>\n");
        }
        h.append("</table>\n");
    }

    private static List<String> metricNames(EvalReport c, EvalReport b) {
        Set<String> names = new LinkedHashSet<>(c.metrics().keySet());
        if (b != null) {
            names.addAll(b.metrics().keySet());
        }
        return new ArrayList<>(names);
    }

    /** Grouped horizontal bars, one group per metric, each bar's length relative to the larger absolute value of the two. */
    static String barChart(EvalReport c, EvalReport b) {
        List<String> names = metricNames(c, b);
        int rowH = b == null ? 22 : 36;
        int width = 640;
        int labelW = 160;
        int barMax = width - labelW - 90;
        StringBuilder s = new StringBuilder();
        s.append(svgOpen(width, 20 + rowH * names.size()));
        int y = 10;
        for (String name : names) {
            Double cv = c.metrics().get(name);
            Double bv = b == null ? null : b.metrics().get(name);
            double scale = Math.max(magnitude(cv), magnitude(bv));
            s.append(text(4, y + 14, name, "start"));
            bar(s, labelW, y, barMax, cv, scale, CANDIDATE_COLOR);
            if (b != null) {
                bar(s, labelW, y + 16, barMax, bv, scale, BASELINE_COLOR);
            }
            y += rowH;
        }
        return s.append("</svg>\n").append(legend(c, b)).toString();
    }

    /** |v| for a finite value, else 0: a NaN or infinite metric gets its value as text and no bar. */
    private static double magnitude(Double v) {
        return v == null || !Double.isFinite(v) ? 0 : Math.abs(v);
    }

    private static void bar(StringBuilder s, int x, int y, int barMax, Double v, double scale, String color) {
        if (v == null) {
            return;
        }
        if (!Double.isFinite(v)) {
            s.append(text(x + 4, y + 14, fmt(v), "start"));
            return;
        }
        double len = scale == 0 ? 0 : barMax * Math.abs(v) / scale;
        s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"14\" fill=\"%s\"/>", x, y + 2, len, color));
        s.append(text((int) (x + len + 4), y + 14, fmt(v), "start"));
    }

    /** Loss against step of one run, with about five labelled ticks and grid lines on each axis. */
    static String lossChart(LossCurve curve) {
        int width = 640;
        int height = 260;
        int pad = 56;
        double minX = curve.points().stream().mapToDouble(EvalReport.LossPoint::step).min().orElse(0);
        double maxX = curve.points().stream().mapToDouble(EvalReport.LossPoint::step).max().orElse(1);
        double minY = curve.points().stream().mapToDouble(EvalReport.LossPoint::loss).filter(Double::isFinite).min().orElse(0);
        double maxY = curve.points().stream().mapToDouble(EvalReport.LossPoint::loss).filter(Double::isFinite).max().orElse(1);
        double spanX = isFlat(minX, maxX) ? 1 : maxX - minX;
        double spanY = isFlat(minY, maxY) ? 1 : maxY - minY;
        int right = width - 10;
        int bottom = height - pad;
        StringBuilder s = new StringBuilder(svgOpen(width, height));
        for (double t : ticks(minX, maxX)) {
            double x = pad + (right - pad) * (t - minX) / spanX;
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"10\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e2e8f0\"/>", x, x, bottom));
            s.append(text((int) Math.round(x), bottom + 16, fmtTick(t), "middle"));
        }
        for (double t : ticks(minY, maxY)) {
            double y = bottom - (bottom - 10) * (t - minY) / spanY;
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e2e8f0\"/>", pad, y, right, y));
            s.append(text(pad - 4, (int) Math.round(y) + 4, fmtTick(t), "end"));
        }
        s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#4a5568\"/>", pad, bottom, right, bottom));
        s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"10\" x2=\"%d\" y2=\"%d\" stroke=\"#4a5568\"/>", pad, pad, bottom));
        s.append(text((width + pad) / 2, height - 12, "step", "middle"));
        StringBuilder pts = new StringBuilder();
        for (EvalReport.LossPoint p : curve.points()) {
            if (!Double.isFinite(p.loss())) {
                continue; // a skipped (NaN) step has no point
            }
            double x = pad + (right - pad) * (p.step() - minX) / spanX;
            double y = bottom - (bottom - 10) * (p.loss() - minY) / spanY;
            pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
        }
        s.append("<polyline fill=\"none\" stroke-width=\"2\" stroke=\"").append(CANDIDATE_COLOR)
                .append("\" points=\"").append(pts.toString().trim()).append("\"/>");
        return s.append("</svg>\n").toString();
    }

    /** About five round tick values (1, 2 or 5 times a power of ten apart) within [min, max]; one for a flat axis. */
    static List<Double> ticks(double min, double max) {
        if (isFlat(min, max)) {
            return List.of(min);
        }
        if (!Double.isFinite(max - min)) {
            return List.of(min, max); // no round step spans more than the largest double
        }
        double raw = (max - min) / 5;
        double magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = raw / magnitude < 1.5 ? magnitude : raw / magnitude < 3.5 ? 2 * magnitude : raw / magnitude < 7.5 ? 5 * magnitude : 10 * magnitude;
        double first = Math.ceil(min / step) * step;
        List<Double> out = new ArrayList<>();
        // NOTE: first + k * step, not t += step: a sum that has stopped growing must not loop forever
        for (int k = 0; k < MAX_TICKS; k++) {
            double t = first + k * step;
            if (t > max + step * 1e-9) {
                break;
            }
            out.add(Math.abs(t) < step * 1e-9 ? 0.0 : t);
        }
        return out;
    }

    /**
     * Whether [min, max] is too narrow to scale an axis to: empty, or narrower than rounding noise on its values
     * (a DPO loss at ln 2 and the next double); such an axis is drawn flat, as if all values were equal.
     */
    static boolean isFlat(double min, double max) {
        return !(max - min > FLAT_SPAN * Math.max(Math.abs(min), Math.abs(max)));
    }

    private static String fmtTick(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e9 ? Long.toString((long) v) : String.format(Locale.ROOT, "%.3g", v);
    }

    private static String legend(EvalReport c, EvalReport b) {
        String item = "<span style=\"color:%s\">&#9632;</span> %s ";
        String out = String.format(Locale.ROOT, item, CANDIDATE_COLOR, esc(c.model()));
        if (b != null) {
            out += String.format(Locale.ROOT, item, BASELINE_COLOR, esc(b.model()));
        }
        return "<p>" + out + "</p>\n";
    }

    private static void metadata(StringBuilder h, EvalReport c) {
        if (c.metadata().isEmpty()) {
            return;
        }
        h.append("<h2>Metadata</h2>\n<table>");
        for (Map.Entry<String, String> e : c.metadata().entrySet()) {
            h.append("<tr><td>").append(esc(e.getKey())).append("</td><td>").append(esc(e.getValue())).append("</td></tr>");
        }
        h.append("</table>\n");
    }

    private static String svgOpen(int width, int height) {
        return String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-size=\"12\">",
                width, height, width, height);
    }

    private static String text(int x, int y, String content, String anchor) {
        return String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"%s\">%s</text>", x, y, anchor, esc(content));
    }

    private static String fmt(Double v) {
        return v == null ? "" : String.format(Locale.ROOT, "%.4g", v);
    }

    /** HTML-escapes text. */
    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(ch);
            }
        }
        return b.toString();
    }
}
