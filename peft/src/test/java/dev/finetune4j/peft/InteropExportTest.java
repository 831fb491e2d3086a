package dev.finetune4j.peft;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Writes adapters made by this library (random, non-zero weights) into {@code peft/target/interop/<case>}, each
 * with {@code expected.safetensors} (inputs, our logits with and without the padding mask) and {@code case.json}
 * (the base model folder), for the check that Python PEFT loads them and computes the same logits:
 * {@code python3 tools/reference/check_interop.py peft/target/interop OUT.json} on a machine with torch and peft.
 * The results are recorded in peft/INTEROP.md.
 */
class InteropExportTest {
    private static final List<String> ALL = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("llama-lora", "llama", LoraConfig.builder().r(8).loraAlpha(16).targetModules(ALL.toArray(String[]::new))
                        .initLoraWeights(LoraInit.RANDOM).build()),
                Arguments.of("llama-rslora-dora", "llama", LoraConfig.builder().r(4).loraAlpha(8).targetModules("q_proj", "v_proj", "down_proj")
                        .useRslora(true).useDora(true).initLoraWeights(LoraInit.RANDOM).build()),
                Arguments.of("qwen2-lora", "qwen2", LoraConfig.builder().r(8).loraAlpha(32).targetModules(ALL.toArray(String[]::new))
                        .initLoraWeights(LoraInit.RANDOM).build()),
                Arguments.of("gpt2-lora", "gpt2", LoraConfig.builder().r(4).loraAlpha(8).targetModules("c_attn", "c_proj", "c_fc")
                        .fanInFanOut(true).initLoraWeights(LoraInit.RANDOM).build()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void exportAdapterWithOurLogits(String name, String arch, PeftConfig config) throws Exception {
        Path out = Path.of("target", "interop", name).toAbsolutePath();
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir(arch))) {
            writeCase(out, arch, Peft.wrap(base, config, 2026));
        }
        assertTrue(Files.isRegularFile(out.resolve("adapter_model.safetensors")));
        assertTrue(Files.isRegularFile(out.resolve("adapter_config.json")));
    }

    /**
     * Writes one case of check_interop.py into {@code out}: {@code model}'s adapter, {@code expected.safetensors}
     * (the fixture's input ids and mask of {@code arch}, and the model's logits without and with the mask) and
     * {@code case.json} naming the base model folder from the repository root.
     */
    static void writeCase(Path out, String arch, PeftModel model) throws IOException {
        writeCase(out, "peft/src/test/resources/hf-tiny/" + arch, Fixtures.ids(arch, "input_ids"),
                Fixtures.ids(arch, "attention_mask"), model);
    }

    /**
     * {@link #writeCase(Path, String, PeftModel)} for a base model folder given by its path from the repository root
     * and the inputs to run.
     */
    static void writeCase(Path out, String base, long[][] ids, long[][] mask, PeftModel model) throws IOException {
        model.save(out);
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            Map<String, Tensor> expected = new LinkedHashMap<>();
            expected.put("input_ids", longs(ids));
            expected.put("attention_mask", longs(mask));
            expected.put("logits", model.forward(ModelInput.of(ids, null)));
            expected.put("logits_masked", model.forward(ModelInput.of(ids, mask)));
            SafetensorsWriter.write(out.resolve("expected.safetensors"), expected, Map.of("producer", "finetune4j"));
        }
        Files.writeString(out.resolve("case.json"), "{\"base\": \"" + base + "\"}");
    }

    static Tensor longs(long[][] v) {
        Tensor t = Tensor.zeros(TensorScope.current(), DType.I64, Shape.of(v.length, v[0].length));
        for (int i = 0; i < v.length; i++) {
            for (int j = 0; j < v[0].length; j++) {
                t.hostSegment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, (long) i * v[0].length + j, v[i][j]);
            }
        }
        return t;
    }
}
