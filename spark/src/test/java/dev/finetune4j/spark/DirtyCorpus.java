package dev.finetune4j.spark;

import dev.finetune4j.data.format.Json;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a seeded, dirty corpus of customer-service messages for the engine comparison and the benchmark: English
 * and Chinese texts with labels and users; exact duplicates (other case, spacing, punctuation), near duplicates
 * (a few words or characters edited), copies across files, a template message repeated many times with a
 * changing order number (a skewed near-duplicate cluster), e-mail addresses and phone numbers, HTML, texts too
 * short for the quality filter, and bad lines of every kind (invalid JSON, wrong types, invalid UTF-8, a CSV row
 * with cells missing, an unclosed CSV quote at the end of the CSV file).
 *
 * <p>Files: {@code part-a.jsonl} and {@code part-b.jsonl} (about 40% of the records each), {@code part-c.csv} (about
 * 20%).
 */
public final class DirtyCorpus {
    private static final String[] EN = ("order refund shipping delivery package account password login invoice payment"
            + " card charge subscription cancel upgrade plan support ticket issue error update app phone email address"
            + " store return exchange warranty product size color price discount coupon tracking number late missing"
            + " damaged broken replace help thanks please today tomorrow week since still again never always").split(" ");
    private static final String ZH = "订单退款发货快递包裹账户密码登录发票付款银行卡扣费订阅取消升级套餐客服工单问题错误更新手机邮箱"
            + "地址商店退货换货保修产品尺码颜色价格优惠券物流单号延迟丢失损坏替换帮助谢谢请今天明天本周仍然再次从未总是";
    private static final String[] LABELS = {"billing", "shipping", "account"};
    /** The most earlier messages kept to copy from. */
    private static final int POOL = 2_000;
    private static final String TEMPLATE = "Hello, your order number %d has shipped today and will arrive within three"
            + " to five business days. You can follow the package with the tracking link in your account page. If"
            + " the package is late, damaged or missing, reply to this message and our support team will help you"
            + " with a replacement or a refund. Thank you for shopping with our store and have a wonderful day.";

    private DirtyCorpus() {
    }

    /**
     * Writes the corpus, streaming: each row goes to a file as soon as it is made (40%, 40% and 20% of the rows, at
     * random), so that the corpus is never held in memory, whatever its size; exact and near copies are made of up
     * to {@value #POOL} earlier messages, kept at random as they are written.
     *
     * @param dir            the folder to write into
     * @param records        about how many records (bad lines come on top)
     * @param templateCopies copies of the template message (the skewed cluster), included in {@code records}
     * @param seed           the seed; the same seed writes the same bytes
     * @return the files, in the order they should be read
     * @throws IOException when a file cannot be written
     */
    public static List<Path> write(Path dir, int records, int templateCopies, long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        Files.createDirectories(dir);
        List<Path> files = List.of(dir.resolve("part-a.jsonl"), dir.resolve("part-b.jsonl"), dir.resolve("part-c.csv"));
        List<Map<String, Object>> originals = new ArrayList<>();
        int users = Math.max(10, records / 20);
        try (OutputStream a = out(files.get(0)); OutputStream b = out(files.get(1)); OutputStream c = out(files.get(2))) {
            c.write("text,label,user\r\n".getBytes(StandardCharsets.UTF_8));
            int copiesLeft = templateCopies;
            for (int i = 0; i < records; i++) {
                Map<String, Object> row = new LinkedHashMap<>();
                int kind = rnd.nextInt(100);
                // NOTE: the template's copies are drawn so that exactly templateCopies of the rows are copies, spread
                // over the whole corpus
                if (rnd.nextInt(records - i) < copiesLeft) {
                    copiesLeft--;
                    row.put("text", String.format(TEMPLATE, 100000 + rnd.nextInt(900000)));
                } else if (kind < 16 && !originals.isEmpty()) {
                    // the same customer sends the same message again, or an edited one
                    Map<String, Object> original = originals.get(rnd.nextInt(originals.size()));
                    String text = original.get("text").toString();
                    row.put("text", kind < 8 ? exactCopy(text, rnd) : nearCopy(text, rnd));
                    row.put("label", original.get("label"));
                    row.put("user", original.get("user"));
                } else if (kind < 18) {
                    row.put("text", "ok thanks");
                } else {
                    String text = rnd.nextInt(3) == 0 ? chinese(rnd) : english(rnd);
                    if (kind < 26) {
                        text += rnd.nextBoolean() ? " contact me at user" + rnd.nextInt(1000) + "@example.com"
                                : " 电话 138" + (10000000 + rnd.nextInt(89999999));
                    } else if (kind < 30) {
                        text = "<p>" + text.replace(" ", " <b>x</b> ") + " &amp; more</p>";
                    }
                    row.put("text", text);
                    if (originals.size() < POOL) {
                        originals.add(row);
                    } else {
                        originals.set(rnd.nextInt(POOL), row);
                    }
                }
                row.putIfAbsent("label", LABELS[rnd.nextInt(LABELS.length)]);
                row.putIfAbsent("user", "u" + rnd.nextInt(users));
                int file = rnd.nextInt(5);
                if (file < 2) {
                    writeJsonl(a, row, rnd);
                } else if (file < 4) {
                    writeJsonl(b, row, rnd);
                } else {
                    writeCsv(c, row, rnd);
                }
            }
            // NOTE: at the end only: an open quote takes the lines after it into one row until another closes it
            c.write("\"a quote that never closes,billing,u1\r\n".getBytes(StandardCharsets.UTF_8));
        }
        return files;
    }

