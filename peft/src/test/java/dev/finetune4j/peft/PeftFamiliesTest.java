package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.models.AutoModel;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The family table against PEFT 0.21's own defaults (peft-defaults.json, written by tools/reference/peft_defaults.py
 * from peft.utils.constants): where PEFT maps a model_type, LoRA's and IA3's defaults are PEFT's. Mixtral's IA3
 * mapping names {@code w2}, a module transformers 5's Mixtral no longer has (its experts are stacked), so the table
 * leaves IA3 there to the config. Every causal type core loads has a row.
 */
class PeftFamiliesTest {

    @Test
    void defaultsArePeftsWherePeftHasThem() throws Exception {
        JsonNode types;
        try (InputStream in = PeftFamiliesTest.class.getResourceAsStream("/peft-defaults.json")) {
            types = new ObjectMapper().readTree(in).get("types");
        }
        int compared = 0;
        for (Map.Entry<String, JsonNode> e : types.properties()) {
            PeftFamilies.Family family = PeftFamilies.of(e.getKey()).orElseThrow();
            JsonNode peft = e.getValue();
            if (!peft.get("lora").isNull()) {
                assertEquals(TargetModules.names(strings(peft.get("lora"))), family.loraTargets(), e.getKey() + " LoRA");
                compared++;
            }
            if (e.getKey().equals("mixtral")) {
                assertNull(family.ia3(), "transformers 5's Mixtral has no w2");
            } else if (!peft.get("ia3").isNull()) {
                assertEquals(new PeftFamilies.Ia3Targets(TargetModules.names(strings(peft.get("ia3"))),
                        TargetModules.names(strings(peft.get("ia3_feedforward")))), family.ia3(), e.getKey() + " IA3");
                compared++;
            }
        }
        assertEquals(23, compared, "PEFT 0.21 maps LoRA for 13 of these types and IA3 for 10 that fit");
    }

    @Test
    void everyCausalFamilyCoreLoadsHasARow() {
        Set<String> rows = Set.copyOf(PeftFamilies.all().stream().map(PeftFamilies.Family::modelType).toList());
        List<String> missing = new ArrayList<>();
        for (String type : AutoModel.CAUSAL_LM_TYPES) {
            // a vision-language checkpoint's text config takes its language model's row (qwen3_5 -> qwen3_5_text)
            if (!rows.contains(type) && !rows.contains(type + "_text")) {
                missing.add(type);
            }
        }
        assertTrue(missing.isEmpty(), "no PEFT row for " + missing);
    }

    private static String[] strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out.toArray(String[]::new);
    }
}
