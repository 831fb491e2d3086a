package dev.finetune4j.samples.cli;

import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.peft.train.PreferenceDataset;
import dev.finetune4j.peft.train.PreferenceExample;
import dev.finetune4j.peft.train.SftDataset;
import dev.finetune4j.peft.train.TokenizedDataset;
import dev.finetune4j.peft.train.TokenizedExample;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Reads the {@code train} command's JSONL files into token ids: SFT rows (prompt and response fields, the prompt
 * laid out by the template and masked from the loss, the response followed by EOS), or DPO rows
 * ({@code prompt}, {@code chosen}, {@code rejected}, TRL's format). Rows longer than {@code max_length} (which
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

    TokenizedDataset sft(Path file, String promptField, String responseField) {
        List<TokenizedExample> out = new ArrayList<>();
        int cut = 0;
        int untrained = 0;
        for (Row row : rows(file)) {
            long[] prompt = tok.encode(ModelInputs.renderPrompt(template, tok, row.text(promptField)));
            long[] response = withEos(tok.encode(row.text(responseField)));
            cut += prompt.length + response.length > maxLength ? 1 : 0;
            TokenizedExample example = SftDataset.promptCompletion(prompt, response, maxLength);
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
            long[] prompt = tok.encode(ModelInputs.renderPrompt(template, tok, row.text("prompt")));
            long[] chosen = withEos(tok.encode(row.text("chosen")));
            long[] rejected = withEos(tok.encode(row.text("rejected")));
            int room = maxLength - prompt.length;
            if (room < 1) {
                throw new BadInputException(file + " line " + row.line() + ": the prompt alone has " + prompt.length
                        + " tokens, data.max_length is " + maxLength + "; shorten the prompt or raise max_length");
            }
            if (chosen.length > room || rejected.length > room) {
                cut++;
                chosen = Arrays.copyOf(chosen, Math.min(room, chosen.length));
                rejected = Arrays.copyOf(rejected, Math.min(room, rejected.length));
            }
            out.add(new PreferenceExample(prompt, chosen, rejected));
        }
        warnIfCut(file, cut, out.size());
        return PreferenceDataset.of(out);
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
                throw new BadInputException(file + " line " + line + ": field '" + field + "' is missing or not a "
                        + "string; set data.prompt_field / data.response_field (SFT) or use prompt/chosen/rejected (DPO)");
            }
            return text;
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
