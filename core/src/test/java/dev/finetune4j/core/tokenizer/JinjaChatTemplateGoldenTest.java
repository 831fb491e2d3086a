package dev.finetune4j.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.tokenizer.jinja.TemplateException;
import dev.finetune4j.core.tokenizer.jinja.TemplateRaisedException;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real models' chat templates (chat-templates/*.jinja, sources in its README) render each conversation exactly
 * as jinja2 does in transformers' environment (chat-templates/golden.json.gz, written by
 * tools/reference/chat_templates.py), tools, tool calls and tool results included (read through {@link ChatJson},
 * as the server and the data pipeline read them) and the extra variables some templates read (reasoning effort,
 * thinking switches, documents), and refuse the conversations the templates refuse with their
 * messages.
 */
class JinjaChatTemplateGoldenTest {
    private static final Clock FIXED = Clock.fixed(Instant.parse("2026-03-07T09:05:03Z"), ZoneOffset.UTC);

    static JinjaChatTemplate template(String name, JsonNode tokens) throws Exception {
        String source;
        try (InputStream in = JinjaChatTemplateGoldenTest.class.getResourceAsStream("/chat-templates/" + name + ".jinja")) {
            source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Map<String, String> special = new HashMap<>();
        tokens.properties().forEach(e -> special.put(e.getKey(), e.getValue().asText()));
        return JinjaChatTemplate.parse(name, source, special).withClock(FIXED);
    }

    @TestFactory
    List<DynamicTest> rendersAsTransformersDoes() throws Exception {
        JsonNode golden;
        try (InputStream in = new GZIPInputStream(getClass().getResourceAsStream("/chat-templates/golden.json.gz"))) {
            golden = new ObjectMapper().readTree(in);
        }
        List<DynamicTest> tests = new ArrayList<>();
        Map<String, JinjaChatTemplate> parsed = new HashMap<>();
        for (JsonNode c : golden.get("cases")) {
            List<ChatMessage> messages = ChatJson.messages(c.get("messages"), "messages");
            List<ToolDefinition> tools = ChatJson.tools(c.get("tools"), "tools");
            boolean generation = c.get("add_generation_prompt").asBoolean();
            @SuppressWarnings("unchecked")
            Map<String, Object> variables = c.has("variables") ? (Map<String, Object>) TemplateValues.of(c.get("variables")) : Map.of();
            String file = c.get("template").asText();
            if (!parsed.containsKey(file)) {
                parsed.put(file, template(file, c.get("tokens")));
            }
            JinjaChatTemplate template = parsed.get(file).withVariables(variables);
            String name = c.get("template").asText() + " / " + c.get("conversation").asText() + (generation ? " + generation prompt" : "");
            tests.add(DynamicTest.dynamicTest(name, () -> {
                if (c.has("expected")) {
                    assertEquals(c.get("expected").asText(), template.render(messages, tools, generation));
                } else if (c.get("error").asText().equals("raised")) {
                    TemplateRaisedException e = assertThrows(TemplateRaisedException.class, () -> template.render(messages, tools, generation));
                    assertEquals(c.get("message").asText(), e.getMessage());
                } else {
                    TemplateException e = assertThrows(TemplateException.class, () -> template.render(messages, tools, generation));
                    assertTrue(e.getMessage().contains(c.get("message").asText()), e.getMessage());
                }
            }));
        }
        return tests;
    }
}
