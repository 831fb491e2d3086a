package dev.finetune4j.samples.quickstart;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.peft.train.SftDataset;
import dev.finetune4j.peft.train.TokenizedDataset;
import dev.finetune4j.peft.train.TokenizedExample;
import dev.finetune4j.samples.quickstart.data.PromptFormat;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One prepared support example: its intent, language, (redacted) question and answer.
 *
 * @param label    intent
 * @param lang     {@code en} or {@code zh}
 * @param question the customer's question
 * @param answer   the reference answer
 */
public record QaExample(String label, String lang, String question, String answer) {

    /** The examples of a prepared alpaca-shaped JSONL file ({@code instruction}, {@code output}). */
    public static List<QaExample> read(Path jsonl) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<QaExample> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(jsonl, StandardCharsets.UTF_8)) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode n = json.readTree(line);
                out.add(new QaExample(n.path("label").asText(""), n.path("lang").asText(""),
                        n.path("instruction").asText(), n.path("output").asText()));
            }
        }
        return out;
    }

    /** The prompt text the model sees. */
    public String prompt() {
        return PromptFormat.prompt(question);
    }

    /** Prompt and completion as one document (what perplexity is computed over). */
    public String document() {
        return prompt() + PromptFormat.completion(answer);
    }

    /** Prompt + completion ids with the prompt masked (-100): the loss covers the answer only. */
    public TokenizedExample tokenized(Tokenizer tok) {
        return SftDataset.promptCompletion(tok.encode(prompt()), tok.encode(PromptFormat.completion(answer)), 0);
    }

    /** The examples tokenized for completion-only SFT. */
    public static TokenizedDataset dataset(List<QaExample> examples, Tokenizer tok) {
        return TokenizedDataset.of(examples.stream().map(e -> e.tokenized(tok)).toList());
    }
}
