package dev.finetune4j.gguf;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.io.AtomicFile;
import dev.finetune4j.core.io.InterruptSafe;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.bert.EncoderClassifier;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.peft.PeftModel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Exports a causal language model with its tokenizer to one GGUF file (version 3), which llama.cpp
 * ({@code llama-cli -m model.gguf}), Ollama ({@code FROM ./model.gguf}) and LM Studio load as it is.
 *
 * <pre>{@code
 * try (LanguageModel model = AutoModel.loadCausalLM(dir); HfTokenizer tokenizer = HfTokenizer.load(dir)) {
 *     GgufExporter.export(model, tokenizer, Path.of("model.gguf"), GgufType.Q8_0);
 * }
 * }</pre>
 *
 * <p>Supported: {@code llama} and {@code mistral} (GGUF architecture {@code llama}), {@code qwen2}, {@code qwen3},
 * {@code gemma}, {@code gemma2}, {@code gemma3_text} ({@code gemma3}), {@code phi3}, {@code granite} (its multipliers
 * as the four scale keys), {@code olmo2} and {@code olmo3} (both {@code olmo2}), {@code smollm3}, {@code gpt2} and the
 * mixtures of experts {@code mixtral} ({@code llama}), {@code qwen2_moe} ({@code qwen2moe}), {@code qwen3_moe}
 * ({@code qwen3moe}), {@code olmoe} and {@code gpt_oss} ({@code gpt-oss}, in F32, F16, BF16 or Q8_0), whose experts
 * are stacked into one tensor per projection and layer, and Qwen3.5's language model {@code qwen3_5_text}
 * ({@code qwen35}: gated DeltaNet and gated attention layers) and its mixture {@code qwen3_5_moe_text}
 * ({@code qwen35moe}, in F32, F16, BF16 or Q8_0), Granite 4.0 H ({@code granitemoehybrid} with Mamba-2 layers, as
 * {@code granitehybrid}), GLM ({@code glm} as {@code chatglm}), GLM-4 ({@code glm4}), ERNIE 4.5 ({@code ernie4_5}),
 * Cohere ({@code cohere} as {@code command-r}) and Cohere 2 ({@code cohere2}), LFM2 ({@code lfm2}: short-convolution
 * layers beside attention layers), Falcon-H1 ({@code falcon_h1} as {@code falcon-h1}: attention and a Mamba-2 mixer
 * side by side in every layer, its muP multipliers baked into the matrices as the converter bakes them), Nemotron-H
 * ({@code nemotron_h}: one Mamba-2, attention or squared-ReLU MLP block per layer; {@code nemotron_h_moe} with
 * mixture layers), with
 * byte-level BPE tokenizers (GPT-2's, Llama 3's, Qwen2's pre-tokenizers) or SentencePiece-style BPE with byte
 * fallback (Llama 2, Mistral, Gemma, Phi-3). Settings GGUF cannot express (partial rotary embeddings outside Phi-3 and Qwen3.5, YaRN scaling outside gpt-oss, Qwen's sliding
 * windows, attention scales llama.cpp does not compute, unknown pre-tokenizers, Qwen mixtures with dense layers or
 * the other {@code norm_topk_prob} than llama.cpp's graph fixes (OLMoE's too), OLMoE with grouped-query attention, SmolLM3 layers
 * without rotary other than every 4th, tied OLMo and OLMoE heads, gpt-oss's SwiGLU, YaRN betas and scale other than
 * llama.cpp's constants, Qwen3.5 DeltaNets with key and value heads of different sizes, Granite 4.0 H with more than
 * one Mamba-2 group, whose gated norm llama.cpp computes per group, Falcon-H1's norm before the gate and its
 * projection biases, Nemotron-H's MLP layers beside mixture layers and Mamba-2 projection biases, LFM2's convolution
 * biases,
 * ERNIE 4.5's {@code use_bias}, Cohere's attention
 * biases and untied head) and Gemma 3's
 * vision-language checkpoints are refused rather than exported as a model
 * llama.cpp would compute differently. Mistral's, Mixtral's and Phi-3's sliding windows are not applied by llama.cpp
 * (a warning is logged): the two agree on sequences up to the window; gpt-oss's YaRN ramp ends, which
 * {@code truncate: false} leaves where they fall, llama.cpp rounds to whole rotary pairs (a warning too). Phi-3's
 * longrope: llama.cpp uses the long factors whenever its context is longer than
 * {@code original_max_position_embeddings}, finetune4j once a position reaches it. A model with a PEFT adapter is exported
 * after merging it ({@code PeftModel.mergeAndUnload()}).
 *
 * <p>{@link #exportLora} writes a LoRA adapter alone as llama.cpp's adapter GGUF, to apply on top of the base
 * model's GGUF ({@code llama-cli --lora}, Ollama's {@code ADAPTER}).
 *
 * <p>The file is written under a temporary name in its folder and renamed into place when complete, so a failed
 * export leaves nothing half-written (an existing file is replaced only by a complete one). Tensors are read and
 * written one at a time, each through at most one float32 copy of itself, so the model is never held twice.
 * Thread-safe as long as the model is not changed during the export.
 */
