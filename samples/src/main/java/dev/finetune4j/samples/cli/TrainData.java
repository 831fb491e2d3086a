package dev.finetune4j.samples.cli;

import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.peft.train.GrpoDataset;
import dev.finetune4j.peft.train.GrpoExample;
import dev.finetune4j.peft.train.KtoDataset;
import dev.finetune4j.peft.train.KtoExample;
import dev.finetune4j.peft.train.PreferenceDataset;
import dev.finetune4j.peft.train.PreferenceExample;
import dev.finetune4j.peft.train.SftDataset;
import dev.finetune4j.peft.train.SftExample;
import dev.finetune4j.peft.train.SftFormat;
import dev.finetune4j.peft.train.TokenizedDataset;
import dev.finetune4j.peft.train.TokenizedExample;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Reads the {@code train} command's JSONL files into token ids: SFT rows (prompt and response fields, the prompt
 * laid out by the template and masked from the loss, the response followed by EOS), SFT conversation rows (OpenAI
 * {@code messages} with optional {@code tools}, or ShareGPT {@code conversations} with optional function_call and
 * observation turns and {@code tools}, laid out by the tokenizer's chat
 * template; the assistant turns trained, tool calls included, the rest masked), DPO rows
 * ({@code prompt}, {@code chosen}, {@code rejected}, TRL's format), KTO rows ({@code prompt}, {@code completion},
 * {@code label}: TRL's unpaired format) or GRPO rows ({@code prompt}, optional {@code answer}). Rows longer than {@code max_length} (which
 * the caller has checked against the model's limit) are cut as the user asked, with a warning that counts them. An
 * SFT row whose prompt fills {@code max_length} keeps no answer token and teaches nothing: a warning counts such
 * rows, and a file of nothing else is bad input, as training on it only gives a NaN loss.
 */
final class TrainData {
    private final Tokenizer tok;
    private final String template;
    private final int maxLength;
    private final PrintWriter warnings;

    TrainData(Tokenizer tok, String template, int maxLength, PrintWriter warnings) {
        this.tok = tok;
        this.template = template;
        this.maxLength = maxLength;
        this.warnings = warnings;
    }

    /**
     * SFT rows of {@code file}: prompt/response rows, or (no field named and the first row a conversation)
     * conversation rows.
     *
     * @param promptField   the prompt's field, null for the default ({@code instruction})
     * @param responseField the response's field, null for the default ({@code output})
     */
    TokenizedDataset sft(Path file, String promptField, String responseField) {
        List<Row> rows = rows(file);
        if (promptField == null && responseField == null && rows.getFirst().isConversation()) {
            if (template != null && !ModelInputs.CHAT.equals(template)) {
                throw new BadInputException(file + " holds conversations, which the tokenizer's chat template lays out; "
                        + "remove data.prompt_template '" + template + "' (or set it to chat), or give prompt/response "
                        + "rows with data.prompt_field and data.response_field");
            }
            return tokenized(file, rows, this::conversation);
        }
        String prompt = promptField == null ? "instruction" : promptField;
        String response = responseField == null ? "output" : responseField;
        return tokenized(file, rows, row -> SftDataset.promptCompletion(
                ModelInputs.encodePrompt(template, tok, row.text(prompt)),
                withEos(tok.encode(row.text(response))), 0));
    }

    /**
     * One conversation row (OpenAI {@code messages} with optional {@code tools}, or ShareGPT {@code conversations}),
     * read by {@link ConversationRow} and tokenized by the library's one masker: assistant turns trained,
     * their tool calls included, the rest (tool results too) masked.
     */
    private TokenizedExample conversation(Row row) {
        if (!row.isConversation()) {
            throw row.bad("not a conversation (fields " + row.object().keySet() + "); the file's first row is one, so "
                    + "every row needs messages (OpenAI, with optional tools) or conversations (ShareGPT)");
        }
        SftExample example;
        try {
            example = ConversationRow.read(row.object());
        } catch (IllegalArgumentException e) {
            throw row.bad(e.getMessage());
        }
        try {
            return SftDataset.fromExamples(List.of(example), tok, SftFormat.defaults()).get(0);
        } catch (IllegalArgumentException | IllegalStateException e) {
            // SftDataset names the example by its index in the list, always 0 here: the line says which row
            throw row.bad(e.getMessage().replaceFirst("^example 0:? ", ""));
        }
    }

    /** Tokenizes each row whole, then cuts to max_length with warnings that count the cut and the untrained rows. */
    private TokenizedDataset tokenized(Path file, List<Row> rows, Function<Row, TokenizedExample> tokenize) {
        List<TokenizedExample> out = new ArrayList<>();
        int cut = 0;
        int untrained = 0;
        for (Row row : rows) {
            TokenizedExample whole = tokenize.apply(row);
            cut += whole.length() > maxLength ? 1 : 0;
            TokenizedExample example = whole.truncated(maxLength);
            untrained += example.lossTokens() == 0 ? 1 : 0;
            out.add(example);
        }
        String noAnswer = " keep no answer token after the cut to data.max_length = " + maxLength
                + " tokens (their prompts fill it)";
        String fix = "; raise data.max_length or shorten the prompts";
        if (untrained == out.size()) {
            throw new BadInputException("all " + untrained + " rows of " + file + noAnswer
                    + ", so there is nothing to train on" + fix);
        }
        warnIfCut(file, cut, out.size());
        if (untrained > 0) {
            warnings.printf("warning: %d of %d rows of %s%s%s%n", untrained, out.size(), file, noAnswer, fix);
            warnings.flush();
        }
        return TokenizedDataset.of(out);
    }

    PreferenceDataset dpo(Path file) {
        List<PreferenceExample> out = new ArrayList<>();
        int cut = 0;
        for (Row row : rows(file)) {
            long[] prompt = promptOf(row);
            long[] chosen = withEos(tok.encode(row.text("chosen")));
            long[] rejected = withEos(tok.encode(row.text("rejected")));
            int room = maxLength - prompt.length;
            if (chosen.length > room || rejected.length > room) {
                cut++;
                chosen = Arrays.copyOf(chosen, Math.min(room, chosen.length));
                rejected = Arrays.copyOf(rejected, Math.min(room, rejected.length));
            }
            out.add(new PreferenceExample(prompt, chosen, rejected, row.margin()));
        }
        warnIfCut(file, cut, out.size());
        return PreferenceDataset.of(out);
    }

    /** KTO rows of {@code file}: the prompt laid out by the template, the completion followed by EOS. */
    KtoDataset kto(Path file) {
        List<KtoExample> out = new ArrayList<>();
        int cut = 0;
        for (Row row : rows(file)) {
            long[] prompt = promptOf(row);
            long[] completion = withEos(tok.encode(row.text("completion")));
            if (!(row.object().get("label") instanceof Boolean desirable)) {
                throw row.bad("field 'label' is missing or not true/false; KTO rows are {\"prompt\", \"completion\", "
                        + "\"label\": true (desirable) or false (undesirable)}");
            }
            int room = maxLength - prompt.length;
            if (completion.length > room) {
                cut++;
                completion = Arrays.copyOf(completion, room);
            }
            out.add(new KtoExample(prompt, completion, desirable));
        }
        warnIfCut(file, cut, out.size());
        try {
            return KtoDataset.of(out);
        } catch (IllegalArgumentException e) { // a single row
            throw new BadInputException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * GRPO rows of {@code file}: {@code prompt} (laid out by the template; the reward functions see the text as
     * written) and, on every row or none, {@code answer} (for an exact_match reward). A row with {@code chosen},
     * {@code rejected} or {@code completion} is refused: it belongs to a preference or KTO file.
     */
    GrpoRows grpo(Path file) {
        List<GrpoExample> prompts = new ArrayList<>();
        Map<String, String> answers = new HashMap<>();
        List<Row> rows = rows(file);
        boolean withAnswers = rows.getFirst().object().containsKey("answer");
        for (Row row : rows) {
            for (String other : List.of("chosen", "rejected", "completion")) {
                if (row.object().containsKey(other)) {
                    throw row.bad("has a '" + other + "' field, so it is a preference or KTO row: GRPO samples the "
                            + "completions itself and reads rows {\"prompt\": ...} (+ \"answer\" for exact_match)");
                }
            }
            String text = row.text("prompt");
            prompts.add(new GrpoExample(promptOf(row), text));
            if (withAnswers != row.object().containsKey("answer")) {
                throw row.bad("has " + (withAnswers ? "no" : "an") + " 'answer' field, unlike line " + rows.getFirst().line()
                        + ": give every row an answer, or none");
            }
            if (withAnswers) {
                String answer = row.text("answer");
                String earlier = answers.putIfAbsent(text, answer);
                if (earlier != null && !earlier.equals(answer)) {
                    throw row.bad("repeats an earlier prompt with another answer; exact_match needs one answer per prompt");
                }
            }
        }
        return new GrpoRows(GrpoDataset.of(prompts), answers);
    }

    /**
     * GRPO's prompts and, when the rows have them, each prompt's answer by its text.
     *
     * @param prompts the prompts
     * @param answers answer by prompt text; empty when the rows have none
     */
    record GrpoRows(GrpoDataset prompts, Map<String, String> answers) {
    }

    /** The row's prompt laid out by the template, refused when it leaves no room under max_length. */
    private long[] promptOf(Row row) {
        long[] prompt = ModelInputs.encodePrompt(template, tok, row.text("prompt"));
        if (prompt.length >= maxLength) {
            throw row.bad("the prompt alone has " + prompt.length + " tokens, data.max_length is " + maxLength
                    + "; shorten the prompt or raise max_length");
        }
        return prompt;
    }

    private void warnIfCut(Path file, int cut, int rows) {
        if (cut > 0) {
            warnings.printf("warning: %d of %d rows of %s were cut to data.max_length = %d tokens%n", cut, rows, file,
                    maxLength);
            warnings.flush();
        }
    }

    private long[] withEos(long[] ids) {
        return tok.eosTokenId().isPresent() ? concat(ids, new long[]{tok.eosTokenId().getAsLong()}) : ids;
    }

    private static long[] concat(long[] a, long[] b) {
        long[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** One JSON line with where it came from, for errors. */
    private record Row(Map<String, Object> object, Path file, long line) {
        String text(String field) {
            if (!(object.get(field) instanceof String text)) {
                throw bad("field '" + field + "' is missing or not a string; set data.prompt_field / "
                        + "data.response_field (SFT) or use prompt/chosen/rejected (DPO), prompt/completion/label (KTO) or "
                        + "prompt/answer (GRPO)");
            }
            return text;
        }

        /** The row's optional {@code margin} (TRL's column for reward models), 0 without one. */
        double margin() {
            Object margin = object.get("margin");
            if (margin == null) {
                return 0;
            }
            if (!(margin instanceof Number number) || !Double.isFinite(number.doubleValue())) {
                throw bad("field 'margin' must be a finite number (how much higher the chosen response should score), "
                        + "got " + margin);
            }
            return number.doubleValue();
        }

        /** Whether the row is a conversation: OpenAI messages or ShareGPT conversations. */
        boolean isConversation() {
            return ConversationRow.isConversation(object);
        }

        BadInputException bad(String problem) {
            return new BadInputException(file + " line " + line + ": " + problem);
        }
    }

    private static List<Row> rows(Path file) {
        List<Row> rows = JsonlFile.read(file, "run 'finetune4j prepare' first, which quarantines bad lines").stream()
                .map(ok -> new Row(ok.object(), file, ok.line())).toList();
        if (rows.isEmpty()) {
            throw new BadInputException("data file " + file + " has no records");
        }
        return rows;
    }
}
