package dev.finetune4j.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An exported model run by ONNX Runtime the way ONNX Runtime GenAI drives it: every call feeds the new tokens,
 * the attention mask over past and new tokens, their positions and the previous call's {@code present.*} as
 * {@code past_key_values.*} (empty tensors on the first call).
 */
final class OrtDecoder implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final int layers;
    private final int kvHeads;
    private final int headDim;
    /** The width of a cached value head: headDim but in latent attention, whose values are narrower or wider. */
    private final int valueDim;

    OrtDecoder(Path modelFile, int layers, int kvHeads, int headDim) throws OrtException {
        this(modelFile, layers, kvHeads, headDim, headDim);
    }

    OrtDecoder(Path modelFile, int layers, int kvHeads, int headDim, int valueDim) throws OrtException {
        this.session = env.createSession(modelFile.toString(), new OrtSession.SessionOptions());
        this.layers = layers;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.valueDim = valueDim;
    }

    /** Logits [batch][seq][vocab] of one call without a past. */
    float[][][] logits(long[][] ids, long[][] mask, long[][] positions) throws OrtException {
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put("input_ids", OnnxTensor.createTensor(env, ids));
            inputs.put("attention_mask", OnnxTensor.createTensor(env, mask));
            inputs.put("position_ids", OnnxTensor.createTensor(env, positions));
            for (int i = 0; i < layers; i++) {
                inputs.put("past_key_values." + i + ".key", emptyPast(ids.length, headDim));
                inputs.put("past_key_values." + i + ".value", emptyPast(ids.length, valueDim));
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

    /** One call of a single sequence: {@code fed} after the tokens that {@code previous} (null: none) has seen. */
    private Step step(long[] fed, Step previous) throws OrtException {
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
            for (int i = 0; i < layers; i++) {
                for (String part : List.of("key", "value")) {
                    String name = "past_key_values." + i + "." + part;
                    if (previous == null) {
                        owned.put(name, emptyPast(1, part.equals("key") ? headDim : valueDim));
                    } else {
                        inputs.put(name, (OnnxTensor) previous.result.get("present." + i + "." + part).orElseThrow());
                    }
                }
            }
            inputs.putAll(owned);
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

    private OnnxTensor emptyPast(int batch, int width) throws OrtException {
        return OnnxTensor.createTensor(env, FloatBuffer.allocate(0), new long[]{batch, kvHeads, 0, width});
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
