package dev.finetune4j.peft.lora;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.opaque.OpaqueBackendProvider;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftConfig;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.ia3.Ia3Config;
import org.junit.jupiter.api.Test;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DoRA's forward pass (its row norms), and merging DoRA and IA3 into the base weights, on a device whose memory
 * only its backend can reach: the logits are the CPU's, so none of it computes on host arrays of the device's
 * tensors or mixes in tensors made on the CPU.
 */
class AdaptersOnOpaqueDeviceTest {
    private static final long[][] IDS = {{1, 5, 9, 2, 7, 3}, {4, 4, 8, 1, 6, 2}};

    @Test
    void doraLogitsAndMergeEqualTheCpus() {
        PeftConfig dora = LoraConfig.builder().r(4).loraAlpha(8).targetModules("q_proj", "v_proj", "down_proj")
                .initLoraWeights(LoraInit.RANDOM).useDora(true).build();
        assertSameOnBothDevices(dora);
    }

    @Test
    void ia3MergeEqualsTheCpus() {
        PeftConfig ia3 = new Ia3Config(null, null, null, false, false, null, "CAUSAL_LM");
        assertSameOnBothDevices(ia3);
    }

    private static void assertSameOnBothDevices(PeftConfig config) {
        float[][] cpu = run(Device.cpu(), config);
        float[][] opaque = run(OpaqueBackendProvider.device(), config);
        for (int i = 0; i < cpu.length; i++) {
            assertArrayEquals(cpu[i], opaque[i], 1e-6f, "logits " + List.of("adapted", "merged", "unmerged").get(i));
        }
        assertTrue(maxAbsDiff(cpu[0], cpu[1]) < 1e-4, "merged logits differ from the adapter's by " + maxAbsDiff(cpu[0], cpu[1]));
    }

    /** Logits with the adapter, merged, then unmerged again, flattened. */
    private static float[][] run(Device device, PeftConfig config) {
        try (LanguageModel base = AutoModel.loadCausalLM(base(), LoadOptions.builder().device(device).build())) {
            PeftModel model = Peft.wrap(base, config, 7);
            float[] adapted = flat(model.logits(IDS, null));
            model.merge();
            float[] merged = flat(model.logits(IDS, null));
            model.unmerge();
            return new float[][]{adapted, merged, flat(model.logits(IDS, null))};
        }
    }

    private static Path base() {
        try {
            return Path.of(AdaptersOnOpaqueDeviceTest.class.getResource("/train/llama/base").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static float[] flat(float[][][] x) {
        int b = x.length;
        int t = x[0].length;
        int v = x[0][0].length;
        float[] out = new float[b * t * v];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                System.arraycopy(x[i][j], 0, out, (i * t + j) * v, v);
            }
        }
        return out;
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
