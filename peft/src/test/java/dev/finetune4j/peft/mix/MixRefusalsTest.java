package dev.finetune4j.peft.mix;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.Fixtures;
import dev.finetune4j.peft.PeftException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.function.Executable;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What cannot be mixed is refused before anything is computed, with a message that says what to do. */
class MixRefusalsTest {
    @TempDir
    Path tmp;

    @Test
    void noAdaptersAtAll() {
        refused(IllegalArgumentException.class, () -> AdapterMix.combine(List.of(), CombinationType.CAT,
                MixOptions.defaults()), "give at least one adapter");
    }

    @Test
    void weightsThatAreNotFinite() {
        try (AdapterFiles a = AdapterFiles.read(Fixtures.dir(MixFixture.A))) {
            for (double w : new double[]{Double.NaN, Double.POSITIVE_INFINITY}) {
                refused(IllegalArgumentException.class, () -> new WeightedAdapter(a, w), "weights must be finite");
            }
        }
    }

    @Test
    void optionsTheTypeNeedsOrWouldIgnore() {
        String a = MixFixture.A;
        String b = MixFixture.B;
        refused(IllegalArgumentException.class, () -> mix(CombinationType.TIES, MixOptions.defaults(), a, b),
                "ties needs a density");
        refused(IllegalArgumentException.class, () -> mix(CombinationType.LINEAR,
                MixOptions.builder().density(0.5).build(), a, b), "density applies to ties");
        refused(IllegalArgumentException.class, () -> mix(CombinationType.CAT,
                MixOptions.builder().svdRank(8).build(), a, b), "svd_rank and svd_clamp apply to svd");
        for (double density : new double[]{0, -0.1, 1.5, Double.NaN}) {
            refused(IllegalArgumentException.class, () -> MixOptions.builder().density(density).build(), "in (0, 1]");
        }
        refused(IllegalArgumentException.class, () -> MixOptions.builder().svdRank(0).build(), "svd_rank = 0");
        refused(IllegalArgumentException.class, () -> MixOptions.builder().svdClamp(1.2).build(), "quantile in (0, 1]");
    }

    @Test
    void differentRanksForTheEntryWiseTypes() {
        for (CombinationType type : List.of(CombinationType.LINEAR, CombinationType.TIES, CombinationType.DARE_LINEAR)) {
            MixOptions options = type.needsDensity() ? MixOptions.builder().density(0.5).build() : MixOptions.defaults();
            refused(PeftException.class, () -> mix(type, options, MixFixture.A, MixFixture.C),
                    "needs the same rank; found r 4 (");
        }
    }

    @Test
    void otherMethodsAndDora() {
        refused(PeftException.class, () -> mix(CombinationType.CAT, MixOptions.defaults(), MixFixture.A, "llama/dora"),
                "uses DoRA");
        refused(PeftException.class, () -> mix(CombinationType.CAT, MixOptions.defaults(), MixFixture.A, "llama/ia3"),
                "is not a LoRA adapter (peft_type IA3): only LoRA adapters can be mixed");
    }

    @Test
    void adaptersOfDifferentBaseModels() {
        refused(PeftException.class, () -> mix(CombinationType.CAT, MixOptions.defaults(), MixFixture.A, "qwen2/lora"),
                "was trained on a Qwen2ForCausalLM, adapter");
        // the same architecture recorded, other sizes: an in-dimension of 32 where the base has 64
        Path narrower = rewritten(MixFixture.B, "narrower", tensors -> {
            String name = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
            tensors.put(name, Tensor.of(new float[4 * 32], 4, 32));
            return tensors;
        });
        refused(PeftException.class, () -> mix(CombinationType.CAT, MixOptions.defaults(), MixFixture.A, narrower.toString()),
                "is 64 x 64 (out x in) in adapter");
    }

    @Test
    void settingsOneCombinedConfigCannotHold() {
        Path withHead = Fixtures.adapterWith(MixFixture.B, tmp.resolve("head"), Map.of("modules_to_save", "[\"lm_head\"]"));
        refused(PeftException.class, () -> mix(CombinationType.CAT, MixOptions.defaults(), MixFixture.A, withHead.toString()),
                "saves whole modules (modules_to_save = [lm_head])");
        Path regex = Fixtures.adapterWith(MixFixture.B, tmp.resolve("regex"),
                Map.of("target_modules", "\".*\\\\.(q_proj|v_proj|down_proj)\""));
        refused(PeftException.class, () -> mix(CombinationType.CAT, MixOptions.defaults(), MixFixture.A, regex.toString()),
                "gives target_modules as a regex");
        Path layer0 = Fixtures.adapterWith(MixFixture.B, tmp.resolve("layer0"), Map.of("layers_to_transform", "[0]"));
        refused(PeftException.class, () -> mix(CombinationType.CAT, MixOptions.defaults(), MixFixture.A, layer0.toString()),
                "has layers_to_transform = [0]");
        Path bias = Fixtures.adapterWith(MixFixture.B, tmp.resolve("bias"), Map.of("bias", "\"lora_only\""));
        refused(PeftException.class, () -> mix(CombinationType.CAT, MixOptions.defaults(), MixFixture.A, bias.toString()),
                "trains biases (bias = lora_only)");
    }

    @Test
    void incompleteOrInconsistentAdapterFiles() {
        Path noB = rewritten(MixFixture.B, "no-b", tensors -> {
            tensors.remove("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight");
            return tensors;
        });
        refused(PeftException.class, () -> mix(CombinationType.CAT, MixOptions.defaults(), MixFixture.A, noB.toString()),
                "has lora_A but no lora_B for module base_model.model.model.layers.1.mlp.down_proj");
        Path wrongRank = Fixtures.adapterWith(MixFixture.B, tmp.resolve("r8"), Map.of("r", "8"));
        refused(PeftException.class, () -> mix(CombinationType.CAT, MixOptions.defaults(), MixFixture.A, wrongRank.toString()),
                "adapter_config.json gives rank 8");
    }

    /** A copy of the fixture adapter {@code source} with its tensors changed by {@code edit}. */
    private Path rewritten(String source, String name, UnaryOperator<Map<String, Tensor>> edit) {
        Path dir = tmp.resolve(name);
        try (AdapterFiles files = AdapterFiles.read(Fixtures.dir(source)); TensorScope scope = TensorScope.open()) {
            AdapterFiles.write(dir, files.config(), edit.apply(new LinkedHashMap<>(files.weights())), files.baseModelFacts());
        }
        return dir;
    }

    /** Mixes adapters given as hf-tiny-relative fixture names or absolute folders, all with weight 1. */
    private static void mix(CombinationType type, MixOptions options, String... adapters) {
        List<AdapterFiles> files = new ArrayList<>();
        try {
            List<WeightedAdapter> weighted = new ArrayList<>();
            for (String a : adapters) {
                files.add(AdapterFiles.read(a.startsWith("/") ? Path.of(a) : Fixtures.dir(a)));
                weighted.add(new WeightedAdapter(files.getLast(), 1));
            }
            AdapterMix.combine(weighted, type, options);
        } finally {
            files.forEach(AdapterFiles::close);
        }
    }

    private static void refused(Class<? extends Throwable> type, Executable call, String fragment) {
        Throwable e = assertThrows(type, call);
        assertTrue(e.getMessage().contains(fragment), "expected '" + fragment + "' in: " + e.getMessage());
    }
}
