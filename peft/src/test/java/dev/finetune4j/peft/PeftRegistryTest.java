package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInjector;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PeftRegistryTest {

    @Test
    void everyMethodIsRegisteredOnceInTheServiceFileOrder() {
        assertEquals(List.of("LORA", "IA3", "PREFIX_TUNING", "PROMPT_TUNING", "BOTTLENECK_ADAPTER", "FREEZE"),
                PeftRegistry.methods().stream().map(PeftMethod::peftType).toList());
        assertEquals(List.of("lora", "ia3", "prefix", "prompt", "adapter", "freeze"), PeftRegistry.names());
        for (PeftMethod<?> m : PeftRegistry.methods()) {
            assertSame(m, PeftRegistry.forType(m.peftType()));
            assertSame(m, PeftRegistry.forName(m.name()));
        }
    }

    @Test
    void aConfigFindsItsMethodAndRoundTripsThroughItsJson() {
        LoraConfig cfg = LoraConfig.builder().r(4).loraAlpha(12).targetModules("q_proj").useDora(true).build();
        PeftMethod<LoraConfig> method = PeftRegistry.forConfig(cfg);
        assertTrue(method instanceof LoraInjector, method.toString());
        ObjectNode json = JsonNodeFactory.instance.objectNode();
        cfg.toJson(json);
        json.put("task_type", "CAUSAL_LM");
        assertEquals(cfg, method.fromJson(json, "test"));
        assertEquals(12, json.get("lora_alpha").asInt());
        assertTrue(json.get("use_dora").asBoolean());
    }

    @Test
    void aMethodsNamesAreCheckedWhenItIsCreated() {
        IllegalArgumentException type = assertThrows(IllegalArgumentException.class, () -> new Named("Lora", "lora"));
        assertTrue(type.getMessage().contains("peft_type 'Lora' of " + Named.class.getName()), type.getMessage());
        IllegalArgumentException name = assertThrows(IllegalArgumentException.class, () -> new Named("LORA", "LoRA"));
        assertTrue(name.getMessage().contains("name 'LoRA'"), name.getMessage());
        Named ok = new Named("MY_LORA2", "my_lora2");
        assertEquals(List.of("MY_LORA2", "my_lora2"), List.of(ok.peftType(), ok.name()));
        assertSame(LoraConfig.class, ok.configType());
    }

    /** A method that only names itself. */
    private static final class Named extends PeftMethod<LoraConfig> {
        Named(String peftType, String name) {
            super(peftType, name, LoraConfig.class, LoraConfig::fromJson);
        }

        @Override
        public Tuner inject(PeftContext ctx, LoraConfig config) {
            throw new UnsupportedOperationException("not injected in this test");
        }
    }

    @Test
    void unknownTypesAndConfigsSayWhatExists() {
        PeftException type = assertThrows(PeftException.class, () -> PeftRegistry.forType("VERA"));
        assertTrue(type.getMessage().contains("LORA, IA3, PREFIX_TUNING"), type.getMessage());
        PeftConfig stranger = new PeftConfig() {
            @Override
            public String peftType() {
                return "STRANGER";
            }

            @Override
            public String taskType() {
                return null;
            }

            @Override
            public void toJson(ObjectNode json) {
            }
        };
        PeftException config = assertThrows(PeftException.class, () -> PeftRegistry.forConfig(stranger));
        assertTrue(config.getMessage().contains("META-INF/services/dev.finetune4j.peft.PeftMethod"), config.getMessage());
    }
}