public final class GgufExporter {
    /** {@code general.quantization_version}: the ggml block layouts of quantized types this writer follows. */
    private static final int QUANTIZATION_VERSION = 2;
    /** The types an encoder classifier is exported as: the plain ones, which need no per-architecture mix. */
    private static final Set<GgufType> ENCODER_TYPES = EnumSet.of(GgufType.F32, GgufType.F16, GgufType.BF16,
            GgufType.Q8_0);

    private GgufExporter() {
    }

    /**
     * Exports {@code model} and {@code tokenizer} to {@code file}.
     *
     * @param model     a model of a supported family, adapters merged
     * @param tokenizer the model's tokenizer
     * @param file      the GGUF file to write; its folder must exist; an existing file is replaced
     * @param type      how weight matrices are stored
     * @return {@code file}, absolute
     * @throws IllegalArgumentException when the family, a setting of its config or the tokenizer is not supported,
     *                                  the tokenizer has more tokens than the model, the model holds tensors the
     *                                  architecture has no place for (an unmerged adapter), or {@code file}'s folder
     *                                  does not exist
     * @throws UncheckedIOException     when writing fails; {@code file} is then left as it was
     */
    public static Path export(LanguageModel model, HfTokenizer tokenizer, Path file, GgufType type) {
        return export(model, tokenizer, file, type, GgufProgress.NONE);
    }

    /**
     * {@link #export(LanguageModel, HfTokenizer, Path, GgufType)}, telling {@code progress} after each tensor.
     *
     * @param model     a model of a supported family, adapters merged
     * @param tokenizer the model's tokenizer
     * @param file      the GGUF file to write; its folder must exist; an existing file is replaced
     * @param type      how weight matrices are stored
     * @param progress  told after each tensor is written
     * @return {@code file}, absolute
     */
    public static Path export(LanguageModel model, HfTokenizer tokenizer, Path file, GgufType type,
                              GgufProgress progress) {
        return export(model, tokenizer, file, type, null, progress);
    }

    /**
     * {@link #export(LanguageModel, HfTokenizer, Path, GgufType, GgufProgress)} with the K-quant blocks fitted under
     * {@code importance}, as {@code llama-quantize --imatrix} fits them: the file llama-quantize makes from the
     * float32 export with that importance matrix. Matrices it holds no weights for (the output head, the token
     * embedding) are quantized as without it.
     *
     * @param model      a model of a supported family, adapters merged
     * @param tokenizer  the model's tokenizer
     * @param file       the GGUF file to write; its folder must exist; an existing file is replaced
     * @param type       a K-quant mix ({@link GgufType#Q4_K_M}, {@link GgufType#Q5_K_M}, {@link GgufType#Q6_K})
     * @param importance collected from this model ({@link ImportanceMatrix#collect}), or null for none
     * @param progress   told after each tensor is written
     * @return {@code file}, absolute
     * @throws IllegalArgumentException as the plain export, and when {@code type} is not a K-quant mix (the other
     *                                  types do not use an importance matrix), or {@code importance} names tensors
     *                                  or sizes this model does not have
     */
    public static Path export(LanguageModel model, HfTokenizer tokenizer, Path file, GgufType type,
                              ImportanceMatrix importance, GgufProgress progress) {
        if (importance != null && !type.isMix()) {
            throw new IllegalArgumentException("an importance matrix shapes only the K-quant and I-quant exports "
                    + "(q4_k_m, q5_k_m, q6_k, iq3_s, iq4_xs...); " + type + " stores every weight without one: "
                    + "export without it, or as one of those mixes");
        }
        Path target = requireWritable(file);
        ModelMapping family = ModelMapping.of(model);
        GgufMetadata meta = modelMetadata(family, name(model), type, tokenizer, model.spec().vocabSize());
        return write(target, meta, withImportance(family.tensors(type, importance != null), importance), progress);
    }

