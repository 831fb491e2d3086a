package dev.finetune4j.gguf;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntUnaryOperator;
import java.util.function.UnaryOperator;

/**
 * Where one Hugging Face weight goes in a GGUF file, and how it is turned on the way.
 *
 * @param hfName     its name in the model's state dict
 * @param ggufName   its GGUF name
 * @param rowOrder   file row r is the weight's row {@code rowOrder(r)}; null keeps the order
 * @param columnOrder within each row, file column i is the weight's column {@code columnOrder(i)} (a vector's entry
 *                   i its entry {@code columnOrder(i)}); null keeps the order
 * @param values     what each value becomes: {@link Values#NONE}, 1 added for Gemma's and Qwen3.5's norms, which scale
 *                   by {@code 1 + w} where llama.cpp scales by the stored weight, or Qwen3.5's {@code A_log} as
 *                   {@code -exp(A_log)}
 * @param transposed whether the weight is stored (in, out), as GPT-2's Conv1D, and written (out, in)
 * @param expert     for one expert's matrix of a mixture, its index in the 3-D GGUF tensor that stacks the layer's
 *                   experts (ggml dims [in, out, experts]); -1 for a weight that is a GGUF tensor of its own
 * @param part       for one part of a weight that GGUF splits into several tensors, the part this tensor holds: a
 *                   range of its rows (Granite 4's fused {@code input_linear}: its gate rows, then its up rows) or a
 *                   view of it (gpt-oss's stacked {@code gate_up_proj}: one expert's gate or up columns, transposed);
 *                   null for the whole weight
 * @param factors    the factor each output row of the weight (of its part, as placed) is multiplied by before
 *                   {@code values}: Falcon-H1's muP multipliers, which the converter bakes into the weights as llama.cpp's
 *                   graph has none ({@link BakedMultipliers}); null for none
 */
