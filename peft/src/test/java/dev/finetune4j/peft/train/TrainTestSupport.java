package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Test resources under /train and small readers for them. */
final class TrainTestSupport {
    private TrainTestSupport() {
    }

    /** A folder or file under src/test/resources/train. */
    static Path resource(String relative) {
        try {
            return Path.of(TrainTestSupport.class.getResource("/train/" + relative).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing test resource /train/" + relative, e);
        }
    }

    /** The llama fixture's base model: vocabulary 256, 128 positions. */
    static LanguageModel llamaBase() {
        return AutoModel.loadCausalLM(resource("llama/base"));
    }

    /** The llama fixture's LoRA adapter before training, trainable, around {@code base}. */
    static PeftModel llamaAdapter(LanguageModel base) {
        return Peft.loadTrainable(base, resource("llama/adapter_init"));
    }

    /** The trainable weights of {@code model}, copied to the host, by name. */
    static Map<String, float[]> weights(PeftModel model) {
        Map<String, float[]> out = new LinkedHashMap<>();
        model.trainableParameters().forEach((name, t) -> out.put(name, t.toFloatArray()));
        return out;
    }

    static JsonNode json(Path file) {
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The preference pairs of a DPO fixture (dpo.json's examples: prompt, chosen and rejected token ids). */
    static List<PreferenceExample> dpoPairs(JsonNode fixture) {
        List<PreferenceExample> pairs = new ArrayList<>();
        for (JsonNode e : fixture.get("examples")) {
            pairs.add(new PreferenceExample(ids(e.get("prompt")), ids(e.get("chosen")), ids(e.get("rejected"))));
        }
        return pairs;
    }

    /** The policy's and the reference's log-probabilities TRL computed for each pair of a DPO fixture. */
    static List<DpoTrainer.PairLogProbs> dpoLogProbs(JsonNode fixture) {
        List<DpoTrainer.PairLogProbs> out = new ArrayList<>();
        for (JsonNode e : fixture.get("examples")) {
            out.add(new DpoTrainer.PairLogProbs(e.get("policy_chosen_logp").asDouble(),
                    e.get("policy_rejected_logp").asDouble(), e.get("reference_chosen_logp").asDouble(),
                    e.get("reference_rejected_logp").asDouble()));
        }
        return out;
    }

    private static long[] ids(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }

    /** An I64 tensor of rank 2 from a safetensors file. */
    static long[][] longs2d(Path file, String name) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Tensor t = f.tensor(name);
            long[] flat = t.toLongArray();
            long[][] out = new long[t.dim(0)][];
            for (int i = 0; i < out.length; i++) {
                out[i] = Arrays.copyOfRange(flat, i * t.dim(1), (i + 1) * t.dim(1));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every tensor of a safetensors file as float32 values, by name. */
    static Map<String, float[]> floats(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, float[]> out = new LinkedHashMap<>();
            for (String name : f.names()) {
                out.put(name, f.tensor(name).toFloatArray());
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The weights of a saved adapter folder, by PEFT name. */
    static Map<String, float[]> adapterWeights(Path adapterDir) {
        return floats(adapterDir.resolve(Checkpoints.ADAPTER_FILE));
    }

    /** Largest relative L2 difference ||a - b|| / ||b|| over the tensors of {@code expected}; the name in [1]. */
    static Object[] maxRelativeDifference(Map<String, float[]> actual, Map<String, float[]> expected) {
        double worst = 0;
        String where = "";
        for (Map.Entry<String, float[]> e : expected.entrySet()) {
            float[] a = actual.get(e.getKey());
            if (a == null) {
                throw new AssertionError("no tensor '" + e.getKey() + "' among " + actual.keySet());
            }
            double diff = 0;
            double norm = 0;
            for (int i = 0; i < a.length; i++) {
                double d = a[i] - e.getValue()[i];
                diff += d * d;
                norm += (double) e.getValue()[i] * e.getValue()[i];
            }
            double rel = Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-30);
            if (rel > worst) {
                worst = rel;
                where = e.getKey();
            }
        }
        return new Object[]{worst, where};
    }

    /**
     * A random LLaMA (2 layers, 4 heads, 2 key-value heads, MLP width 2 hidden, weights N(0, 0.1) from seed 5): at
     * 0.02 the logits are too small for an adapter alone to make chosen answers win.
     */
    static LanguageModel tinyLlama(int vocab, int hidden, int maxPositions) {
        return tinyLlama(vocab, hidden, maxPositions, Device.cpu());
    }

    /** {@link #tinyLlama(int, int, int)} with its weights on {@code device}. */
    static LanguageModel tinyLlama(int vocab, int hidden, int maxPositions, Device device) {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("model_type", "llama").put("vocab_size", vocab).put("hidden_size", hidden)
                .put("intermediate_size", 2 * hidden).put("num_hidden_layers", 2).put("num_attention_heads", 4)
                .put("num_key_value_heads", 2).put("max_position_embeddings", maxPositions).put("rms_norm_eps", 1e-6)
                .put("rope_theta", 10000.0).put("hidden_act", "silu").put("tie_word_embeddings", false);
        LanguageModel model = AutoModel.newCausalLM(c, TensorScope.detached(device));
        StateDicts.initNormal(model, 0.1, new SplittableRandom(5));
        return model;
    }

    /**
     * Each LoRA tensor's gradient, elementwise, within 1e-5 of the largest gradient entry of the case; the expected
     * gradients are {@code gradients.get(name + "/" + tensor name)}.
     */
    static void assertGradients(String name, Map<String, Tensor> params, Map<String, float[]> gradients) {
        double largest = 0;
        for (String tensor : params.keySet()) {
            for (float g : gradients.get(name + "/" + tensor)) {
                largest = Math.max(largest, Math.abs(g));
            }
        }
        double worst = 0;
        String where = "";
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            float[] theirs = gradients.get(name + "/" + e.getKey());
            float[] ours = e.getValue().grad().toFloatArray();
            assertEquals(theirs.length, ours.length, e.getKey());
            for (int i = 0; i < ours.length; i++) {
                double d = Math.abs(ours[i] - theirs[i]);
                if (d > worst) {
                    worst = d;
                    where = e.getKey() + "[" + i + "]";
                }
            }
        }
        System.out.printf("%s: %d LoRA tensors, largest |grad diff| %.3e at %s (largest |grad| %.3e)%n",
                name, params.size(), worst, where, largest);
        assertTrue(worst <= 1e-5 * largest, name + ": gradient differs by " + worst + " at " + where);
    }
}
