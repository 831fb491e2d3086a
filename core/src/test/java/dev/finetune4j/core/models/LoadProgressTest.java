package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.tensor.Quantization;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LoadProgressTest {
    private long now;

    @Test
    void aLineEveryTenSecondsAndAClosingOne() {
        List<String> lines = new ArrayList<>();
        LoadProgress progress = new LoadProgress("m", 4_000_000_000L, () -> now, lines::add);
        now += TimeUnit.SECONDS.toNanos(6);
        progress.advance(1_000_000_000L);  // 6 s: quiet
        now += TimeUnit.SECONDS.toNanos(5);
        progress.advance(1_000_000_000L);  // 11 s since the start
        now += TimeUnit.SECONDS.toNanos(9);
        progress.advance(500_000_000L);    // 9 s since that line: quiet
        now += TimeUnit.SECONDS.toNanos(65);
        progress.advance(1_500_000_000L);
        progress.finish();
        assertEquals(List.of("loading m: 2.00 GB of 4.00 GB (50%) in 0:11", "loading m: 4.00 GB of 4.00 GB (100%) in 1:25",
                "loaded m: 4.00 GB in 1:25"), lines);
    }

    @Test
    void aQuickLoadSaysNothing() {
        List<String> lines = new ArrayList<>();
        LoadProgress progress = new LoadProgress("m", 10, () -> now, lines::add);
        now += TimeUnit.SECONDS.toNanos(9);
        progress.advance(10);
        progress.finish();
        assertEquals(List.of(), lines);
    }

    /** Every weight counts its checkpoint bytes once: all the file's tensor bytes, from its header's length. */
    @Test
    void theLoaderCountsEveryTensorOfTheCheckpoint() throws Exception {
        Path dir = Path.of(LoadProgressTest.class.getResource("/hf-tiny/llama").toURI());
        long header = Long.reverseBytes(readFirstLong(dir.resolve("model.safetensors")));
        long tensorBytes = Files.size(dir.resolve("model.safetensors")) - 8 - header;
        LoadProgress progress = new LoadProgress("llama", tensorBytes, System::nanoTime, line -> { });
        try (LanguageModel model = AutoModel.newCausalLM(AutoModel.readConfig(dir), TensorScope.detached(Device.meta()));
             TensorScope weights = TensorScope.detached(Device.cpu());
             SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            WeightLoader.load(model, ckpt, AutoModel::causalAlias, weights, null, Quantization.NONE, progress);
        }
        assertEquals(tensorBytes, progress.doneBytes());
    }

    private static long readFirstLong(Path file) throws Exception {
        try (var in = new java.io.DataInputStream(Files.newInputStream(file))) {
            return in.readLong();
        }
    }
}
