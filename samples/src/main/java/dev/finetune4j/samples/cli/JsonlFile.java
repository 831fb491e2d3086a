package dev.finetune4j.samples.cli;

import dev.finetune4j.data.format.JsonObjectLines;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Reads a JSONL file named on the command line through {@code data}'s strict reader; a bad line is a usage error. */
final class JsonlFile {
    private JsonlFile() {
    }

    /**
     * Every object of {@code file} with its line number.
     *
     * @param advice what the user can do about a bad line, appended to the error
     */
    static List<JsonObjectLines.Ok> read(Path file, String advice) {
        InputFile.require(file, "data file", "pass the path of a JSONL file");
        try {
            return JsonObjectLines.readAll(file);
        } catch (IOException e) {
            throw new BadInputException("cannot read " + e.getMessage() + "; " + advice, e);
        }
    }

    /**
     * As {@link #read}, refusing a file that holds no records: there is nothing to evaluate.
     *
     * @param advice what the user can do about a bad line, appended to the error
     */
    static List<JsonObjectLines.Ok> readRecords(Path file, String advice) {
        List<JsonObjectLines.Ok> rows = read(file, advice);
        if (rows.isEmpty()) {
            throw new BadInputException(file.toAbsolutePath() + " holds no records; give a JSONL file with one object a line");
        }
        return rows;
    }
}
