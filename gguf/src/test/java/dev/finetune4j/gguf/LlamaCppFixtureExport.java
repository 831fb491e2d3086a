package dev.finetune4j.gguf;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Not a check: writes each {@link ReferenceCase}'s GGUF (and LoRA adapter GGUF; for a K-quant case, the float32 GGUF
 * llama-quantize starts from), texts and token ids into the folder named by {@code -Dgguf.reference.out}, for
 * tools/reference/gguf_llamacpp.sh to run llama.cpp on. Skipped otherwise.
 */
@EnabledIfSystemProperty(named = "gguf.reference.out", matches = ".+")
class LlamaCppFixtureExport {
    @Test
    void writeTheReferenceCases() throws Exception {
        Path out = Path.of(System.getProperty("gguf.reference.out"));
        Files.createDirectories(out);
        for (ReferenceCase c : ReferenceCase.ALL) {
            try (LanguageModel model = c.model(); HfTokenizer tokenizer = c.loadTokenizer(out.resolve("tok-" + c.name()))) {
                GgufExporter.export(model, tokenizer, out.resolve(c.name() + ".gguf"), c.lora() ? GgufType.F32 : c.type());
                if (c.type().isKQuantMix()) {
                    GgufExporter.export(model, tokenizer, out.resolve(c.name() + ".f32.gguf"), GgufType.F32);
                }
                if (c.lora()) {
                    try (PeftModel adapted = c.adapted()) {
                        GgufExporter.exportLora(adapted, out.resolve(c.name() + ".lora.gguf"), c.type());
                    }
                }
                Files.writeString(out.resolve(c.name() + ".texts"), String.join("\n", ReferenceCase.TEXTS) + "\n");
                long[] ids = tokenizer.encodeWithSpecialTokens(ReferenceCase.LOGITS_TEXT, 64);
                Files.writeString(out.resolve(c.name() + ".ids"),
                        Arrays.stream(ids).mapToObj(Long::toString).collect(Collectors.joining(",")));
            }
        }
    }
}
