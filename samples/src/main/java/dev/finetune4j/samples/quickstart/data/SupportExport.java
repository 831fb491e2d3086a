package dev.finetune4j.samples.quickstart.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A simulated export of a bank/insurer's customer-service system with the dirt real exports carry: personal data
 * in questions (e-mails, mobile numbers, resident ID numbers, bank cards, IPs, plus look-alike numbers that fail
 * validation), HTML from the answer editor, exact duplicates (verbatim or differing only in HTML, case and
 * spacing), near-duplicates (a greeting or a sign-off added), and malformed lines (truncated JSON, wrong types,
 * a missing field, invalid UTF-8, stray text).
 *
 * <p>Records are alpaca-shaped: {@code {"id", "label", "lang", "instruction", "output"}}; {@code label} is the
 * intent. Everything is derived from one seeded random stream.
 */
final class SupportExport {
    /** Most wordings kept per intent and language. */
    private static final int PER_INTENT = 12;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SplittableRandom random;
    private final FakePii pii;

    SupportExport(long seed) {
        this.random = new SplittableRandom(seed);
        this.pii = new FakePii(random.split());
    }

    /** Clean question/answer pairs before any dirt: {@code [label, lang, question, answer]}. */
    List<String[]> cleanPairs() {
        List<String[]> out = new ArrayList<>();
        for (SupportCatalog.Intent intent : SupportCatalog.INTENTS) {
            addLanguage(out, intent, "en", intent.enAsk(), intent.enAnswer());
            addLanguage(out, intent, "zh", intent.zhAsk(), intent.zhAnswer());
        }
        return out;
    }

    private void addLanguage(List<String[]> out, SupportCatalog.Intent intent, String lang, List<String> asks,
                             String answer) {
        List<String[]> combos = new ArrayList<>();
        List<SupportCatalog.Product> products = intent.products().isEmpty()
                ? Collections.singletonList(null) : intent.products();
        for (String ask : asks) {
            for (SupportCatalog.Product p : products) {
                combos.add(new String[]{intent.label(), lang, fill(ask, p, lang), fill(answer, p, lang)});
            }
        }
        shuffle(combos);
        out.addAll(combos.subList(0, Math.min(PER_INTENT, combos.size())));
    }

    private static String fill(String template, SupportCatalog.Product p, String lang) {
        if (p == null) {
            return template;
        }
        String s = template.replace("{p}", lang.equals("en") ? p.en() : p.zh());
        for (Map.Entry<String, String> e : p.numbers().entrySet()) {
            s = s.replace("{" + e.getKey() + "}", e.getValue());
        }
        return s;
    }

    /** The export's lines (UTF-8 bytes each, without the newline), dirt included, in a shuffled order. */
    List<byte[]> lines() throws JsonProcessingException {
        List<String[]> tickets = new ArrayList<>();
        for (String[] p : cleanPairs()) {
            tickets.add(new String[]{p[0], p[1], withPii(p[2], p[1]), p[3]});
        }
        List<byte[]> lines = new ArrayList<>();
        int id = 1000;
        for (String[] t : tickets) {
            lines.add(record(id++, t[0], t[1], t[2], withHtml(t[3])));
        }
        for (int i = 0; i < 24; i++) { // exact duplicates: re-exported tickets, sometimes re-formatted
            String[] t = tickets.get(random.nextInt(tickets.size()));
            String answer = i % 3 == 0 ? "<p>" + t[3] + "</p>" : i % 3 == 1 ? t[3] + "  " : t[3];
            lines.add(record(id++, t[0], t[1], i % 2 == 0 ? t[2] : t[2].toLowerCase(), answer));
        }
        for (int i = 0; i < 18; i++) { // near-duplicates: the same ticket with a greeting or a sign-off
            String[] t = tickets.get(random.nextInt(tickets.size()));
            boolean en = t[1].equals("en");
            String q = i % 2 == 0 ? (en ? "Hi, " : "你好，") + t[2] : t[2];
            String a = i % 2 == 0 ? t[3] : t[3] + (en ? " Thanks." : "谢谢。");
            lines.add(record(id++, t[0], t[1], q, a));
        }
        lines.addAll(malformed(id));
        shuffle(lines);
        return lines;
    }

