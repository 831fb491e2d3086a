package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link AutoModel#newCausalLM(com.fasterxml.jackson.databind.JsonNode, TensorScope, WeightFactory)}: each weight is
 * made once in its final dtype, in place of a shape-only placeholder, and the model owns the scope they live in.
 */
class WeightFactoryTest {
    @Test
    void eachWeightIsMadeOnceInItsFinalDtypeAndNothingElseIsAllocated() {
        Device cpu = Device.cpu();
        List<String> made = new ArrayList<>();
        long before = cpu.memory().allocatedBytes();
        cpu.backend().resetPeak();
        TensorScope scope = TensorScope.detached(cpu);
        try (LanguageModel model = AutoModel.newCausalLM(AutoModel.readConfig(ReferenceData.resource("hf-tiny/llama")),
                scope, (name, owner, placeholder) -> {
                    assertEquals(Device.meta(), placeholder.device(), name);
                    made.add(name);
                    DType dtype = owner instanceof Linear && !name.startsWith("lm_head") ? DType.NF4 : DType.BF16;
                    return Tensor.zeros(scope, dtype, placeholder.shape());
                })) {
            assertEquals(List.copyOf(model.stateDict().keySet()), made);
            long bytes = model.stateDict().values().stream().mapToLong(t -> t.dtype().bytesFor(t.numel())).sum();
            assertEquals(bytes, scope.liveBytes());
            assertEquals(bytes, cpu.memory().peakBytes() - before, "no float32 placeholders were allocated");
            assertEquals(DType.NF4, model.stateDict().get("model.layers.0.mlp.up_proj.weight").dtype());
            assertEquals(DType.BF16, model.stateDict().get("model.norm.weight").dtype());
            assertTrue(model.parameterScope() == scope, "the model owns the weights' scope");
        }
        assertFalse(scope.isOpen(), "closing the model frees its weights");
    }

    @Test
    void aWeightOfTheWrongShapeIsRefusedByNameAndTheScopeClosed() {
        TensorScope scope = TensorScope.detached(Device.cpu());
        var e = assertThrows(IllegalArgumentException.class, () -> AutoModel.newCausalLM(
                AutoModel.readConfig(ReferenceData.resource("hf-tiny/llama")), scope,
                (name, owner, placeholder) -> Tensor.zeros(scope, DType.F32, Shape.of(3))));
        assertTrue(e.getMessage().contains("'model.embed_tokens.weight'") && e.getMessage().contains("must have shape"),
                e.getMessage());
        assertFalse(scope.isOpen());
    }
}
