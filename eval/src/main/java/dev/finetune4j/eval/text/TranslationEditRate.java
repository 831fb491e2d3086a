package dev.finetune4j.eval.text;

import java.util.Arrays;

/**
 * The edit count of TER as sacreBLEU 2.6 computes it ({@code lib_ter.py}, itself following tercom): greedy
 * block shifts (at most 10 words, at most 50 positions away, chosen by tercom's ranking: largest edit
 * reduction, then longest block, then earliest block, then earliest target) until no shift helps or 1000
 * candidates were tried, then a beam-limited (width 25 around the length-ratio diagonal) Levenshtein
 * distance with tercom's operation preferences.
 *
 * <p>Words are ints (equal words, equal ints). Stateless and thread-safe.
 */
public final class TranslationEditRate {
    private static final int MAX_SHIFT_SIZE = 10;
    private static final int MAX_SHIFT_DIST = 50;
    private static final int BEAM_WIDTH = 25;
    private static final int MAX_SHIFT_CANDIDATES = 1000;
    private static final int INF = Integer.MAX_VALUE / 4;
    private static final byte NOP = ' ';
    private static final byte SUB = 's';
    private static final byte INS = 'i';
    private static final byte DEL = 'd';
    private static final byte UNDEF = 'x';

    private TranslationEditRate() {
    }

    /**
     * The number of edits (shifts plus insertions, deletions and substitutions) turning {@code hyp} into {@code ref}.
     *
     * @param hyp the hypothesis as token ids
     * @param ref the reference as token ids
     * @return the edit count, {@code >= 0}
     */
    public static int edits(int[] hyp, int[] ref) {
        if (ref.length == 0) {
            return hyp.length;
        }
        int shifts = 0;
        int[] words = hyp;
        int[] checked = {0};
        while (true) {
            Shift best = bestShift(words, ref, checked);
            if (checked[0] >= MAX_SHIFT_CANDIDATES || best == null || best.gain <= 0) {
                break;
            }
            shifts++;
            words = best.words;
        }
        return shifts + editDistance(words, ref).distance;
    }

    private record Shift(int gain, int length, int startH, int target, int[] words) {
        /** tercom's ranking: larger gain, then longer, then earlier start, then earlier target. */
        boolean betterThan(Shift o) {
            if (gain != o.gain) {
                return gain > o.gain;
            }
            if (length != o.length) {
                return length > o.length;
            }
            if (startH != o.startH) {
                return startH < o.startH;
            }
            return target < o.target;
        }
    }

    private record Alignment(int distance, byte[] trace) {
    }

    private static Shift bestShift(int[] h, int[] r, int[] checked) {
        Alignment pre = editDistance(h, r);
        // To align we rewrite the reference into the hypothesis: flip insertions and deletions.
        int[] align = new int[r.length];
        boolean[] refErr = new boolean[r.length];
        boolean[] hypErr = new boolean[h.length];
        int posH = -1;
        int posR = -1;
        for (byte op : pre.trace) {
            switch (op) {
                case NOP, SUB -> {
                    posH++;
                    posR++;
                    align[posR] = posH;
                    hypErr[posH] = op == SUB;
                    refErr[posR] = op == SUB;
                }
                case DEL -> { // an insertion in the hypothesis-to-reference trace
                    posH++;
                    hypErr[posH] = true;
                }
                case INS -> { // a deletion in the hypothesis-to-reference trace
                    posR++;
                    align[posR] = posH;
                    refErr[posR] = true;
                }
                default -> throw new IllegalStateException("unknown edit operation " + (char) op);
            }
        }
        Shift best = null;
        for (int startH = 0; startH < h.length; startH++) {
            for (int startR = 0; startR < r.length; startR++) {
                if (Math.abs(startR - startH) > MAX_SHIFT_DIST) {
                    continue;
                }
                int length = 0;
                while (h[startH + length] == r[startR + length] && length < MAX_SHIFT_SIZE) {
                    length++;
                    if (any(hypErr, startH, length) && any(refErr, startR, length)
                            && !(startH <= align[startR] && align[startR] < startH + length)) {
                        best = tryTargets(h, r, startH, startR, length, align, pre.distance, best, checked);
                        if (checked[0] >= MAX_SHIFT_CANDIDATES) {
                            return best;
                        }
                    }
                    if (h.length == startH + length || r.length == startR + length) {
                        break;
                    }
                }
            }
        }
        return best;
    }

