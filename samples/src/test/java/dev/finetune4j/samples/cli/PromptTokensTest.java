package dev.finetune4j.samples.cli;

import dev.finetune4j.core.models.ReferenceFolders;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.peft.train.TokenizedExample;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The CLI's prompts start as TRL's trainers and transformers' pipelines start them, with a Llama-style tokenizer whose
 * post-processor adds BOS: a plain template's text gets BOS ({@code tokenizer(prompt)}), a chat template's render gets
 * no token it does not write itself ({@code apply_chat_template(..., tokenize=True)}).
 */
class PromptTokensTest {
    private static final long BOS = 1;
    private static final long EOS = 2;
    private static final String PLAIN = "Q: {prompt}\nA: ";

    @TempDir
    Path dir;

    private HfTokenizer llamaTokenizer() throws Exception {
        return HfTokenizer.load(ReferenceFolders.copy("tokenizer/sentencepiece-bos",
                List.of("tokenizer.json", "tokenizer_config.json"), dir.resolve("tok")));
    }

    @Test
    void plainTemplateRowsStartWithBosInSftDpoAndKto() throws Exception {
        try (HfTokenizer tok = llamaTokenizer()) {
            long[] prompt = concat(new long[]{BOS}, tok.encode("Q: hello\nA: "));
            TrainData data = new TrainData(tok, PLAIN, 64, new PrintWriter(new StringWriter()));

            Path sft = Files.writeString(dir.resolve("sft.jsonl"), "{\"instruction\": \"hello\", \"output\": \"world\"}\n");
            TokenizedExample row = data.sft(sft, null, null).get(0);
            assertArrayEquals(concat(prompt, tok.encode("world"), new long[]{EOS}), row.inputIds());
            assertEquals(-100, row.labels()[prompt.length - 1], "the prompt, BOS included, is masked");

            Path dpo = Files.writeString(dir.resolve("dpo.jsonl"),
                    "{\"prompt\": \"hello\", \"chosen\": \"world\", \"rejected\": \"hello\"}\n");
            assertArrayEquals(prompt, data.dpo(dpo).get(0).prompt());

            Path kto = Files.writeString(dir.resolve("kto.jsonl"),
                    "{\"prompt\": \"hello\", \"completion\": \"world\", \"label\": true}\n"
                            + "{\"prompt\": \"hello\", \"completion\": \"hello\", \"label\": false}\n");
            assertArrayEquals(prompt, data.kto(kto).get(0).prompt());
        }
    }

    @Test
    void chatTemplatePromptsGetOnlyTheTokensTheTemplateWrites() throws Exception {
        try (HfTokenizer tok = llamaTokenizer()) {
            // no template of its own: ChatML, which writes no BOS
            String rendered = "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n";
            assertArrayEquals(tok.encode(rendered), ModelInputs.encodePrompt(ModelInputs.CHAT, tok, "hello"));
            assertArrayEquals(tok.encode(rendered), ModelInputs.encodePrompt(null, tok, "hello"));
            assertArrayEquals(concat(new long[]{BOS}, tok.encode("Q: hello\nA: ")), ModelInputs.encodePrompt(PLAIN, tok, "hello"));
        }
    }

    private static long[] concat(long[]... parts) {
        long[] out = new long[0];
        for (long[] part : parts) {
            int at = out.length;
            out = Arrays.copyOf(out, at + part.length);
            System.arraycopy(part, 0, out, at, part.length);
        }
        return out;
    }
}
