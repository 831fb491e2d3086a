package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.cuda.CudaTestDevices;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.train.Schedule;
import dev.finetune4j.peft.train.SftTrainer;
import dev.finetune4j.peft.train.TokenizedDataset;
import dev.finetune4j.peft.train.TokenizedExample;
import dev.finetune4j.peft.train.TrainingConfig;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * An adapter trained on each CUDA device of {@link CudaTestDevices} loads into Python PEFT and reproduces our logits
 * (issue 17): LoRA on all seven projections of hf-tiny llama, three SFT steps on the device, saved with our logits on
 * the device; tools/reference/check_interop.py loads base and adapter in transformers + PEFT, on the GPU when the
 * device is one, and compares. Skipped where python3 cannot import torch, transformers and peft (the GPU machine
 * has them), or outside the repository (the script and the base model are found from its root).
 */
class InteropOnCudaTest {
    private static final String SCRIPT = "tools/reference/check_interop.py";
    private static final double TOLERANCE = 1e-4;

    @TempDir
    Path dir;

    @ParameterizedTest
    @MethodSource(CudaTestDevices.NAMES)
    void anAdapterTrainedOnTheDeviceGivesOurLogitsInPythonPeft(String name) throws Exception {
        Device device = CudaTestDevices.require(name);
        Optional<Path> root = repositoryRoot();
        assumeTrue(root.isPresent(), () -> SCRIPT + " not found above " + Path.of("").toAbsolutePath());
        Optional<String> noPeft = pythonPeftMissing(root.get());
        assumeTrue(noPeft.isEmpty(), () -> "python3 cannot run Python PEFT here: " + noPeft.orElse(""));

        Path cases = dir.resolve("cases");
        int adapterTensors;
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"),
                LoadOptions.builder().device(device).build())) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(8).loraAlpha(16).loraDropout(0)
                    .targetModules("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
                    .build(), 7);
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(3).microBatchSize(2).learningRate(1e-2)
                    .schedule(Schedule.CONSTANT).shuffle(false).seed(7).logEverySteps(0).build();
            SftTrainer.builder().model(model).config(cfg).trainData(randomRows(base.vocabSize())).build().train();
            InteropExportTest.writeCase(cases.resolve("llama-lora-trained-on-" + device.type()), "llama", model);
            adapterTensors = model.trainableParameters().size();
        }

        Path out = dir.resolve("interop.json");
        String log = run(root.get(), 300, dir.resolve("check_interop.log"), "python3", SCRIPT, cases.toString(),
                out.toString(), device.type().equals("cuda") ? "cuda" : "cpu");
        JsonNode result = new ObjectMapper().readTree(out.toFile()).get("cases")
                .get("llama-lora-trained-on-" + device.type());
        assertTrue(result.get("loaded").asBoolean(), () -> "Python PEFT did not load the adapter: " + result + "\n" + log);
        assertEquals(adapterTensors, result.get("adapter_tensors").asInt(), result::toString);
        assertTrue(result.get("max_abs_diff_logits").asDouble() <= TOLERANCE, result::toString);
        assertTrue(result.get("max_abs_diff_logits_masked").asDouble() <= TOLERANCE, result::toString);
        System.out.println("Python PEFT with an adapter trained on " + device + ": " + result);
    }

    /** Four rows of twelve random token ids, the loss on all but the first three. */
    private static TokenizedDataset randomRows(int vocab) {
        SplittableRandom random = new SplittableRandom(11);
        List<TokenizedExample> rows = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            long[] ids = random.longs(12, 1, vocab).toArray();
            long[] labels = ids.clone();
            Arrays.fill(labels, 0, 3, -100);
            rows.add(new TokenizedExample(ids, labels, null));
        }
        return TokenizedDataset.of(rows);
    }

    /** The nearest folder at or above the working directory that holds {@link #SCRIPT}. */
    private static Optional<Path> repositoryRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve(SCRIPT))) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** Why python3 cannot import torch, transformers and peft, if it cannot. */
    private Optional<String> pythonPeftMissing(Path root) {
        try {
            run(root, 120, dir.resolve("imports.log"), "python3", "-c", "import torch, transformers, peft");
            return Optional.empty();
        } catch (IOException | IllegalStateException e) {
            return Optional.of(e.getMessage());
        }
    }

    /**
     * Runs a command in {@code root} with its output in {@code log}; the output, or an exception with it when the
     * command fails or outlasts the limit.
     */
    private static String run(Path root, int seconds, Path log, String... command) throws IOException {
        Process p = new ProcessBuilder(command).directory(root.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        try {
            boolean done = p.waitFor(seconds, TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly();
            }
            String output = Files.readString(log);
            if (!done) {
                throw new IllegalStateException(String.join(" ", command) + " ran past " + seconds + " s:\n" + output);
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " exited with " + p.exitValue() + ":\n"
                        + output.strip());
            }
            return output;
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + command[0], e);
        }
    }
}
