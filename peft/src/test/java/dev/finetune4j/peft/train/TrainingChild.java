package dev.finetune4j.peft.train;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;

import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * A training run in its own JVM for {@link ResumeTest}: {@code train|slow|resume <outputDir> <saveEvery> [checkpoint]}.
 * Trains tiny LLaMA + LoRA for 20 steps, then saves the adapter to {@code <outputDir>/final}. "slow" sleeps
 * after every step so that the parent can kill it while it writes checkpoints.
 */
public final class TrainingChild {
    static final int STEPS = 20;

    private TrainingChild() {
    }

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        Path out = Path.of(args[1]);
        TrainingConfig cfg = config(out, Integer.parseInt(args[2]));
        try (LanguageModel base = AutoModel.loadCausalLM(TrainTestSupport.resource("llama/base"))) {
            PeftModel model = Peft.loadTrainable(base, TrainTestSupport.resource("llama/adapter_init"));
            SftTrainer.Builder builder = SftTrainer.builder().model(model).config(cfg).trainData(data());
            if (mode.equals("slow")) {
                builder.listener(new TrainingListener() {
                    @Override
                    public void onStep(StepMetrics metrics) {
                        try {
                            Thread.sleep(150);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                });
            }
            SftTrainer trainer = builder.build();
            TrainResult result = mode.equals("resume") ? trainer.resume(Path.of(args[3])) : trainer.train();
            model.save(out.resolve("final"));
            System.out.println("done " + result.summary());
        }
    }

    static TrainingConfig config(Path out, int saveEvery) {
        return TrainingConfig.builder().maxSteps(STEPS).microBatchSize(4).gradientAccumulationSteps(2)
                .learningRate(5e-3).weightDecay(0.01).schedule(Schedule.LINEAR).warmupSteps(3).maxGradNorm(1.0)
                .shuffle(true).seed(7).saveEverySteps(saveEvery).keepLastCheckpoints(3).outputDir(out)
                .logEverySteps(0).build();
    }

    /** 16 random sequences of 6 to 13 tokens, the first 3 tokens without loss. */
    static TokenizedDataset data() {
        SplittableRandom random = new SplittableRandom(11);
        long[][] ids = new long[16][];
        long[][] labels = new long[16][];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = random.longs(6 + random.nextInt(8), 0, 256).toArray();
            labels[i] = ids[i].clone();
            java.util.Arrays.fill(labels[i], 0, 3, -100);
        }
        return TokenizedDataset.of(ids, labels);
    }
}
