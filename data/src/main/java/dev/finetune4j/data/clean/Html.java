package dev.finetune4j.data.clean;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Removes HTML markup: script and style blocks, tags and comments, then decodes character references. */
final class Html {
    /** A tag starts with a letter or '/' right after '<', so "a < b" in prose is left alone. */
    private static final Pattern TAGS = Pattern.compile("</?[A-Za-z][A-Za-z0-9-]*(?:\\s[^<>]*)?/?>");
    private static final Pattern BREAKS = Pattern.compile("(?i)<br\\s*/?>|</p\\s*>|</div\\s*>|</li\\s*>|</h[1-6]\\s*>");
    private static final Pattern ENTITY = Pattern.compile("&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});");
    private static final Map<String, String> NAMED = Map.ofEntries(
            Map.entry("amp", "&"), Map.entry("lt", "<"), Map.entry("gt", ">"), Map.entry("quot", "\""),
            Map.entry("apos", "'"), Map.entry("nbsp", "\u00A0"), Map.entry("copy", "©"), Map.entry("reg", "®"),
            Map.entry("hellip", "…"), Map.entry("mdash", "—"), Map.entry("ndash", "–"), Map.entry("lsquo", "‘"),
            Map.entry("rsquo", "’"), Map.entry("ldquo", "“"), Map.entry("rdquo", "”"), Map.entry("middot", "·"),
            Map.entry("yen", "¥"), Map.entry("euro", "€"), Map.entry("times", "×"), Map.entry("deg", "°"));

    private Html() {
    }

    static boolean mayContainMarkup(String s) {
        return s.indexOf('<') >= 0 || s.indexOf('&') >= 0;
    }

    static String strip(String s) {
        if (!mayContainMarkup(s)) {
            return s;
        }
        String out = HtmlBlocks.remove(s);
        out = BREAKS.matcher(out).replaceAll("\n");
        out = TAGS.matcher(out).replaceAll("");
        return decodeEntities(out);
    }

    static String decodeEntities(String s) {
        if (s.indexOf('&') < 0) {
            return s;
        }
        Matcher m = ENTITY.matcher(s);
        StringBuilder sb = new StringBuilder(s.length());
        while (m.find()) {
            m.appendReplacement(sb, Matcher.quoteReplacement(decode(m.group(1), m.group())));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    private static String decode(String body, String whole) {
        if (body.charAt(0) != '#') {
            return NAMED.getOrDefault(body, whole);
        }
        boolean hex = body.length() > 1 && (body.charAt(1) == 'x' || body.charAt(1) == 'X');
        int cp = Integer.parseInt(body.substring(hex ? 2 : 1), hex ? 16 : 10);
        return Character.isValidCodePoint(cp) && cp != 0 ? Character.toString(cp) : whole;
    }
}
