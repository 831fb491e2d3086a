package dev.finetune4j.core.tokenizer.jinja;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.InputStream;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One engine feature per case (whitespace control, loops, scoping, undefined values, literals, arithmetic,
 * slicing, filters, tests, methods, globals), each compared with what the real jinja2 rendered in transformers'
 * environment: chat-templates/semantics.json, written by tools/reference/chat_templates.py.
 */
class JinjaSemanticsTest {
    /** The time tools/reference/chat_templates.py gives strftime_now. */
    static final Clock FIXED = Clock.fixed(Instant.parse("2026-03-07T09:05:03Z"), ZoneOffset.UTC);

    static JsonNode fixture(String name) throws Exception {
        try (InputStream in = JinjaSemanticsTest.class.getResourceAsStream("/chat-templates/" + name)) {
            return new ObjectMapper().readTree(in);
        }
    }

    /**
     * Checks one reference case: the same text, or the same failure (raise_exception's message verbatim, and
     * for other errors jinja2's message within ours, which adds the line).
     */
    static void check(JsonNode c, java.util.function.Supplier<String> render) {
        if (c.has("expected")) {
            assertEquals(c.get("expected").asText(), render.get());
        } else if (c.get("error").asText().equals("raised")) {
            TemplateRaisedException e = assertThrows(TemplateRaisedException.class, render::get);
            assertEquals(c.get("message").asText(), e.getMessage());
        } else {
            TemplateException e = assertThrows(TemplateException.class, render::get);
            assertTrue(e.getMessage().contains(c.get("message").asText()), () -> "jinja2 said \"" + c.get("message").asText()
                    + "\", we said \"" + e.getMessage() + "\"");
        }
    }

    @TestFactory
    List<DynamicTest> rendersAsJinja2Does() throws Exception {
        JsonNode fixture = fixture("semantics.json");
        @SuppressWarnings("unchecked")
        Map<String, Object> context = new ObjectMapper().convertValue(fixture.get("context"), Map.class);
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : fixture.get("cases")) {
            String source = c.get("template").asText();
            tests.add(DynamicTest.dynamicTest(source.replace("\n", "\\n"),
                    () -> check(c, () -> JinjaTemplate.parse(source).render(context, FIXED))));
        }
        return tests;
    }
}
