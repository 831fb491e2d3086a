package dev.finetune4j.gguf;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.io.AtomicFile;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntUnaryOperator;

/**
 * An importance matrix, as llama.cpp's {@code llama-imatrix} collects one: for each weight matrix of the model's
 * layers ({@code blk.N.*}), the mean over calibration tokens of the square of each input feature it multiplies. A
 * K-quant export under it ({@link GgufExporter#export(LanguageModel, dev.finetune4j.core.tokenizer.HfTokenizer,
 * java.nio.file.Path, GgufType, ImportanceMatrix, GgufProgress)}) fits each block's scales to the error those inputs
 * will see, as {@code llama-quantize --imatrix} does, which lowers the quantized model's perplexity on text like the
 * calibration text; your fine-tuning data is a natural choice.
 *
 * <pre>{@code
 * List<long[]> calibration = texts.stream().map(t -> tokenizer.encode(t)).toList();
 * ImportanceMatrix imatrix = ImportanceMatrix.collect(model, calibration);
 * GgufExporter.export(model, tokenizer, Path.of("model-q4_k_m.gguf"), GgufType.Q4_K_M, imatrix, GgufProgress.NONE);
 * }</pre>
 *
 * <p>A mixture of experts' stacked expert tensors ({@code blk.N.ffn_{gate,up,down}_exps}) get, as
 * {@code llama-imatrix} collects them, one row of sums per expert over only the tokens routed to that expert, and
 * that expert's token count; an expert no calibration token reached keeps a count of 0, and its rows are then
 * quantized with every column weighing 1, as {@code llama-quantize} does. The router, shared expert and attention
 * matrices are collected as a dense model's.
 *
 * <p>As {@code llama-imatrix} by default, the output head is not collected (it is quantized without weights), nor the
 * token embedding, which multiplies nothing. {@link #save} writes it as llama.cpp's imatrix file, from which
 * {@code llama-quantize --imatrix} (or any tool of llama.cpp's that takes one, such as its I-quants) fits the same
 * blocks; {@link #load} reads it back, or a matrix llama.cpp's {@code llama-imatrix} wrote. Immutable, and so
 * thread-safe.
 */
public final class ImportanceMatrix {
    /**
     * Each entry's sum over the calibration tokens of each input feature's square, in float32 as llama.cpp keeps it;
     * a stacked expert tensor's experts one after the other.
     */
    private final Map<String, float[]> sums;
    /** Each entry's calibration tokens, one per expert of a stacked tensor (a legacy file: one for all of them). */
    private final Map<String, long[]> counts;
    /** The weight of each input column: its sum over its tokens, as llama-quantize divides them. */
    private final Map<String, float[]> columnWeights;
    private final int sequences;
    private final int longestSequence;

    /** Hears of each calibration sequence run, on the calling thread. */
    @FunctionalInterface
    public interface Progress {
        /** Nothing to report. */
        Progress NONE = (done, total) -> {
        };

        /**
         * Called after each sequence.
         *
         * @param done  sequences run so far
         * @param total sequences in all
         */
        void sequencesDone(int done, int total);
    }

    private ImportanceMatrix(Map<String, float[]> sums, Map<String, long[]> counts, int sequences,
                             int longestSequence) {
        Map<String, float[]> weights = new LinkedHashMap<>();
        sums.forEach((name, sum) -> weights.put(name, columnWeights(sum, counts.get(name))));
        this.sums = Collections.unmodifiableMap(sums);
        this.counts = Collections.unmodifiableMap(counts);
        this.columnWeights = Collections.unmodifiableMap(weights);
        this.sequences = sequences;
        this.longestSequence = longestSequence;
    }

    /**
     * Runs {@code model} over each sequence (one forward each, in eval mode, without autograd) and returns the mean
     * squared input of every layer matrix the export writes. The model is unchanged afterwards, but while this runs
     * its layers are wrapped: do not use it from other threads meanwhile.
     *
     * @param model     a model of a family GGUF export supports, adapters merged
     * @param sequences token ids, one forward each; each no longer than the model's context
     * @return the importance matrix, keyed by GGUF tensor names
     * @throws IllegalArgumentException when there are no tokens, a sequence does not fit the model, or the family is
     *                                  not supported by the GGUF export
     */
    public static ImportanceMatrix collect(LanguageModel model, List<long[]> sequences) {
        return collect(model, sequences, Progress.NONE);
    }

