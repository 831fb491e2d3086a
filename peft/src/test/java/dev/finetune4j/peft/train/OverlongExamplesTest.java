package dev.finetune4j.peft.train;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.prompt.PromptTuningConfig;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.LongStream;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Examples longer than the model's positions are refused when the trainer is built, naming the example. */
class OverlongExamplesTest {
    private static final TrainingConfig CFG = TrainingConfig.builder().maxSteps(1).microBatchSize(2).logEverySteps(0).build();

    @Test
    void sftAndDpoRefuseSequencesPastTheModelsPositions() {
        try (LanguageModel base = AutoModel.loadCausalLM(TrainTestSupport.resource("llama/base"))) {
            PeftModel model = Peft.loadTrainable(base, TrainTestSupport.resource("llama/adapter_init")); // 128 positions
            TokenizedDataset sft = TokenizedDataset.of(List.of(TokenizedExample.of(ids(10)), TokenizedExample.of(ids(129))));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SftTrainer.builder().model(model).config(CFG).trainData(sft).build());
            assertTrue(e.getMessage().contains("example 1 has 129 tokens") && e.getMessage().contains("at most 128"), e.getMessage());
            PreferenceDataset pairs = PreferenceDataset.of(List.of(new PreferenceExample(ids(100), ids(20), ids(40))));
            e = assertThrows(IllegalArgumentException.class,
                    () -> DpoTrainer.builder().model(model).config(CFG).trainData(pairs).build());
            assertTrue(e.getMessage().contains("pair 0") && e.getMessage().contains("140 tokens"), e.getMessage());
        }
    }

    @Test
    void promptTuningsVirtualTokensCountAgainstTheLimit() {
        try (LanguageModel base = AutoModel.loadCausalLM(TrainTestSupport.resource("llama/base"))) {
            PeftModel model = Peft.wrap(base, PromptTuningConfig.of(8));
            TokenizedDataset sft = TokenizedDataset.of(List.of(TokenizedExample.of(ids(125))));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SftTrainer.builder().model(model).config(CFG).trainData(sft).build());
            assertTrue(e.getMessage().contains("at most 120") && e.getMessage().contains("virtual tokens"), e.getMessage());
        }
    }

    private static long[] ids(int n) {
        return LongStream.range(0, n).map(i -> 1 + i % 200).toArray();
    }
}
