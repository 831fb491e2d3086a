package dev.finetune4j.samples.quickstart.data;

import java.util.List;
import java.util.SplittableRandom;

/**
 * Made-up personal data that looks real to a redactor: e-mail addresses, mainland China mobile numbers, resident
 * identity numbers with a valid GB 11643 check digit, bank card numbers that pass Luhn, IPv4 addresses, and
 * look-alikes that fail validation (which a redactor must leave alone). Deterministic for a given random stream.
 */
final class FakePii {
    private static final int[] ID_WEIGHTS = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    private static final String ID_CHECK = "10X98765432";
    private static final List<String> REGIONS = List.of("110101", "310104", "440305", "330106", "510107", "420102");
    private static final List<String> NAMES = List.of("li.na", "wang.wei", "zhang.min", "chen.jie", "liu.yang",
            "amy.chen", "tom.baker", "sara.lee", "david.wu", "mia.zhou");
    private static final List<String> DOMAINS = List.of("example.com", "mail.example.cn", "corp.example.org");

    private final SplittableRandom random;

    FakePii(SplittableRandom random) {
        this.random = random;
    }

    String email() {
        return pick(NAMES) + random.nextInt(10, 99) + "@" + pick(DOMAINS);
    }

    /** An 11-digit mainland mobile number (1[3-9]x xxxx xxxx). */
    String mobile() {
        return "1" + random.nextInt(3, 10) + digits(9);
    }

    /** An 18-character resident identity number with a real birth date and a valid check digit. */
    String residentId() {
        String body = pick(REGIONS) + random.nextInt(1960, 2004) + String.format("%02d%02d", random.nextInt(1, 13),
                random.nextInt(1, 29)) + digits(3);
        return body + idCheck(body);
    }

    /** A 16-digit UnionPay-style card number (starting 62) that passes Luhn. */
    String bankCard() {
        String body = "62" + digits(13);
        return body + luhnDigit(body);
    }

    /** A 16-digit reference number that fails Luhn: not a card, so it must survive redaction. */
    String referenceNumber() {
        String body = "62" + digits(13);
        return body + (char) ('0' + (luhnDigit(body) - '0' + 1) % 10);
    }

    String ipv4() {
        return random.nextInt(11, 223) + "." + random.nextInt(256) + "." + random.nextInt(256) + "." + random.nextInt(1, 255);
    }

    private String digits(int n) {
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            sb.append((char) ('0' + random.nextInt(10)));
        }
        return sb.toString();
    }

    private <T> T pick(List<T> list) {
        return list.get(random.nextInt(list.size()));
    }

    static char idCheck(String first17) {
        int sum = 0;
        for (int i = 0; i < 17; i++) {
            sum += (first17.charAt(i) - '0') * ID_WEIGHTS[i];
        }
        return ID_CHECK.charAt(sum % 11);
    }

    /** The digit that makes {@code body + digit} pass Luhn. */
    static char luhnDigit(String body) {
        int sum = 0;
        for (int i = 0; i < body.length(); i++) {
            int d = body.charAt(body.length() - 1 - i) - '0';
            if (i % 2 == 0) {
                d *= 2;
                if (d > 9) {
                    d -= 9;
                }
            }
            sum += d;
        }
        return (char) ('0' + (10 - sum % 10) % 10);
    }
}
