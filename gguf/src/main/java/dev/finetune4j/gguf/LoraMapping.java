package dev.finetune4j.gguf;

import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.peft.AdapterLayer;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.ExpertsLora;
import dev.finetune4j.peft.lora.LoraLinear;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A LoRA adapter as llama.cpp's adapter GGUF holds it: for each adapted matrix {@code W} of GGUF name {@code N},
 * {@code N.lora_a} (ggml dims [in, r], PEFT's {@code lora_A.weight} as it is) and {@code N.lora_b} ([r, out],
 * {@code lora_B.weight}, its rows permuted as W's are where the architecture rotates adjacent pairs and the model
 * halves: llama, granite, granitehybrid, smollm3, arcee; A's columns and B's rows as W's where Qwen3.5's value heads are regrouped), and one
 * {@code adapter.lora.alpha}; a weight the model's GGUF splits (Granite 4's {@code input_linear}
 * into {@code ffn_gate} and {@code ffn_up}) gives each part A and its own rows of B, as
 * {@code B[part] A = (B A)[part]}
 * for the file: llama.cpp scales each update by {@code alpha / r}, r being that pair's rank. An adapter whose
 * modules scale differently relative to their ranks (a per-module {@code alpha_pattern}) cannot be said with one
 * alpha and is refused, as are DoRA, adapters other than LoRA, LoRA on single or stacked (gpt-oss) experts, LoRA on
 * modules GGUF has no matrix for, and LoRA on matrices the graph multiplies without adapters (deepseek2's queries and
 * latents: {@code q_proj}, {@code q_a_proj}, {@code q_b_proj}, {@code kv_a_proj_with_mqa} and {@code kv_b_proj}, which
 * its file splits into {@code attn_k_b} and {@code attn_v_b}; gemma4's {@code per_layer_model_projection}).
 */
final class LoraMapping {
    private static final String MERGE_INSTEAD = "merge the adapter into the model and export the model instead "
            + "(GgufExporter.export after PeftModel.mergeAndUnload(), or finetune4j export-gguf --adapter)";

    private final DecoderMapping family;
    private final List<GgufTensor> tensors = new ArrayList<>();
    private final double alpha;

    LoraMapping(PeftModel adapter, GgufType type) {
        if (!(adapter.base() instanceof DecoderModel decoder)) {
            throw new IllegalArgumentException("LoRA GGUF export supports adapters of the decoder family ("
                    + DecoderHyperparameters.supportedTypes() + "), not of "
                    + adapter.base().getClass().getSimpleName() + " (model_type '" + adapter.spec().modelType() + "')");
        }
        if (adapter.virtualTokens() > 0) {
            throw new IllegalArgumentException("the adapter adds virtual tokens (prompt or prefix tuning), which "
                    + "llama.cpp's adapters cannot carry; only LoRA adapters export as an adapter GGUF");
        }
        if (type.isMix()) {
            throw new IllegalArgumentException("an adapter GGUF cannot be stored as " + type + ": llama.cpp's K-quant "
                    + "and I-quant mixes are for whole models, and a LoRA factor's rank-sized rows are not whole "
                    + "super-blocks; "
                    + "export the adapter as f16 or q8_0, or merge it and export the model as " + type.name()
                    .toLowerCase(Locale.ROOT));
        }
        this.family = new DecoderMapping(decoder);
        Map<String, List<Placement>> byName = new HashMap<>();
        family.placements().forEach(p -> byName.computeIfAbsent(p.hfName(), n -> new ArrayList<>()).add(p));
        Double common = null;
        for (Map.Entry<String, Module> e : decoder.namedModules().entrySet()) {
            String path = e.getKey();
            if (e.getValue() instanceof ExpertsLora) {
                throw new IllegalArgumentException("module '" + path + "' carries LoRA on gpt-oss's stacked experts "
                        + "(target_parameters); llama.cpp applies LoRA to its ffn_*_exps tensors only as 3-D factors of "
                        + "every expert at once, which this export does not write: " + MERGE_INSTEAD);
            }
            if (!(e.getValue() instanceof LoraLinear lora)) {
                if (e.getValue() instanceof AdapterLayer) {
                    throw new IllegalArgumentException("module '" + path + "' carries a " + e.getValue().getClass()
                            .getSimpleName() + ", not LoRA: llama.cpp's adapter GGUF holds LoRA only; " + MERGE_INSTEAD);
                }
                continue;
            }
            if (lora.doraMagnitude() != null) {
                throw new IllegalArgumentException("module '" + path + "' is DoRA, whose magnitude vector llama.cpp's "
                        + "adapters cannot apply; " + MERGE_INSTEAD);
            }
            List<Placement> places = byName.get(path + ".weight");
            if (places == null) {
                throw new IllegalArgumentException("module '" + path + "' carries LoRA, but GGUF's "
                        + family.architecture() + " architecture has no matrix for it; " + MERGE_INSTEAD);
            }
            List<String> adapterless = places.stream().map(p -> matrixName(p.ggufName())).distinct()
                    .filter(family.graph().adapterlessMatrices()::contains).toList();
            if (!adapterless.isEmpty()) {
                throw new IllegalArgumentException("module '" + path + "' carries LoRA, but llama.cpp's "
                        + family.architecture() + " graph multiplies its " + String.join(" and ", adapterless)
                        + " without adapters (ggml_mul_mat, not build_lora_mm), so the adapter GGUF would load and "
                        + "change nothing there: target the projections it adapts (deepseek2: o_proj and the MLPs', "
                        + "dense layers' and shared experts'; gemma4: all but per_layer_model_projection), or "
                        + MERGE_INSTEAD);
            }
            if (places.getFirst().isExpert()) {
                throw new IllegalArgumentException("module '" + path + "' is one expert of a mixture and carries LoRA; "
                        + "llama.cpp applies LoRA to the stacked " + places.getFirst().ggufName() + " only as 3-D factors of every "
                        + "expert at once, which this export does not write: target the attention projections (and "
                        + "the router or shared expert) only, or " + MERGE_INSTEAD);
            }
            int rank = lora.loraA().dim(0);
            double moduleAlpha = (double) lora.scaling() * rank;
            if (common != null && Math.abs(moduleAlpha - common) > 1e-5 * Math.abs(common)) {
                throw new IllegalArgumentException("module '" + path + "' scales its update by " + lora.scaling()
                        + " at rank " + rank + " (alpha " + moduleAlpha + ") where others use alpha " + common
                        + ": an adapter GGUF has one alpha for all modules (llama.cpp scales by alpha / rank); "
                        + MERGE_INSTEAD);
            }
            common = moduleAlpha;
            for (Placement place : places) {
                // A (r, in) has the weight's input columns and B (out, r) its output rows, each in the weight's file
                // order (Qwen3.5's regrouped value heads), and of a weight split in parts (Granite 4's input_linear)
                // each part's rows of B beside the whole A
                tensors.add(place.forLoraA().tensor(place.ggufName() + ".lora_a", lora.loraA(), type,
                        family.layout()));
                tensors.add(place.forLoraB().tensor(place.ggufName() + ".lora_b", lora.loraB(), type, family.layout()));
            }
        }
        if (common == null) {
            throw new IllegalArgumentException("the adapter has no LoRA layer; only LoRA adapters export as an adapter "
                    + "GGUF: " + MERGE_INSTEAD);
        }
        this.alpha = common;
    }

    /** A layer's matrix of GGUF name {@code blk.N.<matrix>.weight}: {@code <matrix>}. */
    private static String matrixName(String ggufName) {
        String inLayer = ggufName.substring(ggufName.indexOf('.', ggufName.indexOf('.') + 1) + 1);
        return inLayer.substring(0, inLayer.lastIndexOf('.'));
    }

    /** The base model's GGUF architecture, which llama.cpp checks the adapter against. */
    String architecture() {
        return family.architecture();
    }

    /** {@code adapter.lora.alpha}: every module's scaling times its rank. */
    double alpha() {
        return alpha;
    }

    /** The {@code .lora_a} and {@code .lora_b} tensors, module by module. */
    List<GgufTensor> tensors() {
        return tensors;
    }
}
