package dev.finetune4j.onnx;

/**
 * The largest absolute difference between two [batch][seq][vocab] logit arrays over the positions a mask marks
 * real, and where it is.
 */
record LogitsDifference(double value, int row, int position, int token) {

    static LogitsDifference of(float[][][] expected, float[][][] actual, long[][] mask) {
        if (expected.length != actual.length) {
            throw new AssertionError("batch " + expected.length + " vs " + actual.length);
        }
        LogitsDifference worst = new LogitsDifference(0, 0, 0, 0);
        for (int b = 0; b < expected.length; b++) {
            if (expected[b].length != actual[b].length) {
                throw new AssertionError("row " + b + ": " + expected[b].length + " vs " + actual[b].length + " positions");
            }
            for (int t = 0; t < expected[b].length; t++) {
                if (mask[b][t] == 0) {
                    continue; // padding: no token there, its logits mean nothing
                }
                for (int v = 0; v < expected[b][t].length; v++) {
                    double d = Math.abs(expected[b][t][v] - actual[b][t][v]);
                    if (!(d <= worst.value)) { // NaN counts as the worst
                        worst = new LogitsDifference(d, b, t, v);
                    }
                }
            }
        }
        return worst;
    }

    @Override
    public String toString() {
        return "largest logit difference " + value + " at row " + row + ", position " + position + ", token " + token;
    }
}