    private String withPii(String question, String lang) {
        int kind = random.nextInt(10);
        boolean en = lang.equals("en");
        return switch (kind) {
            case 0 -> (en ? "My email is " : "我的邮箱是") + pii.email() + (en ? ". " : "，") + question;
            case 1 -> (en ? "Call me on " : "我的手机号") + pii.mobile() + (en ? ". " : "，") + question;
            case 2 -> (en ? "ID number " : "身份证号") + pii.residentId() + (en ? ". " : "，") + question;
            case 3 -> (en ? "Card " : "卡号") + pii.bankCard() + (en ? ": " : "：") + question;
            case 4 -> question + (en ? " (sent from IP " + pii.ipv4() + ")" : "（来自IP " + pii.ipv4() + "）");
            case 5 -> question + (en ? " Ref " : " 工单号") + pii.referenceNumber();
            default -> question;
        };
    }

    private String withHtml(String answer) {
        return switch (random.nextInt(8)) {
            case 0 -> "<p>" + answer.replace(">", "&gt;") + "</p>";
            case 1 -> answer.replace(". ", ".<br/>").replace("&", "&amp;");
            case 2 -> "<div class=\"kb\"><b>" + answer + "</b></div>";
            case 3 -> answer.replaceFirst(" ", "&nbsp;");
            default -> answer;
        };
    }

    private static byte[] record(int id, String label, String lang, String question, String answer)
            throws JsonProcessingException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", "T" + id);
        m.put("label", label);
        m.put("lang", lang);
        m.put("instruction", question);
        m.put("output", answer);
        return JSON.writeValueAsBytes(m);
    }

    private static List<byte[]> malformed(int id) {
        List<byte[]> bad = new ArrayList<>();
        bad.add(("{\"id\": \"T" + id + "\", \"label\": \"annual_fee\", \"lang\": \"en\", \"instruction\": \"What is the annu")
                .getBytes(StandardCharsets.UTF_8));
        bad.add(("{\"id\": \"T" + (id + 1) + "\", \"label\": \"lost_card\", \"lang\": \"en\", \"instruction\": "
                + "\"My card is gone\", \"output\": 404}").getBytes(StandardCharsets.UTF_8));
        bad.add(("{\"id\": \"T" + (id + 2) + "\", \"label\": \"open_account\", \"lang\": \"zh\", \"output\": \"请携带身份证\"}")
                .getBytes(StandardCharsets.UTF_8));
        byte[] prefix = ("{\"id\": \"T" + (id + 3) + "\", \"label\": \"reset_password\", \"lang\": \"zh\", "
                + "\"instruction\": \"密码").getBytes(StandardCharsets.UTF_8);
        byte[] suffix = "\", \"output\": \"请在登录页点击忘记密码\"}".getBytes(StandardCharsets.UTF_8);
        byte[] invalidUtf8 = new byte[prefix.length + 2 + suffix.length];
        System.arraycopy(prefix, 0, invalidUtf8, 0, prefix.length);
        invalidUtf8[prefix.length] = (byte) 0xC3; // a lead byte followed by a non-continuation byte
        invalidUtf8[prefix.length + 1] = (byte) 0x28;
        System.arraycopy(suffix, 0, invalidUtf8, prefix.length + 2, suffix.length);
        bad.add(invalidUtf8);
        bad.add("----- export page 2 of 3 -----".getBytes(StandardCharsets.UTF_8));
        bad.add(("[\"T" + (id + 4) + "\", \"claim_status\"]").getBytes(StandardCharsets.UTF_8));
        return bad;
    }

    private <T> void shuffle(List<T> list) {
        for (int i = list.size() - 1; i > 0; i--) {
            Collections.swap(list, i, random.nextInt(i + 1));
        }
    }
}
