package dev.finetune4j.it.readme;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.distributed.Collective;
import dev.finetune4j.core.distributed.LocalCollective;
import dev.finetune4j.core.distributed.SocketCollective;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.train.SftTrainer;
import dev.finetune4j.peft.train.TokenizedDataset;
import dev.finetune4j.peft.train.TrainResult;
import dev.finetune4j.peft.train.TrainingConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * README's data-parallel examples, as written: two ranks on threads on the CPU instead of two GPUs, and the
 * multi-process one as a world of one (the pom sets torchrun's variables).
 */
class DataParallelReadmeExamplesTest {

    @BeforeAll
    static void fixtures() throws Exception {
        Fixtures.layOut();
    }

    @Test
    void twoRanksOnThreads() throws Exception {
        Fixtures.delete(Path.of("runs/support"));
        List<Device> devices = List.of(Device.cpu(), Device.cpu());
        Path dir = Fixtures.tinyLlama();
        TrainingConfig cfg = TrainingConfig.builder().epochs(1).microBatchSize(2).learningRate(1e-3)
                .logEverySteps(0).build();
        TokenizedDataset data = TokenizedDataset.of(Fixtures.tokenIds(8, 10));
        // example README.md#18
        List<TrainResult> results = LocalCollective.runOnThreads(devices.size(), Duration.ofMinutes(30), rank -> {
            LoadOptions onItsDevice = LoadOptions.builder().device(devices.get(rank.rank())).build();
            try (LanguageModel base = AutoModel.loadCausalLM(dir, onItsDevice)) {
                PeftModel model = Peft.wrap(base, LoraConfig.builder().r(16).loraAlpha(32).build());
                TrainResult r = SftTrainer.builder().model(model).config(cfg).trainData(data)
                        .collective(rank).build().train();
                if (rank.rank() == 0) {
                    model.save(Path.of("runs/support/adapter"));   // every replica ends with the same weights
                }
                return r;
            }
        });
        // end example
        assertEquals(2, results.size());
        assertEquals(2, results.get(0).steps(), "8 examples, micro-batches of 2, two ranks: 2 steps");
        assertEquals(results.get(0).lossHistory(), results.get(1).lossHistory(), "both ranks report the summed loss");
        assertTrue(Files.isRegularFile(Path.of("runs/support/adapter/adapter_model.safetensors")));
    }

    @Test
    void aProcessJoinsThroughTorchrunsVariables() throws Exception {
        Fixtures.delete(Path.of("runs/support"));
        Device device = Device.cpu();
        Path dir = Fixtures.tinyLlama();
        TrainingConfig cfg = TrainingConfig.builder().epochs(1).microBatchSize(4).learningRate(1e-3)
                .logEverySteps(0).build();
        TokenizedDataset data = TokenizedDataset.of(Fixtures.tokenIds(8, 10));
        // example README.md#19
        try (Collective ranks = SocketCollective.fromEnvironment();   // RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
             LanguageModel base = AutoModel.loadCausalLM(dir, LoadOptions.builder().device(device).build())) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(16).loraAlpha(32).build());
            TrainResult r = SftTrainer.builder().model(model).config(cfg).trainData(data)
                    .collective(ranks).build().train();
            if (ranks.rank() == 0) {
                model.save(Path.of("runs/support/adapter"));
            }
        }
        // end example
        assertTrue(Files.isRegularFile(Path.of("runs/support/adapter/adapter_model.safetensors")));
    }
}
