package dev.finetune4j.peft.train;

import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.ReferenceData;
import dev.finetune4j.core.models.Gemma3MultimodalFolders;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.qlora.QloraInjector;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every PEFT method trains the language model of a Gemma3ForConditionalGeneration folder (core's
 * Gemma3MultimodalFolders), saves an adapter whose module keys carry transformers 5's multimodal paths
 * ({@code base_model.model.model.language_model.layers.N...}), and loads back to the same logits.
 */
class Gemma3MultimodalMethodsTest {
    private static final int STEPS = 12;
    @TempDir
    static Path folders;
    private static Path base;

    @BeforeAll
    static void writeFolder() throws Exception {
        base = Gemma3MultimodalFolders.write(folders.resolve("gemma3"), Gemma3MultimodalFolders.Names.TRANSFORMERS_5);
    }

    @ParameterizedTest
    @EnumSource(EveryMethodTrainsTest.Method.class)
    void trainsSavesAndReloads(EveryMethodTrainsTest.Method method, @TempDir Path tmp) throws Exception {
        long[][] ids = {{5, 9, 13, 17, 21, 25}};
        float[][][] baseLogits;
        float[][][] trainedLogits;
        try (LanguageModel lm = AutoModel.loadCausalLM(base, ReferenceData.f32(Device.cpu()))) {
            baseLogits = lm.logits(ids, null);
            PeftModel model = method.wrap.apply(lm);
            double lr = method == EveryMethodTrainsTest.Method.PROMPT ? 0.1 : 1e-2;
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(STEPS).microBatchSize(3).learningRate(lr)
                    .schedule(Schedule.CONSTANT).shuffle(false).seed(1).logEverySteps(0).build();
            List<Double> losses = SftTrainer.builder().model(model).config(cfg)
                    .trainData(EveryMethodTrainsTest.sftData(1)).build().train().lossHistory();
            assertTrue(losses.get(STEPS - 2) + losses.get(STEPS - 1) < 0.98 * (losses.get(0) + losses.get(1)),
                    method + ": loss " + losses);
            trainedLogits = model.logits(ids, null);
            assertFalse(Arrays.equals(baseLogits[0][5], trainedLogits[0][5]), method + ": the adapter changes the logits");
            model.save(tmp);
        }
        try (SafetensorsFile saved = SafetensorsFile.open(tmp.resolve("adapter_model.safetensors"))) {
            List<String> moduleKeys = saved.names().stream().filter(n -> n.startsWith("base_model.model.")).toList();
            boolean virtualTokens = method.name().startsWith("PREFIX") || method == EveryMethodTrainsTest.Method.PROMPT;
            assertEquals(virtualTokens, moduleKeys.isEmpty(), method + ": " + saved.names());
            assertTrue(moduleKeys.stream().allMatch(n -> n.startsWith("base_model.model.model.language_model.layers.")),
                    method + ": " + moduleKeys);
        }
        try (LanguageModel lm = AutoModel.loadCausalLM(base, ReferenceData.f32(Device.cpu()))) {
            boolean quantized = method == EveryMethodTrainsTest.Method.QLORA || method == EveryMethodTrainsTest.Method.QDORA;
            PeftModel loaded = quantized ? QloraInjector.load(lm, tmp) : Peft.load(lm, tmp);
            float[][][] again = loaded.logits(ids, null);
            for (int t = 0; t < ids[0].length; t++) {
                assertArrayEquals(trainedLogits[0][t], again[0][t], 1e-5f, method + " position " + t);
            }
        }
    }
}
