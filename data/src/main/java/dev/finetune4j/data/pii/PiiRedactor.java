package dev.finetune4j.data.pii;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Matcher;

/**
 * Finds and replaces personal data: e-mail addresses, phone numbers (mainland China mobile and landline,
 * international E.164), Chinese resident identity numbers (check digit and birth date validated), bank card
 * numbers (Luhn validated), IPv4 and IPv6 addresses, plus user rules. Numbers that fail validation are left alone.
 *
 * <pre>{@code
 * String clean = PiiRedactor.defaults().redact("call 13812345678");   // "call [PHONE]"
 * }</pre>
 *
 * All rules match against the original text with full-width forms read as ASCII (so {@code １３８１２３４５６７８} is
 * found without cleaning first); where matches overlap, the earlier rule wins (user rules first, then e-mail, ID
 * number, bank card, phone, IP). The built-in rules run in linear time on any text; a user pattern should too
 * (possessive quantifiers, a lookbehind where an unbounded run starts). Immutable and thread-safe.
 */
public final class PiiRedactor implements Serializable {
    /** The rules, user rules first. */
    private final List<PiiRule> rules;
    /** How found values are replaced. */
    private final Strategy strategy;

    private PiiRedactor(List<PiiRule> rules, Strategy strategy) {
        this.rules = List.copyOf(rules);
        this.strategy = strategy;
    }

    /**
     * Every built-in rule, placeholders.
     *
     * @return a redactor with the built-in rules and the placeholder strategy
     */
    public static PiiRedactor defaults() {
        return builder().build();
    }

    /**
     * A builder with every built-in rule and the placeholder strategy.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Chooses rules and strategy. */
    public static final class Builder {
        private Builder() {
        }

        private final List<PiiRule> custom = new ArrayList<>();
        private final List<PiiType> disabled = new ArrayList<>();
        private Strategy strategy = new Strategy.Placeholder();

        /**
         * How found values are replaced (default: the type's placeholder).
         *
         * @param s {@link Strategy.Placeholder}, {@link Strategy.Mask} or {@link Strategy.KeyedHash}
         * @return this builder
         */
        public Builder strategy(Strategy s) {
            this.strategy = Objects.requireNonNull(s, "strategy: pass Placeholder, Mask or KeyedHash");
            return this;
        }

        /**
         * Turns a built-in type off.
         *
         * @param type the type whose rule is turned off
         * @return this builder
         */
        public Builder disable(PiiType type) {
            disabled.add(type);
            return this;
        }

        /**
         * Adds a user rule; user rules take priority over built-in ones, in the order added.
         *
         * @param rule the rule to add
         * @return this builder
         */
        public Builder rule(PiiRule rule) {
            custom.add(rule);
            return this;
        }

        /**
         * Adds a user pattern with placeholder {@code [NAME]}, e.g. {@code pattern("EMPLOYEE_ID", "EMP-\\d{6}")}.
         *
         * @param name the type name, upper case by convention
         * @param regex the pattern, in {@link java.util.regex.Pattern} syntax
         * @return this builder
         */
        public Builder pattern(String name, String regex) {
            return rule(PiiRule.custom(name, regex));
        }

        /**
         * Builds the redactor.
         *
         * @return an immutable redactor with the rules and strategy chosen
         */
        public PiiRedactor build() {
            List<PiiRule> all = new ArrayList<>(custom);
            DefaultRules.all().stream().filter(r -> disabled.stream().noneMatch(t -> t.name().equals(r.name())))
                    .forEach(all::add);
            return new PiiRedactor(all, strategy);
        }
    }

    /**
     * The outcome of redacting one text.
     *
     * @param text   the redacted text
     * @param counts how many values of each type were replaced
     */
    public record Redaction(String text, Map<String, Integer> counts) {
    }

    /**
     * The text with every validated value replaced.
     *
     * @param text the text to redact
     * @return the redacted text
     */
    public String redact(String text) {
        return scan(text).text();
    }