record Placement(String hfName, String ggufName, IntUnaryOperator rowOrder, IntUnaryOperator columnOrder,
                 Values values, boolean transposed, int expert, Part part, RowFactors factors) {
    private static final String MERGE_HINT = "export the plain model: merge an adapter first with "
            + "PeftModel.mergeAndUnload() (the CLI's export-gguf --adapter does), or export a LoRA adapter alone as an "
            + "adapter GGUF (GgufExporter.exportLora)";

    /** A weight that is a GGUF tensor of its own, {@code shift} added to each value. */
    Placement(String hfName, String ggufName, IntUnaryOperator rowOrder, float shift, boolean transposed) {
        this(hfName, ggufName, rowOrder, null, Values.shift(shift), transposed, -1, null, null);
    }

    /** The factor of each output row of a weight, by its row index as placed (before the file's row order). */
    @FunctionalInterface
    interface RowFactors {
        /** The factor of row {@code row}. */
        float of(int row);
    }

    /** What each value of a weight becomes in the file, computed in float32 as the converter computes it. */
    @FunctionalInterface
    interface Values {
        /** Every value as it is. */
        Values NONE = v -> v;

        /** The file's value of weight value {@code v}. */
        float apply(float v);

        /** {@code v + shift}, or {@link #NONE} for a shift of 0. */
        static Values shift(float shift) {
            return shift == 0f ? NONE : v -> v + shift;
        }
    }

    /** Which part of a weight a GGUF tensor holds. */
    sealed interface Part permits RowRange, SelectedRows, View {
        /** The part of {@code weight} (as placed: transposed where the placement transposes), a view of it. */
        Tensor of(Tensor weight);
    }

    /** Rows {@code [first, first + count)} of a weight's output rows. */
    record RowRange(int first, int count) implements Part {
        @Override
        public Tensor of(Tensor weight) {
            return weight.slice(0, first, first + count);
        }
    }

    /**
     * {@code count} of a weight's output rows, which the placement's row order picks from all of them (Qwen3-Next's
     * in_proj_qkvz, whose rows per key head the converter regroups into the queries, keys and values of
     * {@code attn_qkv} and the gates of {@code attn_gate}): a strided view cannot say such a selection, so the part is
     * the whole weight and the file's tensor {@code count} rows.
     */
    record SelectedRows(int count) implements Part {
        @Override
        public Tensor of(Tensor weight) {
            return weight;
        }
    }

    /**
     * A view of a weight that reorders or strides it (one expert's matrix of a stacked parameter, every other column);
     * no LoRA factor is placed through one, as LoRA on stacked experts is refused ({@link LoraMapping}).
     */
    record View(UnaryOperator<Tensor> select) implements Part {
        @Override
        public Tensor of(Tensor weight) {
            return select.apply(weight);
        }
    }

    /** A weight written as it is. */
    static Placement plain(String hfName, String ggufName) {
        return new Placement(hfName, ggufName, null, 0f, false);
    }

    /**
     * A layer's weight and bias, {@code hf.weight} and {@code hf.bias} as {@code gguf.weight} and {@code gguf.bias},
     * the weight transposed when stored (in, out) (GPT-2's Conv1D).
     */
    static List<Placement> weightAndBias(String hf, String gguf, boolean transposed) {
        return List.of(new Placement(hf + ".weight", gguf + ".weight", null, 0f, transposed),
                plain(hf + ".bias", gguf + ".bias"));
    }

    /**
     * Weight {@code hfName} as the tensor {@code ggufName}, its rows and columns in the orders given (null: kept), its
     * values mapped by {@code values}, of it the part {@code part} (null: the whole weight), taken before the orders.
     */
    static Placement reordered(String hfName, String ggufName, IntUnaryOperator rowOrder, IntUnaryOperator columnOrder,
                               Values values, Part part) {
        return new Placement(hfName, ggufName, rowOrder, columnOrder, values, false, -1, part, null);
    }

    /**
     * Weight {@code hfName} viewed as the matrix (rows, columns), its values mapped by {@code values}: a recurrent
     * layer's convolution kernel (C, 1, K) as (C, K), or a vector of H as (H, 1), as the converter reshapes them.
     */
    static Placement reshaped(String hfName, String ggufName, Values values, int rows, int columns) {
        return reordered(hfName, ggufName, null, null, values, new View(w -> w.reshape(rows, columns)));
    }

    /** Expert {@code index}'s matrix, slice {@code index} of the stacked tensor {@code ggufName}. */
    static Placement expert(String hfName, String ggufName, int index) {
        return new Placement(hfName, ggufName, null, null, Values.NONE, false, index, null, null);
    }

    /** Rows {@code [first, first + count)} of weight {@code hfName}, written as it is as the tensor {@code ggufName}. */
    static Placement part(String hfName, String ggufName, int first, int count) {
        return reordered(hfName, ggufName, null, null, Values.NONE, new RowRange(first, count));
    }

    /**
     * Where a LoRA factor A (r, in) of this weight goes: whole (each part of a weight split in parts shares it), its
     * columns the weight's input columns, in their file order.
     */
    Placement forLoraA() {
        return reordered(hfName, ggufName, null, columnOrder, Values.NONE, null);
    }

    /**
     * Where a LoRA factor B (out, r) of this weight goes: the weight's output rows, in its file order and part, each
     * times the weight's row factor (the update {@code B A} of a weight baked as {@code diag(f) W} is
     * {@code diag(f) B A}), with the values as they are (an update adds to the weight, not to the norm's {@code 1 + w}).
     */
    Placement forLoraB() {
        return new Placement(hfName, ggufName, rowOrder, null, Values.NONE, false, expert, part, factors);
    }

    /** This placement with each output row of the weight multiplied by {@code rowFactors} (null: none). */
    Placement scaled(RowFactors rowFactors) {
        return new Placement(hfName, ggufName, rowOrder, columnOrder, values, transposed, expert, part, rowFactors);
    }

    /**
     * The view {@code select} of weight {@code hfName}: slice {@code index} of the stacked tensor {@code ggufName}
     * ({@code index} -1: a GGUF tensor of its own).
     */
    static Placement selected(String hfName, String ggufName, int index, UnaryOperator<Tensor> select) {
        return new Placement(hfName, ggufName, null, null, Values.NONE, false, index, new View(select), null);
    }

    /** Whether this weight is one expert's slice of a stacked tensor. */
    boolean isExpert() {
        return expert >= 0;
    }

    /**
     * The tensors of {@code stateDict} under their GGUF names, in the placements' order, stored as {@code type}
     * decides: each tensor taken (once, or part by part), and one left over (an adapter that was not merged) refused.
     */
    static List<GgufTensor> takeAll(Map<String, Tensor> stateDict, List<Placement> placements, GgufType type,
                                    ModelLayout layout) {
        Map<String, Tensor> remaining = new LinkedHashMap<>(stateDict);
        List<GgufTensor> out = new ArrayList<>();
        for (int i = 0; i < placements.size(); ) {
            Placement p = placements.get(i);
            int end = i + 1;
            while (p.isExpert() && end < placements.size() && placements.get(end).ggufName().equals(p.ggufName())) {
                end++;
            }
            List<ExpertMatrix> tensors = new ArrayList<>();
            for (Placement slice : placements.subList(i, end)) {
                Tensor t = remaining.remove(slice.hfName());
                if (t == null && slice.part() != null) {
                    t = stateDict.get(slice.hfName()); // the weight's other part took it already
                }
                if (t == null) {
                    throw new IllegalArgumentException("the model has no tensor '" + slice.hfName() + "', which GGUF's "
                            + slice.ggufName() + " needs; " + MERGE_HINT);
                }
                // an expert's part is taken in stacked(); a tensor of its own takes its part in tensor()
                tensors.add(new ExpertMatrix(t, slice.isExpert() ? slice.part() : null));
            }
            out.add(p.isExpert() ? stacked(p.ggufName(), tensors, type, layout)
                    : p.tensor(p.ggufName(), tensors.getFirst().weight(), type, layout));
            i = end;
        }
        if (!remaining.isEmpty()) {
            throw new IllegalArgumentException("the model holds " + remaining.size() + " tensors that GGUF's "
                    + layout.architecture() + " architecture has no place for, such as "
                    + remaining.keySet().stream().limit(5).toList() + "; " + MERGE_HINT);
        }
        return out;
    }

    /**
     * The experts' matrices {@code experts}, each (out, in) and in expert order, as one tensor {@code name} of ggml
     * dims [in, out, experts]: expert e's rows follow expert e - 1's, as the converter's {@code torch.stack} lays
     * them out.
     */
    private static GgufTensor stacked(String name, List<ExpertMatrix> experts, GgufType type, ModelLayout layout) {
        Tensor first = experts.getFirst().matrix();
        for (ExpertMatrix e : experts) {
            Tensor t = e.matrix();
            if (t.rank() != 2 || t.dim(0) != first.dim(0) || t.dim(1) != first.dim(1)) {
                throw new IllegalArgumentException("the experts of GGUF's " + name + " differ in shape ("
                        + first.shape() + " and " + t.shape() + "); a stacked expert tensor needs equal matrices");
            }
        }
        long[] dims = {first.dim(1), first.dim(0), experts.size()};
        return new GgufTensor(name, dims, type.storageOf(name, dims, layout), sink -> {
            try (TensorScope scope = TensorScope.open()) {
                Map<Tensor, Tensor> readable = new IdentityHashMap<>(); // each NF4 weight dequantized once
                for (ExpertMatrix e : experts) {
                    Tensor weight = readable.computeIfAbsent(e.weight(), w -> readable(w, scope));
                    TensorRows.reordered(e.of(weight), IntUnaryOperator.identity(), null, null, Values.NONE)
                            .forEach(sink);
                }
            }
        });
    }

    /** One expert's matrix: its weight, or the part of a stacked weight that is its ({@code part} null: all of it). */
    private record ExpertMatrix(Tensor weight, Part part) {
        Tensor matrix() {
            return of(weight);
        }

        Tensor of(Tensor readableWeight) {
            return part == null ? readableWeight : part.of(readableWeight);
        }
    }

    /**
     * {@code weight}, or for NF4 (a QLoRA base) its values in float32: NF4 blocks run over a whole tensor, so a
     * transposed or partial view of one cannot be read; the view is taken of the float copy instead.
     */
    private static Tensor readable(Tensor weight, TensorScope scope) {
        return weight.dtype() == DType.NF4 ? weight.convertTo(DType.F32, scope) : weight;
    }

    /**
     * {@code t} (this placement's weight, or a LoRA factor of it) under {@code name}, turned as placed and stored as
     * {@code type} stores it in a model of {@code layout}.
     */
    GgufTensor tensor(String name, Tensor t, GgufType type, ModelLayout layout) {
        Tensor turned = transposed ? t.transpose(0, 1) : t;
        if (part instanceof RowRange rows && (turned.rank() != 2 || (long) rows.first() + rows.count() > turned.dim(0))) {
            throw new IllegalArgumentException("GGUF's " + name + " is rows " + rows.first() + " to "
                    + (rows.first() + rows.count()) + " of '" + hfName + "', which has shape " + t.shape()
                    + "; the model's config and its weights disagree: check its intermediate size");
        }
        Tensor view = placed(t);
        long[] dims = TensorRows.ggmlDims(view);
        int rowCount = Math.toIntExact(view.numel() / view.dim(view.rank() - 1));
        if (part instanceof SelectedRows selected) {
            dims[1] = rowCount = selected.count();
        }
        int rows = rowCount;
        IntUnaryOperator order = rowOrder == null ? IntUnaryOperator.identity() : rowOrder;
        return new GgufTensor(name, dims, type.storageOf(name, dims, layout), sink -> {
            try (TensorScope scope = TensorScope.open()) {
                TensorRows.reordered(placed(readable(t, scope)), order, columnOrder, factors, values, rows).forEach(sink);
            }
        });
    }

    /** {@code t} turned as placed and cut to this placement's part: a view of it. */
    private Tensor placed(Tensor t) {
        Tensor turned = transposed ? t.transpose(0, 1) : t;
        return part == null ? turned : part.of(turned);
    }
}
