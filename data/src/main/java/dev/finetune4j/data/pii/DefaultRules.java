package dev.finetune4j.data.pii;

import java.util.List;
import java.util.regex.Pattern;

/**
 * The built-in rules, in priority order (an earlier rule wins where matches overlap).
 *
 * <p>NOTE: every pattern runs in linear time on hostile text (STYLE.md, lesson 18): an unbounded run is
 * possessive and may only start where the lookbehind says a run starts, so no start position rescans it; every
 * other repetition is bounded. {@code PiiRedactorTest} times each rule on 100k-character adversarial strings.
 * Patterns see the text after {@link WidthFolding} (full-width digits and letters as ASCII).
 */
final class DefaultRules {
    /** Local part from the start of its run; the domain bounded as in RFC 1035 (253 characters). */
    private static final String EMAIL = "(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]++@"
            + "[A-Za-z0-9-][A-Za-z0-9.-]{0,251}\\.[A-Za-z]{2,63}+";
    /** 18 characters, optionally grouped 6-8-4 or 6-4-4-4 by spaces or dashes. */
    private static final String ID = "(?<![0-9A-Za-z])\\d{6}[ -]?\\d{4}[ -]?\\d{4}[ -]?\\d{3}[\\dXx](?![0-9A-Za-z])";
    /** Not inside a longer number (a digit or '+' before, maybe with one separator); issuers never start with 0. */
    private static final String CARD = "(?<![\\d+][ -]?)[1-9](?:[ -]?\\d){12,18}(?!\\d)";
    private static final String MOBILE = "(?:(?:\\+|00)86[ .-]?)?1[3-9]\\d(?:[ .-]?\\d{4}){2}";
    private static final String LANDLINE = "(?:\\(0\\d{2,3}\\)[ ]?|0\\d{2,3}-)\\d{7,8}";
    private static final String E164 = "\\+[1-9]\\d{0,3}(?:[ -]?\\d){6,13}";
    private static final String PHONE = "(?<![\\d+])(?:" + MOBILE + "|" + LANDLINE + "|" + E164 + ")(?!\\d)";
    private static final String IPV4 = "(?<![\\d.])(?:\\d{1,3}\\.){3}\\d{1,3}(?!\\d|\\.\\d)";
    private static final String IPV6 = "(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])";

    private DefaultRules() {
    }

    static List<PiiRule> all() {
        return List.of(
                rule(PiiType.EMAIL, EMAIL, s -> true, 1, 0),
                rule(PiiType.ID_NUMBER, ID, s -> Validators.chineseId(s.replaceAll("[ -]", "")), 6, 4),
                rule(PiiType.BANK_CARD, CARD, Validators::luhn, 0, 4),
                rule(PiiType.PHONE, PHONE, s -> !s.startsWith("+") || Validators.e164(s), 3, 4),
                rule(PiiType.IP, IPV4 + "|" + IPV6, DefaultRules::ipCandidate, 0, 0));
    }

    private static boolean ipCandidate(String s) {
        return Validators.ip(s) && s.chars().anyMatch(c -> Character.digit(c, 16) >= 0);
    }

    private static PiiRule rule(PiiType type, String regex, PiiRule.Validator v, int prefix, int suffix) {
        return new PiiRule(type.name(), type.placeholder(), Pattern.compile(regex), v, prefix, suffix);
    }
}
