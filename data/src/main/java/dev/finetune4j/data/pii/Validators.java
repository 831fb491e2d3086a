package dev.finetune4j.data.pii;

import com.google.common.net.InetAddresses;

/** Checksums and structure checks that separate real identifiers from look-alike numbers. */
public final class Validators {
    private static final int[] ID_WEIGHTS = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    private static final String ID_CHECK = "10X98765432";

    private Validators() {
    }

    /**
     * Chinese resident identity number (GB 11643-1999): 17 digits, then a check character
     * {@code "10X98765432"[sum(d_i * w_i) mod 11]} with weights {@code 2^(17-i) mod 11}; the birth date
     * (digits 7-14) must be a real date.
     *
     * @param s the candidate, digits and check character only
     * @return whether it is a valid identity number
     */
    public static boolean chineseId(String s) {
        if (s.length() != 18) {
            return false;
        }
        int sum = 0;
        for (int i = 0; i < 17; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
            sum += (c - '0') * ID_WEIGHTS[i];
        }
        char check = Character.toUpperCase(s.charAt(17));
        return check == ID_CHECK.charAt(sum % 11) && validDate(s.substring(6, 14));
    }

    private static boolean validDate(String yyyymmdd) {
        int y = Integer.parseInt(yyyymmdd.substring(0, 4));
        int m = Integer.parseInt(yyyymmdd.substring(4, 6));
        int d = Integer.parseInt(yyyymmdd.substring(6, 8));
        if (y < 1800 || m < 1 || m > 12 || d < 1) {
            return false;
        }
        return d <= java.time.YearMonth.of(y, m).lengthOfMonth();
    }

    /**
     * Luhn (mod 10) checksum over the digits of {@code s}, 13 to 19 of them; other characters are ignored.
     *
     * @param s the candidate
     * @return whether the digits pass the Luhn check
     */
    public static boolean luhn(String s) {
        int sum = 0;
        int digits = 0;
        for (int i = s.length() - 1; i >= 0; i--) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                continue;
            }
            int d = c - '0';
            if (digits % 2 == 1) {
                d *= 2;
                if (d > 9) {
                    d -= 9;
                }
            }
            sum += d;
            digits++;
        }
        return digits >= 13 && digits <= 19 && sum % 10 == 0;
    }

    /**
     * IPv4 in dotted quad form or IPv6 in any standard form.
     *
     * @param s the candidate
     * @return whether it is an IP address
     */
    public static boolean ip(String s) {
        return InetAddresses.isInetAddress(s);
    }

    /**
     * E.164: a plus sign, a country code not starting with 0, at most 15 digits in all (at least 8 here); spaces,
     * dots, dashes and parentheses may separate them.
     *
     * @param s the candidate
     * @return whether it is a valid E.164 number
     */
    public static boolean e164(String s) {
        String digits = s.replaceAll("[ .\\-()]", "");
        return digits.matches("\\+[1-9]\\d{7,14}");
    }
}
