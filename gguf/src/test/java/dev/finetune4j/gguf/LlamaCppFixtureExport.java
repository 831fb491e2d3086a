package dev.finetune4j.gguf;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Not a check: writes each {@link ReferenceCase}'s GGUF (and LoRA adapter GGUF; for a K-quant case, the float32 GGUF
 * llama-quantize starts from, and its importance matrix if it has one), texts, token ids and the ubatch to decode them
 * in (where a case asks for one) into the folder named by
 * {@code -Dgguf.reference.out}, for tools/reference/gguf_llamacpp.sh to run llama.cpp on; with
 * {@code -Dgguf.reference.cases=REGEX}, only the cases whose name matches. Skipped otherwise.
 */
@EnabledIfSystemProperty(named = "gguf.reference.out", matches = ".+")
class LlamaCppFixtureExport {
    @Test
    void writeTheReferenceCases() throws Exception {
        Path out = Path.of(System.getProperty("gguf.reference.out"));
        Files.createDirectories(out);
        Pattern only = Pattern.compile(System.getProperty("gguf.reference.cases", ".*"));
        for (ReferenceCase c : ReferenceCase.ALL) {
            if (!only.matcher(c.name()).matches()) {
                continue;
            }
            try (LanguageModel model = c.model(); HfTokenizer tokenizer = c.loadTokenizer(out.resolve("tok-" + c.name()))) {
                ImportanceMatrix importance = c.importance(model, tokenizer);
                GgufExporter.export(model, tokenizer, out.resolve(c.name() + ".gguf"), c.lora() ? GgufType.F32 : c.type(),
                        importance, GgufProgress.NONE);
                if (c.type().isMix()) {
                    GgufExporter.export(model, tokenizer, out.resolve(c.name() + ".f32.gguf"), GgufType.F32);
                }
                if (importance != null) {
                    writeForLlamaQuantize(importance, out.resolve(c.name() + ".imatrix"));
                    importance.save(out.resolve(c.name() + ".imatrix.gguf"), ReferenceCase.IMATRIX_DATASET);
                }
                if (c.lora()) {
                    try (PeftModel adapted = c.adapted()) {
                        GgufExporter.exportLora(adapted, out.resolve(c.name() + ".lora.gguf"), c.type());
                    }
                }
                if (c.ubatch() > 0) {
                    Files.writeString(out.resolve(c.name() + ".ubatch"), Integer.toString(c.ubatch()));
                }
                Files.writeString(out.resolve(c.name() + ".texts"), String.join("\n", ReferenceCase.TEXTS) + "\n");
                long[] ids = c.logitsIds(tokenizer);
                Files.writeString(out.resolve(c.name() + ".ids"),
                        Arrays.stream(ids).mapToObj(Long::toString).collect(Collectors.joining(",")));
            }
        }
    }

    /** The importance matrix as tools/reference/llama_quantize.c reads it: name length, name, count, weights. */
    private static void writeForLlamaQuantize(ImportanceMatrix importance, Path file) throws Exception {
        try (var out = new java.io.DataOutputStream(new java.io.BufferedOutputStream(Files.newOutputStream(file)))) {
            for (String name : importance.tensorNames()) {
                byte[] bytes = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                float[] weights = importance.columnWeights(name);
                out.writeInt(Integer.reverseBytes(bytes.length));
                out.write(bytes);
                out.writeInt(Integer.reverseBytes(weights.length));
                for (float w : weights) {
                    out.writeInt(Integer.reverseBytes(Float.floatToRawIntBits(w)));
                }
            }
        }
    }
}