    private static OutputStream out(Path file) throws IOException {
        return new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
    }

    private static String english(SplittableRandom rnd) {
        StringBuilder sb = new StringBuilder();
        int n = 12 + rnd.nextInt(40);
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : " ").append(EN[rnd.nextInt(EN.length)]);
        }
        return sb.append('.').toString();
    }

    private static String chinese(SplittableRandom rnd) {
        StringBuilder sb = new StringBuilder();
        int n = 20 + rnd.nextInt(60);
        for (int i = 0; i < n; i++) {
            sb.append(ZH.charAt(rnd.nextInt(ZH.length())));
        }
        return sb.append('。').toString();
    }

    private static String exactCopy(String text, SplittableRandom rnd) {
        return switch (rnd.nextInt(3)) {
            case 0 -> text.toUpperCase(java.util.Locale.ROOT);
            case 1 -> "  " + text.replace(" ", "   ") + " ";
            default -> text + "!!";
        };
    }

    private static String nearCopy(String text, SplittableRandom rnd) {
        if (text.indexOf(' ') < 0) {
            StringBuilder sb = new StringBuilder(text);
            sb.setCharAt(rnd.nextInt(sb.length()), ZH.charAt(rnd.nextInt(ZH.length())));
            return sb.toString();
        }
        String[] words = text.split(" ");
        words[rnd.nextInt(words.length)] = EN[rnd.nextInt(EN.length)];
        return String.join(" ", words);
    }

    private static void writeJsonl(OutputStream out, Map<String, Object> row, SplittableRandom rnd)
            throws IOException {
        out.write((Json.write(row) + "\n").getBytes(StandardCharsets.UTF_8));
        switch (rnd.nextInt(200)) {
            case 0 -> out.write("{\"text\": \"unterminated\n".getBytes(StandardCharsets.UTF_8));
            case 1 -> out.write("{\"text\": 42, \"label\": \"billing\"}\n".getBytes(StandardCharsets.UTF_8));
            case 2 -> out.write(new byte[] {'{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"',
                    '}', '\n'});
            case 3 -> out.write("null\n\n".getBytes(StandardCharsets.UTF_8));
            default -> {
            }
        }
    }

    private static void writeCsv(OutputStream out, Map<String, Object> row, SplittableRandom rnd) throws IOException {
        out.write((quote(row.get("text")) + "," + row.get("label") + "," + row.get("user") + "\r\n")
                .getBytes(StandardCharsets.UTF_8));
        if (rnd.nextInt(150) == 0) {
            out.write("only one cell\r\n".getBytes(StandardCharsets.UTF_8));
        }
    }

    private static String quote(Object cell) {
        return "\"" + cell.toString().replace("\"", "\"\"") + "\"";
    }
}