    private static Shift tryTargets(int[] h, int[] r, int startH, int startR, int length, int[] align,
                                    int preScore, Shift best, int[] checked) {
        int prevIdx = -1;
        for (int offset = -1; offset < length; offset++) {
            int idx;
            if (startR + offset == -1) {
                idx = 0;
            } else if (startR + offset < r.length) {
                // Unlike tercom, which inserts after the index, sacreBLEU inserts before it.
                idx = align[startR + offset] + 1;
            } else {
                break;
            }
            if (idx == prevIdx) {
                continue;
            }
            prevIdx = idx;
            int[] shifted = performShift(h, startH, length, idx);
            Shift candidate = new Shift(preScore - editDistance(shifted, r).distance, length, startH, idx, shifted);
            checked[0]++;
            if (best == null || candidate.betterThan(best)) {
                best = candidate;
            }
        }
        return best;
    }

    private static boolean any(boolean[] flags, int from, int length) {
        for (int i = from; i < Math.min(flags.length, from + length); i++) {
            if (flags[i]) {
                return true;
            }
        }
        return false;
    }

    /** sacreBLEU's {@code _perform_shift}, with Python's clamping slice semantics. */
    static int[] performShift(int[] w, int start, int length, int target) {
        int[] out;
        if (target < start) {
            out = concat(slice(w, 0, target), slice(w, start, start + length), slice(w, target, start), slice(w, start + length, w.length));
        } else if (target > start + length) {
            out = concat(slice(w, 0, start), slice(w, start + length, target), slice(w, start, start + length), slice(w, target, w.length));
        } else {
            out = concat(slice(w, 0, start), slice(w, start + length, length + target), slice(w, start, start + length), slice(w, length + target, w.length));
        }
        return out;
    }

    private static int[] slice(int[] a, int from, int to) {
        int f = Math.min(from, a.length);
        int t = Math.min(to, a.length);
        return t <= f ? new int[0] : Arrays.copyOfRange(a, f, t);
    }

    private static int[] concat(int[]... parts) {
        int n = 0;
        for (int[] p : parts) {
            n += p.length;
        }
        int[] out = new int[n];
        int at = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /**
     * Beam-limited Levenshtein distance from {@code h} to {@code r} with its trace (sacreBLEU's
     * {@code BeamEditDistance}): ties prefer match/substitution, then deletion, then insertion.
     */
    private static Alignment editDistance(int[] h, int[] r) {
        int nh = h.length;
        int nr = r.length;
        int[][] cost = new int[nh + 1][nr + 1];
        byte[][] ops = new byte[nh + 1][nr + 1];
        for (int j = 0; j <= nr; j++) {
            cost[0][j] = j;
            ops[0][j] = INS;
        }
        for (int i = 1; i <= nh; i++) {
            Arrays.fill(cost[i], INF);
            Arrays.fill(ops[i], UNDEF);
        }
        double ratio = nh > 0 ? (double) nr / nh : 1.0;
        int beam = BEAM_WIDTH < ratio / 2 ? (int) Math.ceil(ratio / 2 + BEAM_WIDTH) : BEAM_WIDTH;
        for (int i = 1; i <= nh; i++) {
            int diag = (int) Math.floor(i * ratio);
            int minJ = Math.max(0, diag - beam);
            int maxJ = i == nh ? nr + 1 : Math.min(nr + 1, diag + beam);
            for (int j = minJ; j < maxJ; j++) {
                if (j == 0) {
                    cost[i][0] = cost[i - 1][0] + 1;
                    ops[i][0] = DEL;
                    continue;
                }
                boolean same = h[i - 1] == r[j - 1];
                relax(cost, ops, i, j, cost[i - 1][j - 1] + (same ? 0 : 1), same ? NOP : SUB);
                relax(cost, ops, i, j, cost[i - 1][j] + 1, DEL);
                relax(cost, ops, i, j, cost[i][j - 1] + 1, INS);
            }
        }
        byte[] trace = new byte[nh + nr];
        int at = trace.length;
        int i = nh;
        int j = nr;
        while (i > 0 || j > 0) {
            byte op = ops[i][j];
            trace[--at] = op;
            switch (op) {
                case SUB, NOP -> {
                    i--;
                    j--;
                }
                case INS -> j--;
                case DEL -> i--;
                default -> throw new IllegalStateException("edit trace reached an unfilled cell (" + i + ", " + j + ")");
            }
        }
        return new Alignment(cost[nh][nr], Arrays.copyOfRange(trace, at, trace.length));
    }

    private static void relax(int[][] cost, byte[][] ops, int i, int j, int c, byte op) {
        if (cost[i][j] > c) {
            cost[i][j] = c;
            ops[i][j] = op;
        }
    }
}