    /**
     * {@link #collect(LanguageModel, List)}, telling {@code progress} after each sequence: on a CPU a large model takes
     * seconds per sequence.
     *
     * @param model     a model of a family GGUF export supports, adapters merged
     * @param sequences token ids, one forward each; each no longer than the model's context
     * @param progress  told after each sequence
     * @return the importance matrix, keyed by GGUF tensor names
     */
    public static ImportanceMatrix collect(LanguageModel model, List<long[]> sequences, Progress progress) {
        long tokens = sequences.stream().mapToLong(s -> s.length).sum();
        if (tokens == 0) {
            throw new IllegalArgumentException("no calibration tokens: give at least one non-empty sequence (a few "
                    + "hundred sequences of representative text is usual)");
        }
        for (int i = 0; i < sequences.size(); i++) {
            if (sequences.get(i).length > model.maxPositionEmbeddings()) {
                throw new IllegalArgumentException("calibration sequence " + i + " has " + sequences.get(i).length
                        + " tokens, more than the model's " + model.maxPositionEmbeddings() + " positions; cut it");
            }
        }
        ModelMapping mapping = ModelMapping.of(model);
        List<Recorder> recorders = wrapLayerMatrices(model, mapping);
        boolean training = model.isTraining();
        model.train(false);
        try (var noGrad = Autograd.noGrad()) {
            for (int i = 0; i < sequences.size(); i++) {
                if (sequences.get(i).length > 0) {
                    try (TensorScope scope = TensorScope.open()) {
                        model.hiddenStates(ModelInput.of(new long[][] {sequences.get(i)}, null));
                    }
                }
                progress.sequencesDone(i + 1, sequences.size());
            }
        } finally {
            model.train(training);
            recorders.forEach(Recorder::restore);
        }
        Map<String, List<Recorder>> byTensor = new LinkedHashMap<>();
        recorders.forEach(r -> r.ggufNames.forEach(n -> byTensor.computeIfAbsent(n, name -> new ArrayList<>()).add(r)));
        Map<String, float[]> sums = new LinkedHashMap<>();
        Map<String, long[]> counts = new LinkedHashMap<>();
        byTensor.forEach((name, matrices) -> {
            // a stacked tensor's experts in expert order (DecoderMapping places expert 0 first), kept as llama-imatrix
            // keeps the entry: once any expert saw a token
            int columns = matrices.stream().filter(r -> r.sums != null).mapToInt(r -> r.sums.length).findFirst()
                    .orElse(0);
            if (columns > 0) {
                float[] sum = new float[matrices.size() * columns];
                long[] count = new long[matrices.size()];
                for (int m = 0; m < matrices.size(); m++) {
                    Recorder r = matrices.get(m);
                    for (int i = 0; r.sums != null && i < columns; i++) { // the columns in the file's order
                        sum[m * columns + i] = (float) r.sums[r.columnOrder == null ? i : r.columnOrder.applyAsInt(i)];
                    }
                    count[m] = r.rows;
                }
                sums.put(name, sum);
                counts.put(name, count);
            }
        });
        int longest = sequences.stream().mapToInt(s -> s.length).max().orElse(0);
        return new ImportanceMatrix(sums, counts, sequences.size(), longest);
    }

    /**
     * Reads an importance matrix file: one {@link #save} wrote, or llama.cpp's {@code llama-imatrix} (its GGUF format,
     * or the legacy {@code .dat} one), say collected earlier over other calibration text. Its matrices must be this
     * model's to be used in an export (checked there).
     *
     * @param file the imatrix file
     * @return the importance matrix
     * @throws IllegalArgumentException when the file is neither format, or its sizes or counts do not add up
     * @throws UncheckedIOException     when it cannot be read
     */
    public static ImportanceMatrix load(Path file) {
        ImatrixFiles.Contents c = ImatrixFiles.read(file);
        return new ImportanceMatrix(c.sums(), c.counts(), c.chunkCount(), c.chunkSize());
    }