    /**
     * Exports a BERT, RoBERTa or XLM-RoBERTa sequence classifier and its WordPiece, byte-level BPE or SentencePiece
     * unigram tokenizer as llama.cpp's
     * {@code bert} architecture with its classification head, which llama.cpp computes under rank pooling, the
     * pooling the file names ({@code llama-embedding -m FILE -p TEXT} prints the text's score for each label, named by
     * {@code bert.classifier.output_labels}).
     *
     * <pre>{@code
     * try (SequenceClassifierModule clf = AutoModel.loadSequenceClassifier(Path.of("classifier-dir"));
     *      HfTokenizer tokenizer = HfTokenizer.load(Path.of("classifier-dir"))) {
     *     GgufExporter.export((EncoderClassifier) clf, tokenizer, Path.of("classifier.gguf"), GgufType.F16);
     * }
     * }</pre>
     *
     * <p>llama.cpp gives every token type 0, so a classifier of sentence pairs (BERT's token type 1 after the first
     * {@code [SEP]}) scores pairs differently there; single texts score as here.
     *
     * @param classifier a BERT, RoBERTa or XLM-RoBERTa classifier, adapters merged ({@code PeftClassifier.mergeAndUnload()})
     * @param tokenizer  the classifier's tokenizer
     * @param file       the GGUF file to write; its folder must exist; an existing file is replaced
     * @param type       {@link GgufType#F32}, {@link GgufType#F16}, {@link GgufType#BF16} or {@link GgufType#Q8_0}
     * @param progress   told after each tensor is written
     * @return {@code file}, absolute
     * @throws IllegalArgumentException for DistilBERT (its head's ReLU is not llama.cpp's tanh), an activation other
     *                                  than GELU, a K-quant type, a tokenizer llama.cpp would not reproduce, or a
     *                                  folder that does not exist
     * @throws UncheckedIOException     when writing fails; {@code file} is then left as it was
     */
    public static Path export(EncoderClassifier classifier, HfTokenizer tokenizer, Path file, GgufType type,
                              GgufProgress progress) {
        if (!ENCODER_TYPES.contains(type)) {
            throw new IllegalArgumentException(type + " follows llama-quantize's rules for decoders, unchecked for "
                    + "encoders; export an encoder classifier as f32, f16, bf16 or q8_0");
        }
        Path target = requireWritable(file);
        EncoderMapping family = new EncoderMapping(classifier);
        GgufMetadata meta = modelMetadata(family, target.getFileName().toString().replaceFirst("\\.gguf$", ""), type,
                tokenizer, classifier.encoderConfig().vocabSize());
        return write(target, meta, family.tensors(type, false), progress);
    }

    /** A model file's keys: its architecture and name, file type, hyperparameters and tokenizer. */
    private static GgufMetadata modelMetadata(ModelMapping family, String name, GgufType type, HfTokenizer tokenizer,
                                              int vocabSize) {
        GgufMetadata meta = new GgufMetadata();
        meta.putString("general.architecture", family.architecture())
                .putString("general.type", "model")
                .putString("general.name", name);
        putFileType(meta, type);
        family.putHyperparameters(meta);
        TokenizerMetadata.put(meta, tokenizer, vocabSize, family.architecture());
        return meta;
    }