    /**
     * Redacts and counts by type.
     *
     * @param text the text to redact
     * @return the redacted text and the number of values found per type
     */
    public Redaction scan(String text) {
        Objects.requireNonNull(text, "text to redact");
        // NOTE: rules see full-width digits and letters as ASCII, so redaction does not depend on cleaning first;
        // the folded text has the original's length, and replacements are cut from the original.
        String folded = WidthFolding.fold(text);
        List<int[]> accepted = new ArrayList<>(); // {start, end, ruleIndex}
        BitSet covered = new BitSet(text.length());
        for (int r = 0; r < rules.size(); r++) {
            Matcher m = rules.get(r).pattern().matcher(folded);
            while (m.find()) {
                if (m.end() > m.start() && covered.get(m.start(), m.end()).isEmpty()
                        && rules.get(r).validator().test(m.group())) {
                    accepted.add(new int[] {m.start(), m.end(), r});
                    covered.set(m.start(), m.end());
                }
            }
        }
        if (accepted.isEmpty()) {
            return new Redaction(text, Map.of());
        }
        accepted.sort(Comparator.comparingInt(a -> a[0]));
        StringBuilder out = new StringBuilder(text.length());
        Map<String, Integer> counts = new TreeMap<>();
        int pos = 0;
        for (int[] a : accepted) {
            PiiRule rule = rules.get(a[2]);
            out.append(text, pos, a[0])
                    .append(replace(text.substring(a[0], a[1]), folded.substring(a[0], a[1]), rule));
            counts.merge(rule.name(), 1, Integer::sum);
            pos = a[1];
        }
        return new Redaction(out.append(text, pos, text.length()).toString(), counts);
    }

    /** {@code value} as written, {@code folded} as the rules saw it (ASCII digits and letters). */
    private String replace(String value, String folded, PiiRule rule) {
        return switch (strategy) {
            case Strategy.Placeholder p -> rule.placeholder();
            case Strategy.Mask m -> mask(value, rule, m.maskChar());
            case Strategy.KeyedHash k -> "[" + rule.name() + ":" + keyedHash(k.key(), normalize(folded, rule)) + "]";
        };
    }

    static String mask(String value, PiiRule rule, char maskChar) {
        int at = value.indexOf('@');
        String part = at >= 0 ? value.substring(0, at) : value;
        int total = (int) part.chars().filter(Character::isLetterOrDigit).count();
        int prefix = Math.min(rule.keepPrefix(), total / 2);
        int suffix = Math.min(rule.keepSuffix(), (total - prefix) / 2);
        StringBuilder sb = new StringBuilder(value.length());
        int seen = 0;
        for (int i = 0; i < part.length(); i++) {
            char c = part.charAt(i);
            if (!Character.isLetterOrDigit(c)) {
                sb.append(c);
                continue;
            }
            sb.append(seen < prefix || seen >= total - suffix ? c : maskChar);
            seen++;
        }
        return at >= 0 ? sb.append(value, at, value.length()).toString() : sb.toString();
    }

    /**
     * Lower case, without separators, so that {@code 138-1234-5678}, {@code 138.1234.5678} and {@code 13812345678}
     * hash alike (dots are separators in numbers only: they are part of an IPv4 address).
     */
    private static String normalize(String value, PiiRule rule) {
        if (value.indexOf('@') >= 0) {
            return value.toLowerCase();
        }
        boolean number = rule.name().equals(PiiType.PHONE.name()) || rule.name().equals(PiiType.BANK_CARD.name())
                || rule.name().equals(PiiType.ID_NUMBER.name());
        return value.replaceAll(number ? "[\\s\\-().]" : "[\\s\\-()]", "").toUpperCase();
    }

    private static String keyedHash(byte[] key, String value) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(value.getBytes(StandardCharsets.UTF_8))).substring(0, 12);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JDK", e);
        }
    }
}