    /**
     * Writes the matrix as llama.cpp's imatrix file (a GGUF of {@code general.type} imatrix, as {@code llama-imatrix}
     * writes it: per entry {@code <name>.in_sum2}, the sums of squares (ggml dims [in, matrices]: one row per expert
     * of a stacked expert tensor), and {@code <name>.counts}, the tokens ([1, matrices]: each expert's); the
     * keys {@code imatrix.datasets}, {@code imatrix.chunk_count} (the calibration sequences) and
     * {@code imatrix.chunk_size} (the longest of them)). {@code llama-quantize --imatrix FILE} then divides each sum by
     * its count as this matrix does, so it writes the blocks a K-quant export under this matrix writes. Written under
     * a temporary name and renamed into place when complete.
     *
     * @param file    the file to write (by llama.cpp's convention {@code imatrix.gguf}); its folder must exist
     * @param dataset what the calibration text was, for {@code imatrix.datasets} (e.g. its file name)
     * @return {@code file}, absolute
     * @throws IllegalArgumentException when the folder does not exist
     * @throws UncheckedIOException     when writing fails; {@code file} is then left as it was
     */
    public Path save(Path file, String dataset) {
        Path target = file.toAbsolutePath().normalize();
        if (!Files.isDirectory(target.getParent())) {
            throw new IllegalArgumentException("cannot write " + target + ": the folder " + target.getParent()
                    + " does not exist; create it first");
        }
        GgufMetadata meta = new GgufMetadata().putString("general.type", "imatrix")
                .putStrings("imatrix.datasets", List.of(dataset))
                .putUint32("imatrix.chunk_count", sequences)
                .putUint32("imatrix.chunk_size", longestSequence);
        List<GgufTensor> tensors = new ArrayList<>();
        sums.forEach((name, sum) -> {
            long[] count = counts.get(name);
            float[] tokens = new float[count.length];
            for (int m = 0; m < count.length; m++) {
                tokens[m] = count[m];
            }
            int perMatrix = sum.length / count.length;
            tensors.add(new GgufTensor(name + ".in_sum2", new long[] {perMatrix, count.length}, GgmlType.F32,
                    TensorRows.of(sum, perMatrix)));
            tensors.add(new GgufTensor(name + ".counts", new long[] {1, count.length}, GgmlType.F32,
                    TensorRows.of(tokens, 1)));
        });
        try {
            AtomicFile.write(target, channel -> GgufWriter.write(channel, meta, tensors, GgufProgress.NONE));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the importance matrix " + target + ": " + e.getMessage(), e);
        }
        return target;
    }

    /**
     * The calibration tokens the matrix was collected over (the most any of its matrices saw).
     *
     * @return the number of tokens
     */
    public long tokens() {
        return counts.values().stream().flatMapToLong(Arrays::stream).max().orElse(0);
    }

    /**
     * The GGUF names of the matrices it holds weights for, such as {@code blk.0.attn_q.weight}.
     *
     * @return the names, in the model's order; unmodifiable
     */
    public Set<String> tensorNames() {
        return columnWeights.keySet();
    }

    /**
     * The weight of each input column of tensor {@code ggufName} (a stacked expert tensor's experts one after the
     * other), or null when it holds none for it.
     */
    float[] columnWeights(String ggufName) {
        return columnWeights.get(ggufName);
    }

    /** Tensor {@code ggufName}'s sums of squares, as {@link #save} writes them; null when it holds none for it. */
    float[] sums(String ggufName) {
        return sums.get(ggufName);
    }

    /** Tensor {@code ggufName}'s tokens, one per expert of a stacked tensor; null when it holds none for it. */
    long[] counts(String ggufName) {
        long[] count = counts.get(ggufName);
        return count == null ? null : count.clone();
    }