    /** The tensors, each with its weights from {@code importance} where it has some; every name it holds must be one. */
    private static List<GgufTensor> withImportance(List<GgufTensor> tensors, ImportanceMatrix importance) {
        if (importance == null) {
            return tensors;
        }
        Set<String> unknown = new TreeSet<>(importance.tensorNames());
        tensors.forEach(t -> unknown.remove(t.name()));
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("the importance matrix holds weights for " + unknown.size() + " tensors "
                    + "this model does not have, such as " + unknown.iterator().next() + ": it was collected from "
                    + "another model; collect it from the model you export");
        }
        return tensors.stream().map(t -> {
            float[] weights = importance.columnWeights(t.name());
            return weights == null ? t : t.withImportance(weights);
        }).toList();
    }

    /**
     * Exports the LoRA adapter of {@code adapter} as a llama.cpp adapter GGUF ({@code general.type = adapter},
     * {@code adapter.type = lora}), which {@code llama-cli -m base.gguf --lora FILE} and Ollama's {@code ADAPTER
     * ./FILE} apply to a GGUF of the same base model (exported with {@link #export}, or converted by llama.cpp).
     *
     * <pre>{@code
     * try (PeftModel adapter = Peft.load(AutoModel.loadCausalLM(baseDir), AdapterFiles.read(adapterDir))) {
     *     GgufExporter.exportLora(adapter, Path.of("adapter.gguf"), GgufType.F16);
     * }
     * }</pre>
     *
     * @param adapter a base model of a supported family with a LoRA adapter (not merged)
     * @param file    the GGUF file to write; its folder must exist; an existing file is replaced
     * @param type    how the adapter's matrices are stored
     * @return {@code file}, absolute
     * @throws IllegalArgumentException when the base family is not supported, the adapter is not plain LoRA (DoRA,
     *                                  IA3, prompt tuning...), adapts a module GGUF has no matrix for, scales its
     *                                  modules with different alphas, or {@code file}'s folder does not exist
     * @throws UncheckedIOException     when writing fails; {@code file} is then left as it was
     */
    public static Path exportLora(PeftModel adapter, Path file, GgufType type) {
        return exportLora(adapter, file, type, GgufProgress.NONE);
    }

    /**
     * {@link #exportLora(PeftModel, Path, GgufType)}, telling {@code progress} after each tensor.
     *
     * @param adapter  a base model of a supported family with a LoRA adapter (not merged)
     * @param file     the GGUF file to write; its folder must exist; an existing file is replaced
     * @param type     how the adapter's matrices are stored
     * @param progress told after each tensor is written
     * @return {@code file}, absolute
     */
    public static Path exportLora(PeftModel adapter, Path file, GgufType type, GgufProgress progress) {
        Path target = requireWritable(file);
        LoraMapping lora = new LoraMapping(adapter, type);
        GgufMetadata meta = new GgufMetadata();
        meta.putString("general.architecture", lora.architecture())
                .putString("general.type", "adapter")
                .putString("general.name", target.getFileName().toString().replaceFirst("\\.gguf$", ""));
        putFileType(meta, type);
        meta.putString("adapter.type", "lora").putFloat32("adapter.lora.alpha", lora.alpha());
        return write(target, meta, lora.tensors(), progress);
    }

    private static Path requireWritable(Path file) {
        Path target = file.toAbsolutePath().normalize();
        if (!Files.isDirectory(target.getParent())) {
            throw new IllegalArgumentException("cannot write " + target + ": the folder " + target.getParent()
                    + " does not exist; create it first or choose another path");
        }
        if (Files.isDirectory(target)) {
            throw new IllegalArgumentException("cannot write " + target + ": it is a folder; give a file name such "
                    + "as " + target.resolve("model.gguf"));
        }
        return target;
    }

    private static void putFileType(GgufMetadata meta, GgufType type) {
        meta.putUint32("general.file_type", type.fileType());
        if (type.isQuantized()) {
            meta.putUint32("general.quantization_version", QUANTIZATION_VERSION);
        }
    }

    /** Writes the file atomically, tensors streamed one at a time, without autograd recording the conversions. */
    private static Path write(Path target, GgufMetadata meta, List<GgufTensor> tensors, GgufProgress progress) {
        try (var noGrad = Autograd.noGrad()) {
            InterruptSafe.call(() -> {
                AtomicFile.write(target, channel -> GgufWriter.write(channel, meta, tensors, progress));
                return null;
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the GGUF export " + target + ": " + e.getMessage()
                    + "; check free disk space and the permissions of " + target.getParent(), e);
        }
        return target;
    }

    /**
     * {@code general.name}: the model folder's name, else "finetune4j model". NOTE: not the model_type: llama.cpp gives
     * special tokens of a model whose name contains "phi3" Phi-3's stripping rules and fails to load one whose
     * vocabulary lacks Phi-3's special tokens (src/llama-vocab.cpp).
     */
    private static String name(LanguageModel model) {
        return model.source().map(p -> p.toAbsolutePath().normalize().getFileName())
                .map(Path::toString).orElse("finetune4j model");
    }
}
