package dev.finetune4j.core.tokenizer.jinja;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A template is untrusted input: hostile ones fail with a {@link TemplateException} naming the limit, instead of
 * overflowing the stack, running without end or exhausting memory, and they reach nothing but the given values.
 */
class JinjaSafetyTest {
    private static TemplateException fails(String source) {
        return assertThrows(TemplateException.class, () -> JinjaTemplate.parse(source).render(Map.of("messages", List.of())));
    }

    private static void assertMentions(TemplateException e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), () -> "\"" + part + "\" not in: " + e.getMessage());
        }
    }

    @Test
    void deeplyNestedExpressionsAndBlocksAreRefusedWhenParsing() {
        assertMentions(fails("{{ " + "(".repeat(100_000) + "1" + ")".repeat(100_000) + " }}"), "Limits.maxDepth", "line 1");
        assertMentions(fails("{{ " + "-".repeat(100_000) + "1 }}"), "Limits.maxDepth");
        assertMentions(fails("{{ " + "not ".repeat(100_000) + "x }}"), "Limits.maxDepth");
        assertMentions(fails("{{ " + "[".repeat(100_000) + "]".repeat(100_000) + " }}"), "Limits.maxDepth");
        assertMentions(fails("{% if true %}".repeat(100_000)), "Limits.maxDepth");
    }

    @Test
    void valuesNestedBeyondTheJavaStackFailCleanly() {
        // 100k lists in lists: printing one recurses once per level
        assertMentions(fails("{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}"),
                "nests too deeply for the Java stack");
    }

    @Test
    void longChainsOfOperatorsFiltersAndLookupsCountTowardTheDepthLimit() {
        // each link nests the tree a level deeper: refused when parsing, not by overflowing the stack when rendering
        assertMentions(fails("{{ 1" + " + 1".repeat(100_000) + " }}"), "more than 200 deep (Limits.maxDepth)");
        assertMentions(fails("{{ 'a'" + " ~ 'a'".repeat(100_000) + " }}"), "more than 200 deep (Limits.maxDepth)");
        assertMentions(fails("{{ true" + " and true".repeat(100_000) + " }}"), "more than 200 deep (Limits.maxDepth)");
        assertMentions(fails("{{ 'a'" + " | lower".repeat(100_000) + " }}"), "more than 200 deep (Limits.maxDepth)");
        assertMentions(fails("{{ messages" + ".x".repeat(100_000) + " }}"), "more than 200 deep (Limits.maxDepth)");
        assertMentions(fails("{{ messages" + "[0]".repeat(100_000) + " }}"), "more than 200 deep (Limits.maxDepth)");
        assertMentions(fails("{{ 1" + " if true else 1".repeat(100_000) + " }}"), "more than 200 deep (Limits.maxDepth)");
        // chains within the limit render, and a chain's links are not counted again by what follows it
        assertEquals("151", JinjaTemplate.parse("{{ 1" + " + 1".repeat(150) + " }}").render(Map.of()));
        assertEquals("aa", JinjaTemplate.parse("{{ 'A'" + " | lower".repeat(150) + " }}{{ 'A'" + " | lower".repeat(150) + " }}")
                .render(Map.of()));
    }

    @Test
    void wrongArgumentTypesAndIntegerOverflowFailAsTemplateErrors() {
        assertMentions(fails("{{ [3, 1, 2] | sort(attribute=5) }}"), "sort's attribute must be a string or None, not int");
        assertMentions(fails("{{ ['a'] | join(attribute=1) }}"), "join's attribute must be a string");
        assertMentions(fails("{{ 'x' | trim(5) }}"), "trim's chars must be a string");
        assertMentions(fails("{{ 'a b'.split(sep=5) }}"), "split() argument must be a string");
        assertMentions(fails("{{ 'x' | indent(1.5) }}"), "'float' object cannot be interpreted as an integer");
        String min = "(-9223372036854775807 - 1)";
        assertMentions(fails("{{ " + min + " | abs }}"), "beyond 64 bits");
        assertMentions(fails("{{ -" + min + " }}"), "beyond 64 bits");
        assertMentions(fails("{{ " + min + " // -1 }}"), "integer result of -9223372036854775808 // -1 is beyond 64 bits");
        assertMentions(fails("{{ 'Hello %s' % 'you' }}"), "printf-style formatting ('...' % values) is not supported", "~");
        assertEquals("9223372036854775807 7 2.5 1", JinjaTemplate.parse("{{ -9223372036854775807 | abs }} {{ -7 | abs }} "
                + "{{ -2.5 | abs }} {{ true | abs }}").render(Map.of()));
    }

    @Test
    void containersAreMeasuredWhileTheirTextIsWritten() {
        // three references to one 23M-character string: a short list whose text is 69M characters, beyond 64Mi
        assertMentions(fails("{% set s = 'a' * 23000000 %}{{ [s, s, s] | string | length }}"), "Limits.maxChars");
        assertMentions(fails("{% set s = 'a' * 23000000 %}{{ {'k': [s, s, s]} | string | length }}"), "Limits.maxChars");
        assertEquals("['ab', 'ab']", JinjaTemplate.parse("{{ ['ab'] * 2 }}").render(Map.of()));
    }

    @Test
    void iteratingAHugeStringIsRefusedBeforeItsCharactersAreMade() {
        assertMentions(fails("{{ ('a' * 5000000) | list | length }}"), "iterates a string of 5000000 characters", "4194304");
        assertMentions(fails("{% for c in 'a' * 5000000 %}{% break %}{% endfor %}"), "iterates a string");
        assertEquals("a,b,", JinjaTemplate.parse("{% for c in 'ab' %}{{ c }},{% endfor %}").render(Map.of()));
    }

    @Test
    void hostileTextIsLexedInOnePass() {
        assertMentions(fails("{{".repeat(50_000)), "never closed");
        assertMentions(fails("{% if x %}" + "}".repeat(100_000)), "{% if %} on line 1 is never closed");
        assertEquals("{ { {", JinjaTemplate.parse("{ { {").render(Map.of()));
    }

    @Test
    void aRenderThatDoesNotEndIsStoppedByTheStepBudget() {
        String nested = "{% for i in range(100000) %}{% for j in range(100000) %}{{ '' }}{% endfor %}{% endfor %}";
        assertMentions(fails(nested), "Limits.maxSteps");
        TemplateException small = assertThrows(TemplateException.class,
                () -> JinjaTemplate.parse("{% for i in range(1000) %}x{% endfor %}", new Limits(500, 1 << 20, 50)).render(Map.of()));
        assertMentions(small, "500 steps");
    }

    @Test
    void loopIterationsCostStepsEvenWithAnEmptyBody() {
        // 10,000 iterations of nothing: each costs a step, so 1,000 steps stop them
        TemplateException e = assertThrows(TemplateException.class, () -> JinjaTemplate.parse(
                "{% for i in range(100) %}{% for j in range(100) %}{% endfor %}{% endfor %}", new Limits(1000, 1 << 20, 50))
                .render(Map.of()));
        assertMentions(e, "1000 steps", "Limits.maxSteps");
        assertThrows(TemplateException.class, () -> JinjaTemplate.parse(
                "{% for i in range(100) %}{% for j in range(100) if j > 200 %}{% endfor %}{% endfor %}", new Limits(1000, 1 << 20, 50))
                .render(Map.of()));
    }

    @Test
    void largeValuesCostStepsInProportionToTheirSize() {
        // each iteration builds a 1M-character string in a few steps; charged by size, 100,000 steps allow ~6 of them
        // (1,000 would copy 1G characters, and kept in a list, hold them all)
        Limits limits = new Limits(100_000, 1 << 21, 50);
        String copies = "{% set s = 'a' * 1000000 %}{% for i in range(1000) %}{% set x = s ~ i %}{% endfor %}done";
        assertMentions(assertThrows(TemplateException.class, () -> JinjaTemplate.parse(copies, limits).render(Map.of())),
                "Limits.maxSteps", "64 characters");
        String kept = "{% set s = 'a' * 1000000 %}{% set ns = namespace(l=[]) %}"
                + "{% for i in range(1000) %}{% set ns.l = ns.l + [s ~ i] %}{% endfor %}{{ ns.l | length }}";
        assertThrows(TemplateException.class, () -> JinjaTemplate.parse(kept, limits).render(Map.of()));
        // a value well within the budget renders
        assertEquals("1000001", JinjaTemplate.parse("{% set s = 'a' * 1000000 %}{{ (s ~ 1) | length }}", limits).render(Map.of()));
    }

    @Test
    void aMacroThatCallsItselfIsStoppedAtTheDepthLimit() {
        assertMentions(fails("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"), "macro calls nest more than 200", "'f'");
    }

    @Test
    void stringsAndListsAreMeasuredBeforeTheyAreBuilt() {
        // doubling a string: with steps to spare (the default budget, charged by size, stops it first), maxChars does
        Limits manySteps = new Limits(1_000_000_000L, Limits.DEFAULT.maxChars(), Limits.DEFAULT.maxDepth());
        for (String op : List.of("~", "+")) {
            String doubling = "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s " + op
                    + " ns.s %}{% endfor %}";
            assertMentions(assertThrows(TemplateException.class, () -> JinjaTemplate.parse(doubling, manySteps).render(Map.of())),
                    "Limits.maxChars");
            assertMentions(fails(doubling), "Limits.maxSteps");
        }
        assertMentions(fails("{{ 'x' * 10000000000 }}"), "10000000000 items", "Limits.maxChars");
        assertMentions(fails("{{ [1, 2] * 1000000000000 }}"), "Limits.maxChars");
        assertMentions(fails("{{ ('a' * 1000000) | replace('a', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa') }}"),
                "Limits.maxChars");
        assertMentions(fails("{{ range(1000000000) | length }}"), "Range too big", "MAX_RANGE (100000)");
        assertMentions(fails("{{ 2 ** 64 }}"), "beyond 64 bits");
        TemplateException output = assertThrows(TemplateException.class,
                () -> JinjaTemplate.parse("{% for i in range(100) %}0123456789{% endfor %}", new Limits(1_000_000, 500, 50)).render(Map.of()));
        assertMentions(output, "beyond the limit of 500");
    }

    @Test
    void onlyTheGivenValuesAreReachable() {
        Map<String, Object> context = Map.of("messages", List.of(Map.of("role", "user", "content", "hi")));
        // Python's and Java's reflective names are just missing attributes: they print as nothing and fail when used
        assertEquals("||", JinjaTemplate.parse("{{ ''.__class__ }}|{{ messages.__class__ }}|{{ range.__globals__ }}").render(context));
        TemplateException call = assertThrows(TemplateException.class,
                () -> JinjaTemplate.parse("{{ ''.getClass().forName('java.lang.Runtime') }}").render(context));
        assertMentions(call, "'str object' has no attribute 'getClass'");
        assertMentions(assertThrows(TemplateException.class,
                () -> JinjaTemplate.parse("{{ messages.append(1) }}").render(context)), "unsafe");
        assertMentions(assertThrows(TemplateException.class,
                () -> JinjaTemplate.parse("{% set messages.role = 'x' %}").render(context)), "non-namespace");
        IllegalArgumentException object = assertThrows(IllegalArgumentException.class,
                () -> JinjaTemplate.parse("{{ x }}").render(Map.of("x", new Object())));
        assertMentions(new TemplateException(object.getMessage(), 0), "java.lang.Object", "only null, booleans");
    }

    @Test
    void parseErrorsNameTheLineTheColumnAndWhatWasExpected() {
        assertMentions(fails("a\nb\n  {{ x + }}"), "line 3, column 10", "expected an expression, found '}}'");
        assertMentions(fails("{% for m in messages %}\n{{ m }}"), "{% for %} on line 1 is never closed", "{% endfor %}");
        assertMentions(fails("{{ x | nosuchfilter }}"), "line 1, column 8", "no filter named 'nosuchfilter'", "tojson");
        assertMentions(fails("{{ x is nosuchtest }}"), "no test named 'nosuchtest'");
        assertMentions(fails("{% include 'other.jinja' %}"), "'include' is not supported");
        assertMentions(fails("{% nosuchtag %}"), "unknown tag 'nosuchtag'");
        assertMentions(fails("{% break %}"), "'break' outside a for loop");
        assertMentions(fails("{{ 'unclosed }}"), "string opened here is never closed");
        assertMentions(fails("text {{ x"), "line 1, column 6", "never closed");
        assertMentions(fails("{# comment"), "comment opened here is never closed");
    }

    @Test
    void runtimeErrorsNameTheLine() {
        TemplateException e = fails("line one\n{% if true %}\n{{ messages[0].content.strip() }}{% endif %}");
        assertEquals(3, e.line());
        assertMentions(e, "line 3", "list object has no element 0");
        TemplateRaisedException raised = assertThrows(TemplateRaisedException.class,
                () -> JinjaTemplate.parse("\n{{ raise_exception('No system role') }}").render(Map.of()));
        assertEquals("No system role", raised.getMessage());
        assertEquals(2, raised.line());
    }
}
