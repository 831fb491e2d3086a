package dev.finetune4j.core.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link JinjaChatTemplate#withVariables}: what a template reads besides the conversation (rendered against jinja2 by
 * {@link JinjaChatTemplateGoldenTest}'s gpt-oss, SmolLM3 and Granite cases); here, which names it refuses and that
 * the template keeps its own copy.
 */
class JinjaChatTemplateVariablesTest {
    private static final String SOURCE = "{{ bos_token }}{{ reasoning_effort | default('medium') }}:{{ docs | join(',') }}"
            + "{% for m in messages %}|{{ m.content }}{% endfor %}";

    @Test
    void passesVariablesBesideTheConversationAndKeepsItsOwnCopy() {
        List<String> docs = new ArrayList<>(List.of("a", "b"));
        JinjaChatTemplate plain = JinjaChatTemplate.parse("test", SOURCE, Map.of("bos_token", "<s>"));
        JinjaChatTemplate high = plain.withVariables(Map.of("reasoning_effort", "high", "docs", docs));
        docs.add("changed later");

        List<ChatMessage> turns = List.of(ChatMessage.user("hi"));
        assertEquals("<s>high:a,b|hi", high.render(turns, false));
        assertEquals("<s>medium:|hi", plain.render(turns, false), "the original has no variables");
        assertEquals("<s>low:|hi", high.withVariables(Map.of("reasoning_effort", "low")).render(turns, false),
                "a later call replaces the variables");
    }

    @Test
    void refusesTheNamesThatRenderAndParseSet() {
        JinjaChatTemplate t = JinjaChatTemplate.parse("test", SOURCE, Map.of());
        IllegalArgumentException messages = assertThrows(IllegalArgumentException.class,
                () -> t.withVariables(Map.of("messages", List.of())));
        assertTrue(messages.getMessage().contains("'messages' is set by render's arguments"), messages.getMessage());
        IllegalArgumentException bos = assertThrows(IllegalArgumentException.class,
                () -> t.withVariables(Map.of("bos_token", "<s>")));
        assertTrue(bos.getMessage().contains("'bos_token' is set by parse's special tokens"), bos.getMessage());
    }

    @Test
    void aRenderRefusesValuesThatAreNotPlainData() {
        JinjaChatTemplate t = JinjaChatTemplate.parse("test", SOURCE, Map.of()).withVariables(Map.of("docs", new Object()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> t.render(List.of(ChatMessage.user("hi")), false));
        assertTrue(e.getMessage().contains("docs is a java.lang.Object"), e.getMessage());
    }
}
