package dev.finetune4j.core.generate.json;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * Masks per second at several states, on a synthetic byte-level vocabulary of about 150k tokens (or a real
 * {@code tokenizer.json} given as the first argument). A measurement to run by hand, not a test:
 *
 * <pre>
 * mvn -B -o -q test-compile -pl core
 * mvn -B -o -q dependency:build-classpath -pl core -Dmdep.outputFile=/tmp/cp.txt
 * java -cp core/target/classes:core/target/test-classes:$(cat /tmp/cp.txt) \
 *     dev.finetune4j.core.generate.json.JsonMaskBenchmark [tokenizer.json]
 * </pre>
 *
 * Each state is timed over at least one second after a one-second warm-up; the allowed count shows what the mask
 * holds there.
 */
public final class JsonMaskBenchmark {
    private JsonMaskBenchmark() {
    }

    record State(String name, JsonGrammar grammar, String prefix) {
    }

    public static void main(String[] args) {
        long t0 = System.nanoTime();
        TokenBytes vocab = args.length > 0 ? TokenBytes.fromTokenizerJson(Path.of(args[0])) : SyntheticVocab.build(150_000, 42);
        long t1 = System.nanoTime();
        vocab.index();
        long t2 = System.nanoTime();
        System.out.printf("vocabulary: %d ids (%s); read %.0f ms, trie and plain set built in %.0f ms; %d plain-content tokens%n",
                vocab.size(), args.length > 0 ? args[0] : "synthetic", (t1 - t0) / 1e6, (t2 - t1) / 1e6,
                JsonConstraintTest.ids(vocab.index().plain).size());
        JsonGrammar any = JsonGrammar.anyObject();
        JsonGrammar person = JsonGrammar.fromSchema(JsonConstraintTest.PERSON, true);
        List<State> states = List.of(
                new State("start (json_object)", any, ""),
                new State("structure: after {", any, "{"),
                new State("structure: value start after \"a\": ", any, "{\"a\": "),
                new State("structure: after a value", any, "{\"a\": \"x\""),
                new State("inside a number", any, "{\"a\": 12"),
                new State("inside a free string (value)", any, "{\"a\": \"hello "),
                new State("inside a free string (key)", any, "{\"ab"),
                new State("inside a string after a partial UTF-8 byte", any, "{\"a\": \"\u00e4"),
                new State("schema: strict key due", person, "{\"name\": \"Ada\", "),
                new State("schema: string maxLength 8", person, "{\"name\": \"Ad"),
                new State("schema: enum value", person, "{\"name\": \"A\", \"age\": 1, \"score\": 2, \"tags\": [\"x\"], \"kind\": "),
                new State("schema: 9,000-value enum, shared prefix read", largeEnum(), "\"" + ENUM_PREFIX));
        int eos = vocab.size() - 1;
        for (State s : states) {
            JsonConstraint c = new JsonConstraint(s.grammar(), vocab, eos);
            byte[] prefix = s.prefix().getBytes(StandardCharsets.UTF_8);
            if (s.name().contains("partial")) {
                prefix = java.util.Arrays.copyOf(prefix, prefix.length - 1);
            }
            for (byte b : prefix) {
                c.accept(findByteToken(vocab, b));
            }
            long[] mask = new long[(vocab.size() + 63) >>> 6];
            run(c, mask, 1_000_000_000L);
            long start = System.nanoTime();
            long n = run(c, mask, 1_000_000_000L);
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("%-45s %9.0f masks/s %9.1f us/mask  allowed %d%n", s.name(), n / seconds,
                    seconds * 1e6 / n, JsonConstraintTest.ids(mask).size());
        }
    }

    private static final String ENUM_PREFIX = "customer-account-status-code-";

    /** A hostile client's schema: 9,000 strings that share a 29-character prefix, in no order. */
    private static JsonGrammar largeEnum() {
        StringBuilder schema = new StringBuilder("{\"enum\": [");
        for (int i = 0; i < 9_000; i++) {
            schema.append(i == 0 ? "" : ", ").append('"').append(ENUM_PREFIX).append((i * 7919) % 9_000).append('"');
        }
        return JsonGrammar.fromSchema(schema.append("]}").toString(), false);
    }

    private static long run(JsonConstraint c, long[] mask, long nanos) {
        long end = System.nanoTime() + nanos;
        long n = 0;
        while (System.nanoTime() < end) {
            for (int i = 0; i < 10; i++) {
                c.allowed(mask);
            }
            n += 10;
        }
        return n;
    }

    /** The id of the single-byte token {@code b} (every vocabulary used here has all 256). */
    private static int findByteToken(TokenBytes vocab, byte b) {
        for (int id = 0; id < vocab.size(); id++) {
            byte[] t = vocab.bytes(id);
            if (t != null && t.length == 1 && t[0] == b && !vocab.isSpecial(id)) {
                return id;
            }
        }
        throw new IllegalArgumentException("no single-byte token for " + (b & 0xFF));
    }
}
