package com.example.modulepath;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;

import java.nio.file.Path;

/**
 * Loads the tiny LLaMA fixture and the LoRA adapter Python PEFT wrote for it, runs a forward pass, and fails
 * (exit status 1) unless finetune4j was loaded as named modules and the adapter changed the logits.
 */
public final class LoraForward {
    private LoraForward() {
    }

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        check(Peft.class.getModule().getName(), "dev.finetune4j.peft");
        check(AutoModel.class.getModule().getName(), "dev.finetune4j.core");
        long[][] ids = {{1, 72, 101, 108, 108, 111}};
        long[][] mask = {{1, 1, 1, 1, 1, 1}};
        try (LanguageModel base = AutoModel.loadCausalLM(model);
             PeftModel tuned = Peft.load(base, model.resolve("lora"))) {
            float[][][] adapted = tuned.logits(ids, mask);
            float[][][] plain;
            try (AutoCloseable off = tuned.disableAdapter()) {
                plain = tuned.logits(ids, mask);
            }
            double largest = 0;
            for (int t = 0; t < ids[0].length; t++) {
                for (int v = 0; v < adapted[0][t].length; v++) {
                    if (!Float.isFinite(adapted[0][t][v])) {
                        throw new IllegalStateException("non-finite logit at position " + t + ", id " + v);
                    }
                    largest = Math.max(largest, Math.abs(adapted[0][t][v] - plain[0][t][v]));
                }
            }
            if (adapted[0].length != ids[0].length || adapted[0][0].length != 256 || largest < 1e-4) {
                throw new IllegalStateException("unexpected LoRA forward: shape " + adapted[0].length + "x"
                        + adapted[0][0].length + ", largest change by the adapter " + largest);
            }
            System.out.printf("module path: LoRA forward pass over %d tokens, %d logits each, adapter moved them by up to %.4f%n",
                    ids[0].length, adapted[0][0].length, largest);
        }
    }

    private static void check(String actual, String expected) {
        if (!expected.equals(actual)) {
            throw new IllegalStateException("finetune4j loaded as module '" + actual + "', expected '" + expected
                    + "' (is it on the class path instead of the module path?)");
        }
    }
}
