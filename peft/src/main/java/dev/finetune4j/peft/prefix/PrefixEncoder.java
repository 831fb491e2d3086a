package dev.finetune4j.peft.prefix;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Concat;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.core.nn.KvCache;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.Tuner;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Prefix tuning's virtual keys and values, PEFT's {@code PrefixEncoder} and {@code get_prompt}: a table
 * (P, L * 2 * Hkv * D) whose row p holds, for layer l, the key at columns [2l Hkv D, (2l+1) Hkv D) and the value
 * after it, heads outermost. Before each forward pass it fills the KV cache of every layer with these P positions
 * (the model then starts real positions at P, and masks never hide the prefix).
 *
 * <p>With reparameterization the table is the output of embedding (P, Hkv D) -> Linear -> tanh -> Linear, and
 * what is saved is that output, as PEFT saves it.
 *
 * <p>Thread safety: not thread-safe.
 */
public final class PrefixEncoder implements Tuner {
    private final ModelSpec spec;
    private final int virtualTokens;
    private final Tensor table;
    private final Tensor embedding;
    private final Linear hidden;
    private final Linear output;
    private boolean enabled = true;

    /** A prefix given directly by its table (P, L * 2 * Hkv * D). */
    PrefixEncoder(ModelSpec spec, Tensor table) {
        this(spec, table, null, null, null);
    }

    /** A reparameterized prefix: embedding (P, Hkv D), MLP layers {@code hidden} and {@code output}. */
    PrefixEncoder(ModelSpec spec, Tensor table, Tensor embedding, Linear hidden, Linear output) {
        this.spec = spec;
        this.table = table;
        this.embedding = embedding;
        this.hidden = hidden;
        this.output = output;
        this.virtualTokens = table != null ? table.dim(0) : embedding.dim(0);
    }

    /** Width of one layer's keys (or values): Hkv * D. */
    static int kvWidth(ModelSpec spec) {
        return spec.numKeyValueHeads() * spec.headDim();
    }

    @Override
    public Map<String, Tensor> adapterTensors() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        if (table != null) {
            out.put("prompt_embeddings", table);
        } else {
            String p = "prompt_encoder.default.";
            out.put(p + "embedding.weight", embedding);
            out.put(p + "transform.0.weight", hidden.weight());
            out.put(p + "transform.0.bias", hidden.parameter("bias"));
            out.put(p + "transform.2.weight", output.weight());
            out.put(p + "transform.2.bias", output.parameter("bias"));
        }
        return out;
    }

    @Override
    public Map<String, Tensor> savedTensors() {
        return Map.of("prompt_embeddings", keyValues());
    }

    /** The (P, L * 2 * Hkv * D) table, computed through the MLP when reparameterized. */
    private Tensor keyValues() {
        if (table != null) {
            return table;
        }
        return output.forward(Activations.apply(Activations.Kind.TANH, hidden.forward(embedding)));
    }

    @Override
    public int virtualTokens() {
        return enabled ? virtualTokens : 0;
    }

    @Override
    public ModelInput prepare(ModelInput input) {
        if (!enabled || (input.cache() != null && input.cache().length() > 0)) {
            return input;
        }
        if (input.segments() != null) {
            throw new IllegalArgumentException("prefix tuning cannot be combined with packed sequences (segments): "
                    + "the prefix is shared by one sequence per row; turn packing off");
        }
        KvCache cache = input.cache() != null ? input.cache() : new KvCache(spec.numLayers(), false);
        Tensor kv = keyValues();
        int width = kvWidth(spec);
        int b = input.batchSize();
        for (int l = 0; l < spec.numLayers(); l++) {
            cache.put(l, perBatch(kv.slice(1, 2 * l * width, (2 * l + 1) * width), b),
                    perBatch(kv.slice(1, (2 * l + 1) * width, (2 * l + 2) * width), b));
        }
        return input.withCache(cache);
    }

    /** (P, Hkv * D) -> (B, Hkv, P, D), the same for every row of the batch. */
    private Tensor perBatch(Tensor rows, int b) {
        Tensor one = rows.contiguous().reshape(1, virtualTokens, spec.numKeyValueHeads(), spec.headDim())
                .permute(0, 2, 1, 3).contiguous();
        Tensor[] copies = new Tensor[b];
        Arrays.fill(copies, one);
        return b == 1 ? one : Concat.cat(0, copies);
    }

    @Override
    public void setEnabled(boolean on) {
        enabled = on;
    }

    @Override
    public void unload() {
        // nothing in the base model's tree changed
    }
}
