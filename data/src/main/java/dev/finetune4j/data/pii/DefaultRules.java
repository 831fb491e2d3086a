package dev.finetune4j.data.pii;

import java.util.List;
import java.util.regex.Pattern;

/** The built-in rules, in priority order (an earlier rule wins where matches overlap). */
final class DefaultRules {
    private static final String EMAIL = "[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\\.)+[A-Za-z]{2,}";
    private static final String ID = "(?<![0-9A-Za-z])\\d{17}[\\dXx](?![0-9A-Za-z])";
    private static final String CARD = "(?<![\\d+-])\\d(?:[ -]?\\d){12,18}(?!\\d)";
    private static final String MOBILE = "(?:(?:\\+|00)86[ -]?)?1[3-9]\\d(?:[ -]?\\d{4}){2}";
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
                rule(PiiType.ID_NUMBER, ID, Validators::chineseId, 6, 4),
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
