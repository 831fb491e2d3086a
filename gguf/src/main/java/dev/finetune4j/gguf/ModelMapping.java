package dev.finetune4j.gguf;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.models.gpt2.Gpt2Model;

import java.util.List;

/** One model family in llama.cpp's terms: its GGUF architecture, its {@code <arch>.*} keys and its tensors. */
interface ModelMapping {
    /** The GGUF architecture ({@code general.architecture}). */
    String architecture();

    /** The architecture's hyperparameters, keyed {@code <arch>.*}. */
    void putHyperparameters(GgufMetadata meta);

    /** What a K-quant or I-quant mix reads of the model beside each tensor (quantized without an importance matrix). */
    ModelLayout layout();

    /** Where each of the model's weights goes, in llama.cpp's order (tensors computed at export time aside). */
    List<Placement> placements();

    /**
     * The tensors under their GGUF names, in llama.cpp's order, stored as {@code type} decides for a file quantized
     * with an importance matrix ({@code importanceMatrix}) or without one.
     */
    List<GgufTensor> tensors(GgufType type, boolean importanceMatrix);

    /**
     * The mapping of {@code model}'s family.
     *
     * @throws IllegalArgumentException for a family or a setting GGUF cannot express
     */
    static ModelMapping of(LanguageModel model) {
        return switch (model) {
            case DecoderModel decoder -> new DecoderMapping(decoder);
            case Gpt2Model gpt2 -> new Gpt2Mapping(gpt2);
            default -> throw new IllegalArgumentException("GGUF export supports the decoder family ("
                    + DecoderHyperparameters.supportedTypes() + ") and gpt2, not " + model.getClass().getSimpleName()
                    + " (model_type '" + model.spec().modelType() + "'); export it to ONNX (OnnxExporter), or save it "
                    + "and convert it with llama.cpp's convert_hf_to_gguf.py");
        };
    }
}
