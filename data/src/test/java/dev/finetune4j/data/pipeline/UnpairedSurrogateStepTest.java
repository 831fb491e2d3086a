package dev.finetune4j.data.pipeline;

import dev.finetune4j.data.dedup.NearDedup;
import dev.finetune4j.data.dedup.NearDedupConfig;
import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.record.Record;
import dev.finetune4j.data.split.SplitSpec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A step that cuts text inside a surrogate pair (by char count, through an emoji) is named with the record, whether
 * the record goes through near dedup's spool (which failed with a bare MalformedInputException) or straight to the
 * output (which wrote '?' in its place).
 */
class UnpairedSurrogateStepTest {
    @TempDir
    Path dir;

    /** Keeps the first 7 chars of the text: "emoji 😀 ..." ends inside the emoji's pair. */
    record FirstSevenChars() implements Step.Stateless {
        @Override
        public String name() {
            return "first-seven-chars";
        }

        @Override
        public Map<String, Object> params() {
            return Map.of();
        }

        @Override
        public Outcome apply(Record r) {
            Map<String, Object> fields = new LinkedHashMap<>(r.fields());
            fields.put("text", r.string("text").substring(0, 7));
            return Outcome.change(r.withFields(fields), "cut");
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aStepThatCutsInsideAnEmojiIsNamedWithTheRecord(boolean nearDedup) throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            lines.add("{\"text\": \"emoji \\ud83d\\ude00 number " + i + " of the test\"}");
        }
        Path input = Files.write(dir.resolve("in.jsonl"), lines);
        Pipeline.Builder b = Pipeline.builder().read(Formats.jsonl(input)).step(new FirstSevenChars())
                .split(SplitSpec.ratio(0.5, 0.25, 0.25).seed(1)).write(dir.resolve("out"));
        if (nearDedup) {
            b.step(new NearDedup(NearDedupConfig.defaults()));
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, b::run);
        assertTrue(e.getMessage().contains("in.jsonl:") && e.getMessage().contains("text holds an unpaired UTF-16 surrogate")
                && e.getMessage().contains("offsetByCodePoints"), e.getMessage());
    }
}
