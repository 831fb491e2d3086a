package dev.finetune4j.onnx;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.io.AtomicDirectory;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.SequenceClassifier;
import dev.finetune4j.core.models.bert.EncoderClassifier;
import dev.finetune4j.core.models.bert.EncoderConfig;
import dev.finetune4j.core.models.decoder.DecoderForSequenceClassification;
import dev.finetune4j.core.models.decoder.DecoderLayout;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.models.gpt2.Gpt2Model;
import dev.finetune4j.onnx.proto.OnnxProto.ModelProto;
import dev.finetune4j.onnx.proto.OnnxProto.OperatorSetIdProto;
import dev.finetune4j.onnx.proto.OnnxProto.StringStringEntryProto;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Exports a causal language model, or an encoder classifier ({@link #export(SequenceClassifier, Path, Path)}), to
 * ONNX: a folder with {@value #MODEL_FILE} (the graph, opset {@value #OPSET},
 * standard operators only) and {@value #DATA_FILE} (the weights as float32, in ONNX's external data layout), which
 * ONNX Runtime loads as it is; a causal LM's linear weights may be stored as int8 or int4 blocks instead
 * ({@link #export(LanguageModel, Path, OnnxExportOptions)}, opset {@value #QUANTIZED_OPSET}).
 *
 * <pre>{@code
 * try (LanguageModel model = AutoModel.loadCausalLM(Path.of("model-dir"))) {
 *     OnnxExporter.export(model, Path.of("model-onnx"));
 * }
 * }</pre>
 *
 * <p>The graph has the inputs and outputs that ONNX Runtime GenAI and Optimum use for decoder models with a
 * key/value cache, N being the layer:
 * <ul>
 *   <li>{@code input_ids} int64 (batch_size, sequence_length), {@code attention_mask} int64 (batch_size,
 *       total_sequence_length) over the cached and the new tokens, 0 for padding, {@code position_ids} int64
 *       (batch_size, sequence_length);</li>
 *   <li>{@code past_key_values.N.key} and {@code past_key_values.N.value} float32 (batch_size,
 *       num_key_value_heads, past_sequence_length, head_dim), empty (past_sequence_length 0) on the first call
 *       (latent attention's keys are qk_head_dim wide and its values v_head_dim, one of each per attention head;
 *       Gemma 4's full-attention layers cache their own heads, of global_head_dim, and its kv-shared layers none:
 *       they read an earlier layer's present);</li>
 *   <li>outputs {@code logits} float32 (batch_size, sequence_length, vocab_size) and {@code present.N.key} /
 *       {@code present.N.value} (batch_size, num_key_value_heads, total_sequence_length, head_dim), the next
 *       call's past.</li>
 *   <li>for each recurrent layer N of a hybrid, its state in place of keys and values, as {@code RecurrentGraph}
 *       lays it out: {@code past_conv.N} / {@code present_conv.N} (LFM2), or {@code past_key_values.N.conv_state}
 *       and {@code .recurrent_state} / {@code present.N.conv_state} and {@code .recurrent_state} (Mamba-2, gated
 *       DeltaNet), of fixed sizes but for the batch, zeros on the first call.</li>
 * </ul>
 *
 * <p>Supported: the decoder family ({@link DecoderModel}: LLaMA, Mistral, Qwen2, Qwen3, Gemma, Gemma 2, Gemma 3's
 * text-only {@code gemma3_text}, Gemma 4's text-only {@code gemma4_text} with or without its mixture beside the MLP,
 * Phi-3, sliding windows included, and the others that {@code DecoderGraph} lists), the
 * mixtures of experts Mixtral, Qwen3-MoE, OLMoE, Qwen2-MoE, Granite 3's {@code granitemoe} and {@code granitemoeshared},
 * GLM-4.5, ERNIE-4.5-MoE, gpt-oss with its attention sinks (its MXFP4 checkpoints as dequantized on load) and the
 * latent attention of DeepSeek-V2, DeepSeek-V3 and Mistral 4 with their mixtures (each token's experts chosen in the
 * graph, each expert multiplying only its tokens), the hybrids with recurrent layers LFM2, LFM2-MoE, Granite 4.0 H,
 * Qwen3.5, Qwen3.5-MoE, Qwen3-Next, Nemotron-H (dense and mixture: one Mamba-2, attention, MLP or mixture block per
 * layer) and Falcon-H1 (attention and Mamba-2 side by side in every layer), and
 * GPT-2 ({@link Gpt2Model}). Phi-3's longrope
 * switches to its long factors within the graph once a position reaches {@code original_max_position_embeddings};
 * past keys computed before that were rotated with the short factors, so a caller whose sequence crosses that
 * length recomputes the cache (feeds the whole sequence again without a past), as transformers' generate does. A model with a PEFT adapter is exported after merging it
 * ({@code PeftModel.mergeAndUnload()}); weights in bf16 or f16 are written as float32.
 *
 * <p>The folder is written under a temporary name beside it and renamed into place when complete, so a failed
 * export leaves nothing half-written. An existing folder is replaced only when it holds nothing but a previous
 * export's files; any other file in it, the model's own folder and the current directory are refused (see
 * {@link ExportFolder}), as the replacement would delete them. Thread-safe as long as the model is not changed
 * during the export.
 */
public final class OnnxExporter {
    /** The graph's file name in the export folder. */
    public static final String MODEL_FILE = "model.onnx";
    /** The weights' file name in the export folder, which {@value #MODEL_FILE} refers to. */
    public static final String DATA_FILE = "model.onnx.data";
    /** The ONNX operator set the graph uses (LayerNormalization needs 17). */
    public static final int OPSET = 17;
    /** The operator set of an export with quantized weights: DequantizeLinear takes blocks and INT4 from 21 on. */
    public static final int QUANTIZED_OPSET = 21;
    /** IR version 8 is the first to go with opset 17, 10 with opset 21 (and the first to have INT4). */
    private static final int IR_VERSION = 8;
    private static final int QUANTIZED_IR_VERSION = 10;

    private OnnxExporter() {
    }

    /**
     * Exports {@code model} into {@code folder} ({@value #MODEL_FILE} and {@value #DATA_FILE}).
     *
     * @param model  a decoder-family or GPT-2 model, adapters merged
     * @param folder the folder to create, or a previous export's folder to replace
     * @return {@code folder}'s {@value #MODEL_FILE}
     * @throws IllegalArgumentException when the model's family is not supported, the model holds tensors its
     *                                  graph would not use (an adapter that was not merged), or {@code folder} holds
     *                                  other files, is or contains the model's {@link LanguageModel#source() source}
     *                                  folder, or is the current directory or above it
     * @throws UncheckedIOException     when writing fails; {@code folder} is then left as it was
     */
    public static Path export(LanguageModel model, Path folder) {
        return export(model, folder, OnnxExportOptions.float32());
    }

    /**
     * Exports {@code model} into {@code folder} as {@link #export(LanguageModel, Path)} does, its linear layers'
     * weights as {@code options} say. With int8 or int4 weights ({@link OnnxExportOptions}), each linear layer's
     * weight matrix (attention, MLP, experts, a separate {@code lm_head}; not the embeddings, norms, biases or
     * routers) is stored as codes in blocks along its input dimension with a float32 scale per block, and the graph,
     * opset {@value #QUANTIZED_OPSET}, multiplies by {@code DequantizeLinear(codes, scales)} ({@code axis} 0,
     * {@code block_size}); where the block size does not divide a matrix's input width, that matrix's last block is
     * shorter, as DequantizeLinear allows. ONNX Runtime's CPU graph optimizer fuses each int4 DequantizeLinear and
     * its MatMul into its MatMulNBits kernel, which by default rounds the activations to int8 per block as well
     * (session option {@code session.qdq_matmulnbits_accuracy_level}: 4; 1 computes in float32); int8 weights run as
     * DequantizeLinear and MatMul.
     *
     * <pre>{@code
     * OnnxExporter.export(model, Path.of("model-onnx-int4"), OnnxExportOptions.int4(32));
     * }</pre>
     *
     * @param model   a decoder-family or GPT-2 model, adapters merged
     * @param folder  the folder to create, or a previous export's folder to replace
     * @param options the weights' format
     * @return {@code folder}'s {@value #MODEL_FILE}
     * @throws IllegalArgumentException as {@link #export(LanguageModel, Path)} says
     * @throws UncheckedIOException     when writing fails; {@code folder} is then left as it was
     */
    public static Path export(LanguageModel model, Path folder, OnnxExportOptions options) {
        if (options == null) {
            throw new IllegalArgumentException("the export options are null: pass OnnxExportOptions.float32() for "
                    + "float32 weights");
        }
        GraphWriter family = switch (model) {
            case DecoderModel decoder when decoder.layout() != DecoderLayout.CAUSAL_LM -> throw new IllegalArgumentException(
                    "the model is the language model of a vision-language checkpoint (model_type '"
                    + model.spec().modelType() + "'), without its vision tower: an ONNX graph of it could not take "
                    + "images (text-only checkpoints do export: Gemma 3's gemma3_text, such as Gemma 3 1B, and Gemma 4's "
                    + "gemma4_text, as Gemma4ForCausalLM saves it). Serve or evaluate "
                    + "it with finetune4j (serve, eval), or merge an adapter into the whole checkpoint (finetune4j "
                    + "merge) and export that with a tool that exports vision-language models");
            case DecoderModel decoder when DecoderGraph.covers(decoder.config()) -> graph -> DecoderGraph.build(decoder, graph);
            case Gpt2Model gpt2 -> graph -> Gpt2Graph.build(gpt2, graph);
            default -> throw new IllegalArgumentException("ONNX export supports the decoder family ("
                    + String.join(", ", DecoderGraph.MODEL_TYPES.stream().sorted().toList()) + "; the mixtures of "
                    + "experts " + String.join(", ", ExpertsGraph.MODEL_TYPES.stream().sorted().toList()) + ") and "
                    + "gpt2, not " + model.getClass().getName() + " (model_type '" + model.spec().modelType() + "'), "
                    + "whose layers its graph does not compute: serve it with finetune4j (serve), or export it with a "
                    + "tool made for that architecture");
        };
        String modelType = model.spec().modelType();
        return writeFolder(folder, model.source().stream().toList(), dir -> writeModel(modelType, family, options, dir));
    }

    /**
     * Exports an encoder classifier into {@code folder}: {@value #MODEL_FILE}, {@value #DATA_FILE} and
     * {@code config.json} (see {@link #export(SequenceClassifier, Path, Path)}), without tokenizer files.
     *
     * @param classifier a BERT, RoBERTa, XLM-RoBERTa or DistilBERT classifier, adapters merged
     * @param folder     the folder to create, or a previous export's folder to replace
     * @return {@code folder}'s {@value #MODEL_FILE}
     * @throws IllegalArgumentException as {@link #export(SequenceClassifier, Path, Path)} says
     * @throws UncheckedIOException     when writing fails; {@code folder} is then left as it was
     */
    public static Path export(SequenceClassifier classifier, Path folder) {
        return export(classifier, folder, null);
    }

    /**
     * Exports an encoder classifier ({@link EncoderClassifier}: BERT, RoBERTa, XLM-RoBERTa, DistilBERT) into
     * {@code folder}, in the layout of Optimum's text-classification export: {@value #MODEL_FILE} and
     * {@value #DATA_FILE} as for causal LMs, {@code config.json} written from the classifier (its architecture, sizes,
     * {@code id2label} and {@code label2id}, problem type), and the tokenizer files that {@code tokenizerFolder}
     * holds ({@code tokenizer.json}, {@code tokenizer_config.json}, {@code special_tokens_map.json},
     * {@code vocab.txt}, ...), so that Optimum's {@code ORTModelForSequenceClassification} loads the folder as it is.
     *
     * <pre>{@code
     * try (SequenceClassifier clf = AutoModel.loadSequenceClassifier(Path.of("classifier-dir"))) {
     *     OnnxExporter.export(clf, Path.of("classifier-onnx"), Path.of("classifier-dir"));
     * }
     * }</pre>
     *
     * <p>The graph, in eval mode (no dropout): inputs {@code input_ids} and {@code attention_mask} int64
     * (batch_size, sequence_length), 0 in the mask for padding, and for BERT {@code token_type_ids} int64 of the same
     * shape (0 for the first segment, 1 for the second); output {@code logits} float32 (batch_size, num_labels), from
     * the first token's final state. RoBERTa and XLM-RoBERTa compute their position ids from {@code input_ids} and
     * the pad id in the graph, as transformers does; every activation a config may name is written out in standard
     * ops. A {@code PeftClassifier} is exported after merging its adapter ({@code mergeAndUnload()}); bf16 or f16
     * weights are written as float32. The folder is written and replaced as {@link #export(LanguageModel, Path)}
     * says.
     *
     * @param classifier      an encoder classifier, adapters merged
     * @param folder          the folder to create, or a previous export's folder to replace
     * @param tokenizerFolder the folder whose tokenizer files go beside the graph (usually the classifier's model
     *                        folder; those it lacks are left out), or null for none
     * @return {@code folder}'s {@value #MODEL_FILE}
     * @throws IllegalArgumentException when the classifier is not an encoder classifier (a decoder's, or one whose
     *                                  adapter was not merged), holds tensors its graph would not use, when
     *                                  {@code tokenizerFolder} is not a folder, or {@code folder} holds other files,
     *                                  is or contains {@code tokenizerFolder}, or is the current directory or above it
     * @throws UncheckedIOException     when writing fails; {@code folder} is then left as it was
     */
    public static Path export(SequenceClassifier classifier, Path folder, Path tokenizerFolder) {
        EncoderClassifier encoder = switch (classifier) {
            case EncoderClassifier e -> e;
            case DecoderForSequenceClassification d -> throw new IllegalArgumentException("ONNX export of classifiers "
                    + "supports the encoders (" + String.join(", ", EncoderConfig.MODEL_TYPES) + "), not a decoder's "
                    + "classifier (model_type '" + d.spec().modelType() + "'): serve it with finetune4j, or export its "
                    + "causal LM");
            default -> throw new IllegalArgumentException("ONNX export takes an encoder classifier ("
                    + String.join(", ", EncoderConfig.MODEL_TYPES) + ") itself, not a " + classifier.getClass().getName()
                    + ": merge an adapter first with PeftClassifier.mergeAndUnload(), which returns the classifier with "
                    + "the adapter folded into its weights");
        };
        ClassifierFiles.requireTokenizerFolder(tokenizerFolder);
        String modelType = encoder.encoderConfig().modelType();
        List<Path> kept = tokenizerFolder == null ? List.of() : List.of(tokenizerFolder);
        return writeFolder(folder, kept, dir -> {
            writeModel(modelType, graph -> EncoderGraph.build(encoder, graph), OnnxExportOptions.float32(), dir);
            ClassifierFiles.write(encoder, tokenizerFolder, dir);
        });
    }

    /** Writes an export's files into a staged folder. */
    private interface FolderWriter {
        void write(Path dir) throws IOException;
    }

    /**
     * Checks {@code folder}, has {@code writer} fill a staged folder beside it, and moves that into place; the staged
     * folder is deleted when anything fails.
     */
    private static Path writeFolder(Path folder, List<Path> protectedFolders, FolderWriter writer) {
        ExportFolder.requireNotProtected(folder, protectedFolders);
        ExportFolder.requireOnlyPreviousExport(folder);
        Path target = folder.toAbsolutePath().normalize();
        Path parent = target.getParent();
        String name = target.getFileName().toString();
        Path staged = parent.resolve("." + name + ".onnx-export");
        try {
            Files.createDirectories(parent);
            AtomicDirectory.deleteTree(staged); // left over from a crash
            Files.createDirectories(staged);
            try {
                writer.write(staged);
                AtomicDirectory.replace(staged, target, parent.resolve("." + name + ".onnx-old"));
            } catch (IOException | RuntimeException e) {
                deleteQuietly(staged, e);
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the ONNX export to " + target + ": " + e.getMessage()
                    + "; check free disk space and the permissions of " + parent, e);
        }
        return target.resolve(MODEL_FILE);
    }

    /** Builds one family's graph (its nodes and weights) into a builder. */
    private interface GraphWriter {
        void build(GraphBuilder graph) throws IOException;
    }

    private static void writeModel(String modelType, GraphWriter family, OnnxExportOptions options, Path dir)
            throws IOException {
        GraphBuilder graph;
        try (ExternalWeights weights = new ExternalWeights(dir.resolve(DATA_FILE)); var noGrad = Autograd.noGrad()) {
            graph = new GraphBuilder(modelType, weights, options);
            family.build(graph);
        }
        ModelProto.Builder proto = ModelProto.newBuilder()
                .setIrVersion(options.quantized() ? QUANTIZED_IR_VERSION : IR_VERSION)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(graph.opset()))
                .setProducerName("finetune4j")
                .addMetadataProps(StringStringEntryProto.newBuilder().setKey("model_type").setValue(modelType))
                .setGraph(graph.build());
        String version = OnnxExporter.class.getPackage().getImplementationVersion();
        if (version != null) {
            proto.setProducerVersion(version);
        }
        try (OutputStream out = Files.newOutputStream(dir.resolve(MODEL_FILE), StandardOpenOption.CREATE_NEW)) {
            proto.build().writeTo(out);
        }
    }

    private static void deleteQuietly(Path staged, Exception cause) {
        try {
            AtomicDirectory.deleteTree(staged);
        } catch (IOException e) {
            cause.addSuppressed(e);
        }
    }
}
