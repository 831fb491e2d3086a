package dev.finetune4j.samples.quickstart;

import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.data.pipeline.PipelineOutputs;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.train.SftTrainer;
import dev.finetune4j.peft.train.TrainResult;
import dev.finetune4j.peft.train.TrainingConfig;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The quickstart's LoRA SFT for tests: its bundled data prepared into splits, a base model pretrained as
 * {@code settings} say, and {@link #train} with the quickstart's LoRA and schedule on any precision and device.
 */
final class QuickstartSft {
    private final Path dir;
    private final QuickstartSettings settings;
    private final List<QaExample> train;
    private final List<QaExample> validation;
    private final Path base;

    private QuickstartSft(Path dir, QuickstartSettings settings, List<QaExample> train, List<QaExample> validation,
                          Path base) {
        this.dir = dir;
        this.settings = settings;
        this.train = train;
        this.validation = validation;
        this.base = base;
    }

    /** Prepares the splits and pretrains the base model (on the CPU) under {@code dir}. */
    static QuickstartSft prepare(Path dir, QuickstartSettings settings) throws IOException {
        Workspace ws = new Workspace(dir.resolve("run"));
        ws.extractBundledData();
        DataStage.run(ws.raw(Workspace.SUPPORT), ws.data(), settings.seed());
        PipelineOutputs prepared = PipelineOutputs.open(ws.data());
        Path base = dir.resolve("base");
        BaseModelCache.ensure(base, ws.raw(Workspace.GENERAL), settings.pretraining(),
                new PrintStream(OutputStream.nullOutputStream()));
        return new QuickstartSft(dir, settings, QaExample.of(prepared.records("train")),
                QaExample.of(prepared.records("validation")), base);
    }

    /**
     * The quickstart's SFT of the base model on {@code device} in {@code precision}, its configuration changed by
     * {@code change} (e.g. a step limit).
     */
    TrainResult train(Precision precision, Device device, UnaryOperator<TrainingConfig.Builder> change) {
        Tokenizer tok = new ByteLevelTokenizer();
        TrainingConfig cfg = change.apply(SftStage.trainingConfig(settings, train.size(),
                dir.resolve(precision.name() + "-" + device.type())).toBuilder().precision(precision)).build();
        LoadOptions load = LoadOptions.builder().device(device).build();
        try (PeftModel model = Peft.wrap(AutoModel.loadCausalLM(base, load), SftStage.lora(settings), settings.seed())) {
            return SftTrainer.builder().model(model).config(cfg).padTokenId(ByteLevelTokenizer.PAD)
                    .trainData(QaExample.dataset(train, tok)).evalData(QaExample.dataset(validation, tok))
                    .build().train();
        }
    }
}
