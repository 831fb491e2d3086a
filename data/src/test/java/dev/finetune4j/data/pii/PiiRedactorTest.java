package dev.finetune4j.data.pii;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PiiRedactorTest {
    private final PiiRedactor redactor = PiiRedactor.defaults();

    @Test
    void chineseIdCheckDigitComputedByHand() {
        // 1*7+1*9+0*10+1*5+0*8+5*4+1*2+9*1+4*6+9*3+1*7+2*9+3*10+1*5+0*8+0*4+2*2 = 167; 167 mod 11 = 2 -> 'X'
        assertTrue(Validators.chineseId("11010519491231002X"));
        assertTrue(Validators.chineseId("11010519491231002x"));
        assertFalse(Validators.chineseId("110105194912310021"), "wrong check digit");
        assertFalse(Validators.chineseId("110105194902300028"), "check digit fits but 30 February does not exist");
        assertTrue(Validators.chineseId("320102198511114560"));
        assertFalse(Validators.chineseId("320102198511114561"));
    }

    @Test
    void luhnComputedByHand() {
        // 4111111111111111: doubled odd positions from the right give 8*1... sum 30 -> valid
        assertTrue(Validators.luhn("4111111111111111"));
        assertFalse(Validators.luhn("4111111111111112"));
        assertTrue(Validators.luhn("6222 0212 3456 7890 128"));
        assertFalse(Validators.luhn("6222021234567890123"));
        assertFalse(Validators.luhn("0000"), "too short for a card");
    }

    @Test
    void e164() {
        assertTrue(Validators.e164("+14155552671"));
        assertTrue(Validators.e164("+44 20 7946 0958"));
        assertFalse(Validators.e164("+0123456789"), "country codes do not start with 0");
        assertFalse(Validators.e164("+1234567890123456"), "16 digits is more than E.164 allows");
    }

    @Test
    void placeholdersForEveryType() {
        String in = "邮箱 zhang.san@example.com，手机 13812345678，座机 010-62345678，身份证 11010519491231002X，"
                + "卡号 4111 1111 1111 1111，IP 192.168.1.20 和 2001:db8::8a2e:370:7334，美国 +1 415 555 2671。";
        PiiRedactor.Redaction r = redactor.scan(in);
        assertEquals("邮箱 [EMAIL]，手机 [PHONE]，座机 [PHONE]，身份证 [ID_NUMBER]，卡号 [BANK_CARD]，IP [IP] 和 [IP]，"
                + "美国 [PHONE]。", r.text());
        assertEquals(Map.of("EMAIL", 1, "PHONE", 3, "ID_NUMBER", 1, "BANK_CARD", 1, "IP", 2), r.counts());
    }

    @Test
    void invalidNumbersAreLeftAlone() {
        String in = "id 110105194912310021 card 4111111111111112 ip 999.1.1.1 time 12:30:45 order 2024";
        assertEquals(in, redactor.redact(in));
    }

    @Test
    void mobileWithCountryCodeAndSeparators() {
        assertEquals("call [PHONE] or [PHONE]", redactor.redact("call +86 138-1234-5678 or 139 1234 5678"));
    }

    @Test
    void maskKeepsEnds() {
        PiiRedactor masking = PiiRedactor.builder().strategy(new Strategy.Mask('*')).build();
        assertEquals("138****5678 z****.***@example.com 110105********002X ************1111",
                masking.redact("13812345678 zhang.san@example.com 11010519491231002X 4111111111111111"));
    }

    @Test
    void keyedHashIsStableAndKeyDependent() {
        byte[] key = "0123456789abcdef0123".getBytes(StandardCharsets.UTF_8);
        PiiRedactor hashing = PiiRedactor.builder().strategy(new Strategy.KeyedHash(key)).build();
        String a = hashing.redact("138-1234-5678");
        assertEquals(a, hashing.redact("13812345678"), "separators do not change the token");
        assertTrue(a.matches("\\[PHONE:[0-9a-f]{12}]"), a);
        byte[] other = "another-secret-key-000".getBytes(StandardCharsets.UTF_8);
        PiiRedactor hashing2 = PiiRedactor.builder().strategy(new Strategy.KeyedHash(other)).build();
        assertNotEquals(a, hashing2.redact("13812345678"));
    }

    @Test
    void userPatternsComeFirst() {
        PiiRedactor custom = PiiRedactor.builder().pattern("EMPLOYEE_ID", "EMP-\\d{6}").build();
        assertEquals("[EMPLOYEE_ID] mailed [EMAIL]", custom.redact("EMP-123456 mailed a@b.cn"));
    }

    @Test
    void redactWithoutCleaningFirst() {
        assertEquals("身份证 [ID_NUMBER] 或 [ID_NUMBER] 或 [ID_NUMBER]",
                redactor.redact("身份证 110105 19491231 002X 或 110105-1949-1231-002x 或 ３２０１０２１９８５１１１１４５６０"));
        assertEquals("手机[PHONE]，邮箱 [EMAIL]", redactor.redact("手机１３８１２３４５６７８，邮箱 ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ"));
        assertEquals("card-[BANK_CARD] and card:[BANK_CARD]",
                redactor.redact("card-4111111111111111 and card:４１１１ １１１１ １１１１ １１１１"));
        assertEquals("call [PHONE] or [PHONE]", redactor.redact("call 138.1234.5678 or +86.139.1234.5678"));
        // 008613812345678 happens to pass Luhn: an international prefix is not a card number
        PiiRedactor.Redaction r = redactor.scan("致电 0086 138 1234 5678");
        assertEquals("致电 [PHONE]", r.text());
        assertEquals(Map.of("PHONE", 1), r.counts());
        assertTrue(Validators.luhn("008613812345678"), "the example must be Luhn-valid to test the priority");
    }

    @Test
    void separatorsAndWidthsDoNotChangeTheKeyedToken() {
        byte[] key = "0123456789abcdef0123".getBytes(StandardCharsets.UTF_8);
        PiiRedactor hashing = PiiRedactor.builder().strategy(new Strategy.KeyedHash(key)).build();
        String plain = hashing.redact("13812345678");
        assertEquals(plain, hashing.redact("138.1234.5678"));
        assertEquals(plain, hashing.redact("１３８１２３４５６７８"));
        assertNotEquals(hashing.redact("1.21.1.1"), hashing.redact("12.1.1.1"), "dots are part of an IP address");
    }

    @Test
    void maskKeepsFullWidthDigitsAsWritten() {
        PiiRedactor masking = PiiRedactor.builder().strategy(new Strategy.Mask('*')).build();
        assertEquals("１３８****５６７８", masking.redact("１３８１２３４５６７８"));
    }

    /** STYLE.md lesson 18: each rule alone, on every shape that makes a backtracking pattern slow. */
    @Test
    void everyRuleTakesLinearTimeOnHostileText() {
        Map<String, String> hostile = new LinkedHashMap<>();
        hostile.put("letters", "a".repeat(100_000));
        hostile.put("letters then at", "a".repeat(100_000) + "@");
        hostile.put("at signs", "a@".repeat(50_000));
        hostile.put("dotted labels", "a@" + "a.".repeat(50_000));
        hostile.put("dotted labels with dashes", "a@" + "a-.".repeat(33_000) + "1");
        hostile.put("digits", "1".repeat(100_000));
        hostile.put("spaced digits", "1 ".repeat(50_000));
        hostile.put("dashed digits", "1-".repeat(50_000));
        hostile.put("dotted digits", "1.".repeat(50_000));
        hostile.put("plus digits", "+1 ".repeat(33_000));
        hostile.put("colons", ":".repeat(100_000));
        hostile.put("hex and colons", "a:".repeat(50_000));
        hostile.put("full-width digits", "１".repeat(100_000));
        for (PiiType only : PiiType.values()) {
            PiiRedactor.Builder b = PiiRedactor.builder();
            Arrays.stream(PiiType.values()).filter(t -> t != only).forEach(b::disable);
            PiiRedactor one = b.build();
            hostile.forEach((shape, text) -> assertTimeoutPreemptively(Duration.ofSeconds(2), () -> one.scan(text),
                    () -> only + " on 100k characters of " + shape + " is not linear"));
        }
    }
}
