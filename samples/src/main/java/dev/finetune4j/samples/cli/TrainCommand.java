package dev.finetune4j.samples.cli;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.cuda.NcclCollective;
import dev.finetune4j.core.distributed.Collective;
import dev.finetune4j.core.distributed.SocketCollective;
import dev.finetune4j.core.io.AtomicDirectory;
import dev.finetune4j.core.models.ClassifierConfig.ProblemType;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.SequenceClassifierModule;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.peft.PeftClassifier;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.TrainableReport;
import dev.finetune4j.peft.train.Checkpoints;
import dev.finetune4j.peft.train.ClassificationTrainer;
import dev.finetune4j.peft.train.DpoConfig;
import dev.finetune4j.peft.train.DpoTrainer;
import dev.finetune4j.peft.train.EvalMetrics;
import dev.finetune4j.peft.train.GrpoConfig;
import dev.finetune4j.peft.train.KtoConfig;
import dev.finetune4j.peft.train.KtoTrainer;
import dev.finetune4j.peft.train.OrpoConfig;
import dev.finetune4j.peft.train.ReferenceFreeConfig;
import dev.finetune4j.peft.train.ReferenceFreeTrainer;
import dev.finetune4j.peft.train.RewardConfig;
import dev.finetune4j.peft.train.RewardTrainer;
import dev.finetune4j.peft.train.Schedule;
import dev.finetune4j.peft.train.SftTrainer;
import dev.finetune4j.peft.train.SimpoConfig;
import dev.finetune4j.peft.train.StopReason;
import dev.finetune4j.peft.train.TrainResult;
import dev.finetune4j.peft.train.Trainer;
import dev.finetune4j.peft.train.TrainerBuilder;
import dev.finetune4j.peft.train.TrainingConfig;
import dev.finetune4j.samples.quickstart.ProgressLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/**
 * {@code finetune4j train}: SFT, DPO, ORPO, SimPO, KTO or GRPO with a PEFT method on a local Hugging Face model folder, or
 * a sequence classifier's ({@code task: classification}) or reward model's ({@code task: reward}) adapter and head.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Fine-tune a local Hugging Face model with a PEFT method (SFT, DPO, ORPO, SimPO, KTO or GRPO, or a "
                + "classifier with task: classification, or a reward model with task: reward) as a config file "
                + "describes.",
                "Writes the adapter in PEFT's format to <output>/adapter and resumable checkpoints to "
                        + "<output>/checkpoints (--resume continues from the newest); prints one progress line per step "
                        + "range and the final summary."},
        footer = {"", "Config example (train.yaml; paths relative to the file):",
                "  model: models/Qwen2.5-0.5B-Instruct   # config.json + model.safetensors (+ tokenizer.json)",
                "  tokenizer: null                       # default: the model folder's; or byte-level",
                "  objective: sft                        # sft | dpo | orpo | simpo | kto | grpo",
                "  method: lora                          # lora | dora | qlora | ia3 | prefix | prompt | adapter | freeze",
                "  peft: {r: 16, lora_alpha: 32, lora_dropout: 0.05, target_modules: [q_proj, v_proj]}",
                "  data: {train: prepared/train.jsonl, validation: prepared/validation.jsonl,",
                "         prompt_field: instruction, response_field: output, prompt_template: chat, max_length: 512}",
                "  # no prompt_field/response_field and conversation rows (OpenAI messages with optional tools,",
                "  # or ShareGPT conversations with function_call/observation turns and tools): the model's chat",
                "  # template, assistant turns and tool calls trained",
                "  training: {epochs: 3, micro_batch_size: 4, gradient_accumulation_steps: 4, learning_rate: 2.0e-4,",
                "             schedule: cosine, warmup_ratio: 0.03, eval_every_steps: 50, early_stopping_patience: 3,",
                "             save_every_steps: 50, keep_last_checkpoints: 3,   # default 0 keeps every checkpoint (the best always)",
                "             precision: auto, gradient_checkpointing: false}   # f32 | bf16-mixed | auto (bf16-mixed on a GPU)",
                "  dpo: {beta: 0.1, loss: sigmoid, label_smoothing: 0.0}   # objective: dpo; rows prompt/chosen/rejected",
                "  orpo: {beta: 0.1}                     # objective: orpo (no reference model, no SFT stage); rows as dpo",
                "  simpo: {beta: 0.1, simpo_gamma: 0.5, cpo_alpha: 1.0, label_smoothing: 0.0}   # objective: simpo; "
                        + "TRL's CPOConfig defaults, cpo_alpha: 0 for SimPO as published",
                "  kto: {beta: 0.1, desirable_weight: 1.0, undesirable_weight: 1.0}   # objective: kto; rows",
                "  # prompt/completion/label (label true: desirable); kto needs training.micro_batch_size >= 2",
                "  grpo: {num_generations: 8, max_completion_length: 256, temperature: 1.0, beta: 0.0, loss_type: dapo,",
                "         scale_rewards: group, mask_truncated_completions: false, num_iterations: 1,   # TRL's GRPOConfig",
                "         # names and defaults; num_iterations: optimizer steps each generation serves (epochs take as many more)",
                "         rewards: [{type: json_valid}, {type: regex, pattern: \"^\\\\{\", weight: 0.5},",
                "                   {type: length, target: 200}, {type: exact_match},",
                "                   {type: reward_model, model: rm-base, adapter: rm-run/adapter, weight: 2}]}",
                "                                        # objective: grpo; rows",
                "  # prompt (+ answer for exact_match); micro_batch_size counts prompts; a validation file of such",
                "  # rows is sampled and scored every eval_every_steps (the best adapter: the highest mean reward)",
                "  output: runs/qa",
                "Classification (rows {\"text\": ..., \"label\": ...}; a decoder model gets a new score head for the labels):",
                "  task: classification",
                "  labels: [billing, refund, other]      # default: the model's id2label",
                "  problem_type: multi_label_classification   # optional: rows {\"text\": ..., \"labels\": [...]}, any number",
                "  data: {train: tickets/train.jsonl, validation: tickets/validation.jsonl, max_length: 256}",
                "  # sentence pairs (NLI, duplicate questions, query/passage): rows {\"text\": ..., \"text_pair\": ..., \"label\": ...},",
                "  # encoded with the tokenizer's pair template; other field names: data.text_field, data.text_pair_field",
                "Reward model (rows as dpo; a decoder model gets a new one-label score head):",
                "  task: reward",
                "  reward: {center_rewards_coefficient: 0.01}   # default 0 (none), TRL's RewardConfig",
                "peft keys: the method's adapter_config.json fields under PEFT's names, for example lora/dora/qlora "
                        + "r, lora_alpha (default 16), lora_dropout, target_modules (list or regex), use_rslora, "
                        + "modules_to_save, layers_to_transform, rank_pattern; ia3 target_modules, feedforward_modules; "
                        + "prefix num_virtual_tokens (default 16), prefix_projection, encoder_hidden_size; prompt "
                        + "num_virtual_tokens (default 16); adapter placement (houlsby|pfeiffer), reduction_factor, "
                        + "non_linearity; freeze top_layers, trainable_names.",
                "", "Exit codes: 0 done, 1 failed while running (e.g. training diverged), 2 bad input."})
final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "Training config, .yaml/.yml or .json.")
    Path config;

    @Option(names = {"-o", "--output"}, paramLabel = "DIR", description = "Output folder; overrides the config's 'output'.")
    Path output;

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "auto", converter = DeviceOption.Converter.class,
            description = "Where the model trains: " + DeviceOption.DESCRIPTION)
    DeviceOption device;

    @Option(names = "--overwrite", description = "Replace the adapter and checkpoints of an earlier run in the output folder.")
    boolean overwrite;

    @Option(names = "--resume", description = "Continue the run in the output folder from its newest complete checkpoint "
            + "(same config and data): it ends as an uninterrupted run would, bit for bit.")
    boolean resume;

    @Option(names = "--distributed", description = "Train as one rank of a data-parallel run of processes (one per GPU, "
            + "on one or many machines), started as torchrun starts them: RANK, WORLD_SIZE, MASTER_ADDR and "
            + "MASTER_PORT (each overridden by its FINETUNE4J_ prefixed twin), FINETUNE4J_DIST_TOKEN (a shared secret) "
            + "and FINETUNE4J_DIST_TIMEOUT (seconds, default 1800). --device auto is cuda:$LOCAL_RANK on a GPU machine; "
            + "GPUs sum with NCCL when it is installed. micro_batch_size and gradient_accumulation_steps count per "
            + "rank; rank 0 writes the output folder, which --resume reads on every rank.")
    boolean distributed;

    /** Where {@code --distributed} reads its variables: the process environment (a test's map in tests). */
    Map<String, String> environment = System.getenv();

    /** This run's data-parallel group: alone unless {@code --distributed}. */
    private Collective ranks = Collective.single();

    @Override
    public Integer call() throws IOException {
        Device target = device.resolve();
        if (!distributed) {
            return train(target);
        }
        Device own = DistributedRun.device(device, target, environment);
        try (SocketCollective sockets = DistributedRun.join(environment)) {
            Optional<NcclCollective> nccl = DistributedRun.onDevice(sockets, own, spec.commandLine().getOut());
            try (Collective onGpus = nccl.orElse(null)) {
                ranks = onGpus != null ? onGpus : sockets;
                return train(own);
            }
        }
    }

    /** Reads the config and trains on {@code target}, as rank {@link #ranks} of the run. */
    private int train(Device target) throws IOException {
        TrainConfig c = ConfigFiles.read(config, TrainConfig.class);
        Path base = config.toAbsolutePath().getParent();
        if (c.model() == null) {
            throw new BadInputException("'model' is missing: give the path of a local Hugging Face model folder");
        }
        if (c.data() == null || c.data().train() == null) {
            throw new BadInputException("'data.train' is missing: give the training JSONL file");
        }
        Path out = output != null ? output : base.resolve(c.output() == null ? "finetune4j-run" : c.output());
        Path checkpoint = resumeFrom(out);
        // rank 0 has checked the output folder: a refusal there reaches the other ranks here, before they load
        ranks.barrier();
        String task = c.task() == null ? "generation" : c.task();
        if (!List.of("generation", "classification", "reward").contains(task)) {
            throw new BadInputException("'task' is '" + task + "'; use generation, classification or reward");
        }
        boolean classification = task.equals("classification");
        if (!task.equals("generation") && (c.objective() != null || c.dpo() != null || c.orpo() != null
                || c.simpo() != null || c.kto() != null || c.grpo() != null)) {
            throw new BadInputException("task: " + task + " trains with its own loss; remove 'objective' and its section "
                    + "('dpo', 'orpo', 'simpo', 'kto' or 'grpo')");
        }
        if (!classification && (c.labels() != null || c.problemType() != null)) {
            throw new BadInputException("'labels' and 'problem_type' are settings of task: classification; add it, or "
                    + "remove them");
        }
        String objective = c.objective() == null ? "sft" : c.objective();
        if (!List.of("sft", "dpo", "orpo", "simpo", "kto", "grpo").contains(objective)) {
            throw new BadInputException("'objective' is '" + objective + "'; use sft, dpo, orpo, simpo, kto or grpo");
        }
        TrainConfig.Training t = c.training() == null
                ? new TrainConfig.Training(null, null, null, null, null, null, null, null, null, null, null, null, null, null,
                        null, null, null)
                : c.training();
        requireValidationWhereUsed(t, c.data().validation() != null);
        TrainingConfig cfg = trainingConfig(t, target, out.resolve("checkpoints"));
        DpoConfig dpo = objective.equals("dpo") ? dpoConfig(c.dpo()) : null;
        ReferenceFreeConfig referenceFree = referenceFreeConfig(objective, c.orpo(), c.simpo());
        KtoConfig kto = objective.equals("kto") ? ktoConfig(c.kto()) : null;
        GrpoConfig grpo = objective.equals("grpo") ? GrpoSettings.config(c.grpo(), base) : null;
        RewardConfig reward = task.equals("reward") ? rewardConfig(c.reward()) : null;
        Path modelDir = base.resolve(c.model());
        Tokenizer tok = ModelInputs.loadTokenizer(c.tokenizer() == null ? null
                : c.tokenizer().equals(ModelInputs.BYTE_LEVEL) ? c.tokenizer() : base.resolve(c.tokenizer()).toString(), modelDir);
        if (classification) {
            classify(c, modelDir, tok, target, cfg, base, out, checkpoint);
            return ExitCodes.OK;
        }
        if (reward != null) {
            rewardModel(c, reward, modelDir, tok, target, cfg, base, out, checkpoint);
            return ExitCodes.OK;
        }
        long pad = tok.padTokenId().orElse(tok.eosTokenId().orElse(0));
        LanguageModel model = ModelInputs.loadForTraining(modelDir, target, PeftMethods.quantizesBase(c.method()));
        PeftModel wrapped;
        try {
            ModelInputs.requireSameVocabulary(tok, model, modelDir);
            wrapped = PeftMethods.wrap(model, c.method(), c.peft(), cfg.seed());
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        try (PeftModel peft = wrapped) {
            TrainData data = new TrainData(tok, c.data().promptTemplate(), maxLength(c.data(), peft.maxPositionEmbeddings()),
                    spec.commandLine().getErr());
            // NOTE: the data is read first, so that data which is bad input leaves an earlier run's files in place
            if (grpo != null) {
                TrainData.GrpoRows rows = data.grpo(base.resolve(c.data().train()));
                TrainData.GrpoRows validation = c.data().validation() == null ? null
                        : data.grpo(base.resolve(c.data().validation()));
                try (GrpoRewards.Loaded rewards = GrpoRewards.load(c.grpo().rewards(),
                        GrpoSettings.answers(rows, validation, c.data().validation()), base, target)) {
                    run(GrpoSettings.build(ranked(GrpoSettings.builder(peft, cfg, grpo, rewards.functions(), tok, rows,
                            validation, pad), "grpo")), peft.trainableReport(), peft::save, target, cfg, out, checkpoint);
                }
                return ExitCodes.OK;
            }
            Trainer trainer = dpo != null ? dpo(peft, cfg, dpo, data, c.data(), base, pad)
                    : referenceFree != null ? referenceFree(peft, cfg, referenceFree, objective, data, c.data(), base, pad)
                    : kto != null ? kto(peft, cfg, kto, data, c.data(), base, pad)
                    : sft(peft, cfg, data, c.data(), base, pad);
            run(trainer, peft.trainableReport(), peft::save, target, cfg, out, checkpoint);
        }
        return ExitCodes.OK;
    }

    /**
     * {@code task: classification}: the model folder's classifier (a decoder gets a new head for the labels), the
     * method's adapter around it, {@code {"text", "label"}} rows (sentence pairs: with {@code "text_pair"}, or the
     * fields {@code data.text_field} and {@code data.text_pair_field} name).
     */
    private void classify(TrainConfig c, Path modelDir, Tokenizer tok, Device target, TrainingConfig cfg, Path base,
                          Path out, Path checkpoint) throws IOException {
        if (c.labels() != null && (c.labels().isEmpty() || c.labels().stream().distinct().count() != c.labels().size())) {
            throw new BadInputException("'labels' must name each class once, got " + c.labels());
        }
        try (SequenceClassifierModule model = ClassifierInputs.load(modelDir, target, c.labels(), c.problemType(), tok)) {
            requireTokenizerFits(tok, model, modelDir);
            List<String> labels = model.classifierConfig().id2label();
            boolean multiLabel = model.classifierConfig().problemType() == ProblemType.MULTI_LABEL_CLASSIFICATION;
            PeftClassifier peft = PeftMethods.wrapClassifier(model, c.method(), c.peft());
            int maxLength = maxLength(c.data(), model.spec().maxPositionEmbeddings());
            Path trainFile = base.resolve(c.data().train());
            var fields = ClassifierInputs.Fields.of(c.data().textField(), c.data().textPairField());
            ClassificationTrainer.Builder b = ranked(ClassificationTrainer.builder().model(peft).config(cfg)
                    .trainData(ClassifierInputs.dataset(ClassifierInputs.rows(trainFile, labels, multiLabel, fields), tok,
                            maxLength, trainFile)), "classification");
            if (c.data().validation() != null) {
                Path file = base.resolve(c.data().validation());
                b.evalData(ClassifierInputs.dataset(ClassifierInputs.rows(file, labels, multiLabel, fields), tok, maxLength,
                        file));
            }
            ClassificationTrainer trainer;
            try {
                trainer = b.build();
            } catch (IllegalArgumentException e) {
                throw new BadInputException(e.getMessage(), e);
            }
            spec.commandLine().getOut().println((multiLabel ? "classes (multi-label): " : "classes: ") + labels);
            run(trainer, peft.trainableReport(), peft::save, target, cfg, out, checkpoint);
        }
    }

    /**
     * {@code task: reward}: the model folder as a one-label classifier (a decoder gets a new {@code score} head), the
     * method's adapter around it, and the pair rows DPO reads ({@code {"prompt", "chosen", "rejected"}}).
     */
    private void rewardModel(TrainConfig c, RewardConfig reward, Path modelDir, Tokenizer tok, Device target,
                             TrainingConfig cfg, Path base, Path out, Path checkpoint) throws IOException {
        try (SequenceClassifierModule model = ClassifierInputs.load(modelDir, target, List.of("reward"), null, tok)) {
            requireTokenizerFits(tok, model, modelDir);
            PeftClassifier peft = PeftMethods.wrapClassifier(model, c.method(), c.peft());
            TrainData data = new TrainData(tok, c.data().promptTemplate(),
                    maxLength(c.data(), model.spec().maxPositionEmbeddings()), spec.commandLine().getErr());
            RewardTrainer.Builder b = ranked(RewardTrainer.builder().model(peft).config(cfg).reward(reward)
                    .trainData(data.dpo(base.resolve(c.data().train()))), "reward");
            if (c.data().validation() != null) {
                b.evalData(data.dpo(base.resolve(c.data().validation())));
            }
            RewardTrainer trainer;
            try {
                trainer = b.build();
            } catch (IllegalArgumentException e) {
                throw new BadInputException(e.getMessage(), e);
            }
            run(trainer, peft.trainableReport(), peft::save, target, cfg, out, checkpoint);
        }
    }

    private static void requireTokenizerFits(Tokenizer tok, SequenceClassifierModule model, Path modelDir) {
        if (tok.vocabSize() > model.spec().vocabSize()) {
            throw new BadInputException("the tokenizer has " + tok.vocabSize() + " tokens, but the model in "
                    + modelDir.toAbsolutePath() + " has " + model.spec().vocabSize() + "; use the model's tokenizer.json");
        }
    }

    /** Trains or resumes, prints the summary and saves the adapter the run calls best into {@code out/adapter}. */
    private void run(Trainer trainer, TrainableReport trainable, Consumer<Path> save, Device target, TrainingConfig cfg,
                     Path out, Path checkpoint) throws IOException {
        if (overwrite && ranks.rank() == 0) {
            deleteEarlierRun(out);
        }
        spec.commandLine().getOut().println("trainable: " + trainable);
        spec.commandLine().getOut().println("on " + target + " in " + PrecisionOption.label(cfg.precision())
                + (cfg.gradientCheckpointing() ? ", with gradient checkpointing" : ""));
        spec.commandLine().getOut().flush();
        if (checkpoint != null) {
            spec.commandLine().getOut().println("resuming from " + checkpoint.toAbsolutePath());
        }
        try (StopAfterStep _ = new StopAfterStep(spec.commandLine().getErr())) {
            // an interrupted trainer leaves the flag set; the adapter is still written (core's file work is
            // InterruptSafe)
            TrainResult r = checkpoint == null ? trainer.train() : trainer.resume(checkpoint);
            spec.commandLine().getOut().println(r.summary());
            spec.commandLine().getOut().println(ranks.rank() == 0 ? saveAdapter(save, r, out.resolve("adapter"))
                    : "rank 0 writes the adapter (every rank's replica holds the same weights)");
            if (r.stopReason() == StopReason.INTERRUPTED && r.lastCheckpoint() != null) {
                spec.commandLine().getOut().println("stopped at " + r.lastCheckpoint().getFileName()
                        + "; continue with: finetune4j train --resume -c " + config);
            }
            spec.commandLine().getOut().flush();
        }
    }

    /**
     * The checkpoint {@code --resume} continues from, or null for a new run, whose output must be fresh: checked
     * before the model loads. A folder holding an earlier run's checkpoints names both ways on.
     */
    private Path resumeFrom(Path out) {
        Path checkpoints = out.resolve("checkpoints");
        Optional<Path> latest = Checkpoints.latest(checkpoints);
        if (resume) {
            if (overwrite) {
                throw new BadInputException("--resume continues the run in " + out.toAbsolutePath() + " and --overwrite "
                        + "starts it again; pass one of them");
            }
            return latest.orElseThrow(() -> new BadInputException("--resume: no complete checkpoint under "
                    + checkpoints.toAbsolutePath() + "; a run writes one every training.save_every_steps steps (and at "
                    + "its end). Start the run without --resume"));
        }
        if (ranks.rank() != 0) { // rank 0 owns the output folder and checks it
            return null;
        }
        if (latest.isPresent() && !overwrite) {
            throw new BadInputException("output folder " + out.toAbsolutePath() + " holds an earlier run's checkpoints "
                    + "(newest: " + latest.get().getFileName() + "); pass --resume to continue that run, --overwrite to "
                    + "start again, or choose another folder");
        }
        OutputFolder.requireFresh(out, overwrite);
        return null;
    }

    /** data.max_length (default: the model's limit), refused beyond the positions the model has. */
    private static int maxLength(TrainConfig.Data d, int modelLimit) {
        if (d.maxLength() == null) {
            return Math.min(1024, modelLimit);
        }
        if (d.maxLength() < 1 || d.maxLength() > modelLimit) {
            throw new BadInputException("'data.max_length' is " + d.maxLength() + ", but the model (with this method) "
                    + "reads at most " + modelLimit + " tokens (max_position_embeddings); set it to " + modelLimit
                    + " or less");
        }
        return d.maxLength();
    }

    /**
     * Writes the adapter the run calls best: the checkpoint of the best evaluation when one was kept, else the
     * final weights; returns the line that says which.
     */
    private static String saveAdapter(Consumer<Path> save, TrainResult r, Path dir) throws IOException {
        Path best = r.best().orElse(null);
        if (best != null && !r.evalHistory().isEmpty() && !best.equals(r.lastCheckpoint())) {
            Path staged = dir.resolveSibling("." + dir.getFileName() + ".tmp");
            AtomicDirectory.deleteTree(staged);
            Files.createDirectories(staged);
            try (var files = Files.list(best.resolve("adapter"))) {
                for (Path f : files.toList()) {
                    Files.copy(f, staged.resolve(f.getFileName()));
                }
            }
            AtomicDirectory.replace(staged, dir, dir.resolveSibling("." + dir.getFileName() + ".old"));
            // GRPO's best evaluation is the one with the highest mean reward
            Double reward = r.evalHistory().stream().filter(EvalMetrics::improved).toList().getLast().extra().get("reward");
            return "adapter of the best evaluation (" + best.getFileName()
                    + (reward == null ? "" : String.format(Locale.ROOT, ", mean reward %.4f", reward)) + ", validation loss "
                    + String.format(Locale.ROOT, "%.4f", r.bestEvalLoss()) + "), PEFT format: " + dir.toAbsolutePath();
        }
        save.accept(dir);
        return "adapter after the last step (" + r.steps() + "), PEFT format: " + dir.toAbsolutePath();
    }

    /** What an earlier run wrote here, removed under --overwrite so its checkpoints cannot mix with this run's. */
    private static void deleteEarlierRun(Path out) throws IOException {
        AtomicDirectory.deleteTree(out.resolve("adapter"));
        AtomicDirectory.deleteTree(out.resolve("checkpoints"));
    }

    /**
     * {@code builder} as every trainer of this command has it: in the data-parallel group of {@code --distributed}
     * (alone without it), and with the progress line on rank 0.
     */
    private <B extends TrainerBuilder<B, ?, ?>> B ranked(B builder, String objective) {
        builder.collective(ranks);
        return ranks.rank() == 0 ? builder.listener(new ProgressLine(objective)) : builder;
    }

    private Trainer sft(PeftModel m, TrainingConfig cfg, TrainData data, TrainConfig.Data d, Path base, long pad) {
        SftTrainer.Builder b = ranked(SftTrainer.builder().model(m).config(cfg).padTokenId(pad)
                .trainData(data.sft(base.resolve(d.train()), d.promptField(), d.responseField())), "sft");
        if (d.validation() != null) {
            b.evalData(data.sft(base.resolve(d.validation()), d.promptField(), d.responseField()));
        }
        return b.build();
    }

    private Trainer dpo(PeftModel m, TrainingConfig cfg, DpoConfig dpo, TrainData data, TrainConfig.Data d, Path base,
                        long pad) {
        DpoTrainer.Builder b = ranked(DpoTrainer.builder().model(m).config(cfg).dpo(dpo).padTokenId(pad)
                .trainData(data.dpo(base.resolve(d.train()))), "dpo");
        if (d.validation() != null) {
            b.evalData(data.dpo(base.resolve(d.validation())));
        }
        return b.build();
    }

    private Trainer referenceFree(PeftModel m, TrainingConfig cfg, ReferenceFreeConfig loss, String objective,
                                  TrainData data, TrainConfig.Data d, Path base, long pad) {
        ReferenceFreeTrainer.Builder b = ranked(ReferenceFreeTrainer.builder().model(m).config(cfg).loss(loss)
                .padTokenId(pad).trainData(data.dpo(base.resolve(d.train()))), objective);
        if (d.validation() != null) {
            b.evalData(data.dpo(base.resolve(d.validation())));
        }
        return b.build();
    }

    /**
     * The {@code orpo} or {@code simpo} section of that objective (null for the others; like {@code dpo}, a section
     * of another objective is ignored, so the help's example with every section parses), checked before the model
     * loads; a value out of range is bad input naming its key.
     */
    private static ReferenceFreeConfig referenceFreeConfig(String objective, TrainConfig.Orpo orpo, TrainConfig.Simpo simpo) {
        return switch (objective) {
            case "orpo" -> ConfigFiles.section("orpo", TrainConfig.Orpo.class, () -> orpo == null || orpo.beta() == null
                    ? OrpoConfig.defaults() : new OrpoConfig(orpo.beta()));
            case "simpo" -> ConfigFiles.section("simpo", TrainConfig.Simpo.class, () -> {
                SimpoConfig d = SimpoConfig.defaults();
                TrainConfig.Simpo s = simpo == null ? new TrainConfig.Simpo(null, null, null, null) : simpo;
                return new SimpoConfig(s.beta() == null ? d.beta() : s.beta(),
                        s.simpoGamma() == null ? d.simpoGamma() : s.simpoGamma(),
                        s.cpoAlpha() == null ? d.cpoAlpha() : s.cpoAlpha(),
                        s.labelSmoothing() == null ? d.labelSmoothing() : s.labelSmoothing());
            });
            default -> null;
        };
    }

    private Trainer kto(PeftModel m, TrainingConfig cfg, KtoConfig kto, TrainData data, TrainConfig.Data d, Path base,
                        long pad) {
        KtoTrainer.Builder b = ranked(KtoTrainer.builder().model(m).config(cfg).kto(kto).padTokenId(pad)
                .trainData(data.kto(base.resolve(d.train()))), "kto");
        if (d.validation() != null) {
            b.evalData(data.kto(base.resolve(d.validation())));
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) { // a micro-batch of one row
            throw new BadInputException(e.getMessage().replace("microBatchSize", "training.micro_batch_size"), e);
        }
    }

    /** The {@code kto} section (TRL's defaults for what is left out), checked before the model loads. */
    private static KtoConfig ktoConfig(TrainConfig.Kto section) {
        TrainConfig.Kto k = section == null ? new TrainConfig.Kto(null, null, null) : section;
        KtoConfig defaults = KtoConfig.defaults();
        return ConfigFiles.section("kto", TrainConfig.Kto.class, () -> new KtoConfig(
                k.beta() == null ? defaults.beta() : k.beta(),
                k.desirableWeight() == null ? defaults.desirableWeight() : k.desirableWeight(),
                k.undesirableWeight() == null ? defaults.undesirableWeight() : k.undesirableWeight()));
    }

    /** The {@code reward} section (TRL's default for what is left out), checked before the model loads. */
    private static RewardConfig rewardConfig(TrainConfig.Reward section) {
        return ConfigFiles.section("reward", TrainConfig.Reward.class, () -> section == null
                || section.centerRewardsCoefficient() == null ? RewardConfig.defaults()
                : new RewardConfig(section.centerRewardsCoefficient()));
    }

    /** The {@code dpo} section, checked before the model loads; a value out of range is bad input naming its key. */
    private static DpoConfig dpoConfig(TrainConfig.Dpo section) {
        TrainConfig.Dpo d = section == null ? new TrainConfig.Dpo(null, null, null) : section;
        double beta = d.beta() == null ? 0.1 : d.beta();
        String loss = d.loss() == null ? "sigmoid" : d.loss();
        return ConfigFiles.section("dpo", TrainConfig.Dpo.class, () -> {
            DpoConfig dpo = switch (loss) {
                case "sigmoid" -> DpoConfig.sigmoid(beta);
                case "ipo" -> DpoConfig.ipo(beta);
                default -> throw new BadInputException("'dpo.loss' is '" + loss + "'; use sigmoid or ipo");
            };
            return d.labelSmoothing() == null ? dpo : dpo.withLabelSmoothing(d.labelSmoothing());
        });
    }

    /**
     * Validation data and the settings that use it come together: without {@code eval_every_steps} a validation
     * file would be read and never evaluated, and without a validation file the settings would do nothing.
     */
    private static void requireValidationWhereUsed(TrainConfig.Training t, boolean validation) {
        if (validation && t.evalEverySteps() == null) {
            throw new BadInputException("'data.validation' is given but 'training.eval_every_steps' is not, so it would "
                    + "never be evaluated: set eval_every_steps (the validation loss every that many steps, e.g. the "
                    + "steps of one epoch), or remove data.validation");
        }
        if (!validation && (t.evalEverySteps() != null || t.earlyStoppingPatience() != null)) {
            throw new BadInputException("'training." + (t.evalEverySteps() != null ? "eval_every_steps" : "early_stopping_patience")
                    + "' needs a validation file: set 'data.validation' (prepare writes validation.jsonl), or remove the key");
        }
    }

    private static TrainingConfig trainingConfig(TrainConfig.Training t, Device device, Path checkpoints) {
        return ConfigFiles.section("training", TrainConfig.Training.class, () -> {
            TrainingConfig.Builder b = TrainingConfig.builder().outputDir(checkpoints)
                    .precision(PrecisionOption.parse(t.precision()).on(device));
            if (t.gradientCheckpointing() != null) b.gradientCheckpointing(t.gradientCheckpointing());
            if (t.epochs() != null) b.epochs(t.epochs());
            if (t.maxSteps() != null) b.maxSteps(t.maxSteps());
            if (t.microBatchSize() != null) b.microBatchSize(t.microBatchSize());
            if (t.gradientAccumulationSteps() != null) b.gradientAccumulationSteps(t.gradientAccumulationSteps());
            if (t.learningRate() != null) b.learningRate(t.learningRate());
            if (t.weightDecay() != null) b.weightDecay(t.weightDecay());
            if (t.schedule() != null) b.schedule(PreparePipeline.enumValue(Schedule.class, t.schedule(), "training.schedule"));
            if (t.warmupRatio() != null) b.warmupRatio(t.warmupRatio());
            if (t.maxGradNorm() != null) b.maxGradNorm(t.maxGradNorm());
            if (t.seed() != null) b.seed(t.seed());
            if (t.evalEverySteps() != null) b.evalEverySteps(t.evalEverySteps());
            if (t.earlyStoppingPatience() != null) b.earlyStopping(t.earlyStoppingPatience(), 0.0);
            if (t.saveEverySteps() != null) b.saveEverySteps(t.saveEverySteps());
            if (t.keepLastCheckpoints() != null) b.keepLastCheckpoints(t.keepLastCheckpoints());
            b.logEverySteps(t.logEverySteps() == null ? 0 : t.logEverySteps());
            return b.build();
        });
    }
}