    /**
     * Each sum over its matrix's tokens, in float32, as llama-quantize's {@code load_imatrix} (tools/quantize) divides
     * them; a matrix of no tokens (an expert the calibration never routed to) weighs every column 1, as it does.
     */
    private static float[] columnWeights(float[] sum, long[] count) {
        int perMatrix = sum.length / count.length;
        float[] w = new float[sum.length];
        for (int i = 0; i < w.length; i++) {
            long tokens = count[i / perMatrix];
            w[i] = tokens > 0 ? sum[i] / (float) tokens : 1f;
        }
        return w;
    }

    /**
     * Wraps every layer matrix the export writes ({@code blk.*} 2-D weights) in a recorder of its inputs; a matrix
     * written in parts (Granite 4's input_linear as ffn_gate and ffn_up) in one recorder, whose sums serve each part,
     * as llama.cpp's parts multiply the same input.
     */
    private static List<Recorder> wrapLayerMatrices(LanguageModel model, ModelMapping mapping) {
        Map<String, Module> modules = model.namedModules();
        Map<String, Tensor> weights = model.stateDict();
        List<Recorder> out = new ArrayList<>();
        Map<String, Recorder> byWeight = new HashMap<>();
        for (Placement p : mapping.placements()) {
            Recorder wrapped = byWeight.get(p.hfName());
            if (wrapped != null) {
                wrapped.ggufNames.add(p.ggufName());
                continue;
            }
            Tensor weight = weights.get(p.hfName());
            if (!p.ggufName().startsWith("blk.") || !p.hfName().endsWith(".weight") || weight == null
                    || weight.rank() != 2) {
                continue; // norms are layers too, but multiply nothing
            }
            String path = p.hfName().substring(0, p.hfName().length() - ".weight".length());
            int dot = path.lastIndexOf('.');
            Module parent = dot < 0 ? model : modules.get(path.substring(0, dot));
            String name = path.substring(dot + 1);
            if (parent != null && parent.children().get(name) instanceof Layer layer) {
                Recorder recorder = new Recorder(parent, name, layer, p.ggufName(), p.columnOrder());
                byWeight.put(p.hfName(), recorder);
                out.add(recorder);
            }
        }
        return out;
    }

    /**
     * Stands in for one matrix's layer while calibrating: sums the squares of each input column, then forwards. An
     * expert's projection sees only the tokens routed to that expert, so its sums and rows are that expert's, as
     * llama-imatrix takes them from {@code GGML_OP_MUL_MAT_ID}.
     */
    private static final class Recorder extends Module implements Layer {
        private final Module parent;
        private final String name;
        private final Layer layer;
        /** The GGUF tensors this matrix is written as: one, or each of its parts. */
        private final List<String> ggufNames = new ArrayList<>();
        /** File column i is the matrix's column {@code columnOrder(i)} (Qwen3.5's out_proj); null: the same order. */
        private final IntUnaryOperator columnOrder;
        private double[] sums;
        private long rows;

        Recorder(Module parent, String name, Layer layer, String ggufName, IntUnaryOperator columnOrder) {
            this.parent = parent;
            this.name = name;
            this.layer = layer;
            this.columnOrder = columnOrder;
            this.ggufNames.add(ggufName);
            parent.replaceChild(name, this);
        }

        @Override
        public Tensor forward(Tensor x) {
            int columns = x.dim(x.rank() - 1);
            long n = x.numel() / columns;
            Tensor f32 = x.dtype() == DType.F32 ? x : x.convertTo(DType.F32, TensorScope.current());
            Tensor flat = f32.reshape((int) n, columns);
            float[] squares = Reductions.sum(Elementwise.mul(flat, flat), 0, false).toFloatArray();
            if (sums == null) {
                sums = new double[columns];
            }
            for (int i = 0; i < columns; i++) {
                sums[i] += squares[i];
            }
            rows += n;
            return layer.forward(x);
        }

        void restore() {
            parent.replaceChild(name, (Module) layer);
        }
    }
}
