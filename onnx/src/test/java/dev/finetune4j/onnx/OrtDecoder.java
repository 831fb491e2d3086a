package dev.finetune4j.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An exported model run by ONNX Runtime the way ONNX Runtime GenAI drives it: every call feeds the new tokens,
 * the attention mask over past and new tokens, their positions and the previous call's presents as its pasts
 * ({@code present.N.key} as {@code past_key_values.N.key}, {@code present_conv.N} as {@code past_conv.N}, ...): on the
 * first call each past has the size the graph declares, the batch aside, with its symbolic sizes 0 (the attention
 * layers' pasts are empty, the recurrent layers' states zeros).
 */
final class OrtDecoder implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    /** The graph's past inputs, attention layers' and recurrent layers' alike. */
    private final List<String> pasts;

    OrtDecoder(Path modelFile) throws OrtException {
        this(modelFile, Map.of());
    }

    /** A session with the session options' config entries {@code config} (ONNX Runtime's string keys). */
    OrtDecoder(Path modelFile, Map<String, String> config) throws OrtException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            for (Map.Entry<String, String> entry : config.entrySet()) {
                options.addConfigEntry(entry.getKey(), entry.getValue());
            }
            this.session = env.createSession(modelFile.toString(), options);
        }
        this.pasts = session.getInputNames().stream().filter(name -> name.startsWith("past")).sorted().toList();
    }

    /** Logits [batch][seq][vocab] of one call without a past. */
    float[][][] logits(long[][] ids, long[][] mask, long[][] positions) throws OrtException {
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put("input_ids", OnnxTensor.createTensor(env, ids));
            inputs.put("attention_mask", OnnxTensor.createTensor(env, mask));
            inputs.put("position_ids", OnnxTensor.createTensor(env, positions));
            for (String past : pasts) {
                inputs.put(past, firstPast(past, ids.length));
            }
            try (OrtSession.Result result = session.run(inputs)) {
                return (float[][][]) result.get("logits").orElseThrow().getValue();
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    /**
     * Whether a past of {@code cached} tokens is stale before a call that grows the sequence to {@code length} tokens,
     * so that the call feeds the whole sequence again without it: the model's {@code LogitsModel.cacheGoesStale}
     * (Phi-3's longrope crossing its pretrained length).
     */
    interface StaleCache {
        /** A cache that never goes stale. */
        StaleCache NEVER = (cached, length) -> false;

        boolean at(int cached, int length);
    }

    /**
     * The prompt followed by {@code newTokens} greedy tokens: the prompt in one call, then one token per call with
     * the presents of the previous call as past (the whole sequence again where the past goes stale).
     */
    long[] greedy(long[] prompt, int newTokens, StaleCache stale) throws OrtException {
        long[] seq = Arrays.copyOf(prompt, prompt.length + newTokens);
        if (newTokens > 0) {
            decode(seq, prompt.length, stale, true);
        }
        return seq;
    }

    /**
     * The last token's logits after each call of a decoding loop over {@code ids}: {@code ids[:first]} in one call,
     * then one token per call on the previous call's presents (the whole prefix again where the past goes stale).
     * Row r holds the logits [vocab] of the prefix {@code ids[:first + r]} at its last token.
     */
    float[][] stepLogits(long[] ids, int first, StaleCache stale) throws OrtException {
        return decode(ids.clone(), first, stale, false).toArray(float[][]::new);
    }

    /** The loop of {@link #greedy} and {@link #stepLogits}; with {@code choose}, it writes each argmax into seq. */
    private List<float[]> decode(long[] seq, int first, StaleCache stale, boolean choose) throws OrtException {
        List<float[]> lastLogits = new ArrayList<>();
        int end = choose ? seq.length - 1 : seq.length; // the longest prefix a call must see
        int length = first;
        long[] fed = Arrays.copyOf(seq, first);
        Step step = null;
        try {
            while (true) {
                Step next = step(fed, step);
                if (step != null) {
                    step.close();
                }
                step = next;
                float[] last = step.logits()[0][fed.length - 1];
                lastLogits.add(last);
                if (choose) {
                    seq[length] = argmax(last);
                }
                if (length == end) {
                    return lastLogits;
                }
                length++;
                if (stale.at(step.seen(), length)) {
                    step.close();
                    step = null;
                    fed = Arrays.copyOf(seq, length);
                } else {
                    fed = new long[]{seq[length - 1]};
                }
            }
        } finally {
            if (step != null) {
                step.close();
            }
        }
    }

    /** Logits [1][ids.length - split][vocab] of {@code ids[split:]} fed after a first call with {@code ids[:split]}. */
    float[][][] logitsAfterPast(long[] ids, int split) throws OrtException {
        try (Step first = step(Arrays.copyOf(ids, split), null);
             Step second = step(Arrays.copyOfRange(ids, split, ids.length), first)) {
            return second.logits();
        }
    }

    /**
     * {@link #logitsAfterPast} with the first call's state for {@code past} (B, C, W) shifted one step later along its
     * last axis before the second call reads it (a zero column first, the newest column dropped): a convolution state
     * off by one token.
     */
    float[][][] logitsAfterShiftedState(long[] ids, int split, String past) throws OrtException {
        try (Step first = step(Arrays.copyOf(ids, split), null);
             OnnxTensor shifted = shiftedOneStep((OnnxTensor) first.result.get(presentOf(past)).orElseThrow());
             Step second = step(Arrays.copyOfRange(ids, split, ids.length), first, Map.of(past, shifted))) {
            return second.logits();
        }
    }

    private OnnxTensor shiftedOneStep(OnnxTensor state) throws OrtException {
        long[] shape = state.getInfo().getShape();
        int width = Math.toIntExact(shape[shape.length - 1]);
        FloatBuffer buffer = state.getFloatBuffer();
        float[] values = new float[buffer.remaining()];
        buffer.get(values);
        float[] shifted = new float[values.length];
        for (int row = 0; row < values.length; row += width) {
            System.arraycopy(values, row, shifted, row + 1, width - 1);
        }
        return OnnxTensor.createTensor(env, FloatBuffer.wrap(shifted), shape);
    }

    /** One call of a single sequence: {@code fed} after the tokens that {@code previous} (null: none) has seen. */
    private Step step(long[] fed, Step previous) throws OrtException {
        return step(fed, previous, Map.of());
    }

    /** {@link #step(long[], Step)} with the pasts {@code replaced} names fed from it instead of from {@code previous}. */
    private Step step(long[] fed, Step previous, Map<String, OnnxTensor> replaced) throws OrtException {
        int past = previous == null ? 0 : previous.seen;
        long[] positions = new long[fed.length];
        for (int j = 0; j < fed.length; j++) {
            positions[j] = past + j;
        }
        Map<String, OnnxTensor> owned = new HashMap<>();
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            owned.put("input_ids", OnnxTensor.createTensor(env, new long[][]{fed}));
            owned.put("attention_mask", OnnxTensor.createTensor(env, new long[][]{ones(past + fed.length)}));
            owned.put("position_ids", OnnxTensor.createTensor(env, new long[][]{positions}));
            for (String name : pasts) {
                if (previous == null) {
                    owned.put(name, firstPast(name, 1));
                } else {
                    inputs.put(name, (OnnxTensor) previous.result.get(presentOf(name)).orElseThrow());
                }
            }
            inputs.putAll(owned);
            inputs.putAll(replaced);
            return new Step(session.run(inputs), past + fed.length);
        } finally {
            owned.values().forEach(OnnxTensor::close);
        }
    }

    /** A call's outputs (its presents are the next call's past) and how many tokens the cache then holds. */
    private record Step(OrtSession.Result result, int seen) implements AutoCloseable {
        float[][][] logits() throws OrtException {
            return (float[][][]) result.get("logits").orElseThrow().getValue();
        }

        @Override
        public void close() {
            result.close();
        }
    }

    /** The first call's {@code past}: zeros of its declared shape, {@code batch} rows, its symbolic sizes 0. */
    private OnnxTensor firstPast(String past, int batch) throws OrtException {
        long[] shape = ((TensorInfo) session.getInputInfo().get(past).getInfo()).getShape().clone();
        shape[0] = batch;
        long size = 1;
        for (int i = 1; i < shape.length; i++) {
            shape[i] = Math.max(shape[i], 0);
            size *= shape[i];
        }
        return OnnxTensor.createTensor(env, FloatBuffer.allocate(Math.toIntExact(batch * size)), shape);
    }

    /** The output the next call feeds as {@code past}: present.N.key for past_key_values.N.key, present_conv.N for past_conv.N. */
    private static String presentOf(String past) {
        String keyValues = "past_key_values.";
        return past.startsWith(keyValues) ? "present." + past.substring(keyValues.length()) : "present" + past.substring(4);
    }

    private static long[] ones(int n) {
        long[] out = new long[n];
        Arrays.fill(out, 1);
        return out;
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
