package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.Fixtures;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Gradient checkpointing recomputes each layer in the backward and gives the same gradients, bit for bit, as the
 * graph that kept every activation: the recompute runs the same kernels on the same inputs, and LoRA dropout
 * redraws the same masks because each layer's dropout stream is reseeded from one draw of the model's stream.
 * Checked on three families with LoRA and dropout, and for every PEFT method on LLaMA (prefix tuning's layers read
 * its trainable cache and run without checkpointing).
 */
class GradientCheckpointingTest {

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "gpt2"})
    void everyTrainableGradientIsEqualWithAndWithoutCheckpointing(String family) {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir(family))) {
            String[] targets = family.equals("gpt2") ? new String[]{"c_attn", "c_proj", "c_fc"}
                    : new String[]{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).targetModules(targets)
                    .loraDropout(0.3).build());
            randomize(model); // lora_B starts at 0, which would hide the A gradients and dropout
            model.train(true);
            long[][] ids = {{1, 5, 9, 2, 7, 3, 4, 8}, {6, 2, 3, 9, 1, 1, 5, 7}};

            Map<String, float[]> plain = gradients(model, ids, false, 5, true);
            Map<String, float[]> checkpointed = gradients(model, ids, true, 5, true);
            Map<String, float[]> otherMasks = gradients(model, ids, false, 6, true);

            assertEquals(plain.keySet(), checkpointed.keySet());
            for (String name : plain.keySet()) {
                assertArrayEquals(plain.get(name), checkpointed.get(name), family + " gradient of " + name);
            }
            String someA = plain.keySet().stream().filter(n -> n.contains("lora_A")).findFirst().orElseThrow();
            assertFalse(Arrays.equals(plain.get(someA), otherMasks.get(someA)),
                    "another dropout seed changes the gradients, so equal gradients mean equal masks");
        }
    }

    @ParameterizedTest
    @EnumSource(EveryMethodTrainsTest.Method.class)
    void everyMethodsGradientsAreEqualWithAndWithoutCheckpointing(EveryMethodTrainsTest.Method method) {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftModel model = method.wrap.apply(base);
            randomize(model);
            model.train(true);
            long[][] ids = {{1, 5, 9, 2, 7, 3}, {6, 2, 3, 9, 1, 1}};
            boolean checkpointable = !method.name().startsWith("PREFIX");
            Map<String, float[]> plain = gradients(model, ids, false, 5, checkpointable);
            Map<String, float[]> checkpointed = gradients(model, ids, true, 5, checkpointable);
            assertEquals(plain.keySet(), checkpointed.keySet());
            for (String name : plain.keySet()) {
                assertArrayEquals(plain.get(name), checkpointed.get(name), method + " gradient of " + name);
            }
        }
    }

    /** The recompute in the backward (which runs in F32) rounds as the forward did under BF16_MIXED. */
    @Test
    void theRecomputeKeepsTheForwardsPrecision() {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8)
                    .targetModules("q_proj", "v_proj", "down_proj").build());
            randomize(model);
            model.train(true);
            long[][] ids = {{1, 5, 9, 2, 7, 3, 4, 8}};
            Map<String, float[]> plain = gradients(model, ids, false, 5, true, Precision.BF16_MIXED);
            Map<String, float[]> checkpointed = gradients(model, ids, true, 5, true, Precision.BF16_MIXED);
            Map<String, float[]> f32 = gradients(model, ids, true, 5, true, Precision.F32);
            for (String name : plain.keySet()) {
                assertArrayEquals(plain.get(name), checkpointed.get(name), "BF16_MIXED gradient of " + name);
            }
            String someA = plain.keySet().stream().filter(n -> n.contains("lora_A")).findFirst().orElseThrow();
            assertFalse(Arrays.equals(plain.get(someA), f32.get(someA)), "BF16_MIXED rounds, so its gradients differ from F32's");
        }
    }


    /** Gradients of one backward of the causal-LM loss, by parameter name. */
    private static Map<String, float[]> gradients(PeftModel model, long[][] ids, boolean checkpointing, long seed,
                                                  boolean checkpointable) {
        return gradients(model, ids, checkpointing, seed, checkpointable, Precision.F32);
    }

    /** As above with the forward in {@code precision} and the backward outside it, as the training loop runs them. */
    private static Map<String, float[]> gradients(PeftModel model, long[][] ids, boolean checkpointing, long seed,
                                                  boolean checkpointable, Precision precision) {
        model.base().gradientCheckpointing(checkpointing);
        model.base().seedDropout(seed);
        model.trainableParameters().values().forEach(t -> t.setGrad(null));
        Map<String, float[]> out = new LinkedHashMap<>();
        try (var scope = TensorScope.open()) {
            Tensor loss;
            try (var rounding = precision.use()) {
                loss = Fixtures.causalLoss(model.forward(ModelInput.of(ids, null)), ids);
            }
            assertEquals(checkpointing && checkpointable, graphHas(loss, "checkpoint"), "checkpoint nodes in the graph");
            Autograd.backward(loss);
            model.trainableParameters().forEach((n, t) -> out.put(n, t.grad().toFloatArray()));
        } finally {
            model.base().gradientCheckpointing(false);
        }
        return out;
    }

    private static void randomize(PeftModel model) {
        SplittableRandom random = new SplittableRandom(3);
        for (Tensor t : model.trainableParameters().values()) {
            float[] values = new float[Math.toIntExact(t.numel())];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (random.nextGaussian() * 0.3);
            }
            t.copyFrom(values);
        }
    }

    private static boolean graphHas(Tensor root, String op) {
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Tensor> todo = new ArrayDeque<>();
        todo.push(root);
        while (!todo.isEmpty()) {
            Tensor t = todo.pop();
            if (!seen.add(t) || t.gradFn() == null) {
                continue;
            }
            if (t.gradFn().name().equals(op)) {
                return true;
            }
            for (Tensor in : t.gradFn().inputs()) {
                if (in != null) {
                    todo.push(in);
                }
            }
        }
        return false;
    }
}
