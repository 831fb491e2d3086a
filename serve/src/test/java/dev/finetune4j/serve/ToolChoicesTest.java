package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.generate.tools.ToolCallFormat;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code tool_choice "auto"} reads answers in the server's format bound to the request's tools: Qwen3-Coder's XML
 * parameters, text in the answer, come back typed by the request's schema for them, so the same answer gives a number
 * under one request and a string under another.
 */
class ToolChoicesTest {
    private static final String ANSWER = "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n"
            + "<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>";

    @Test
    void autoTypesXmlParametersByTheRequestsToolSchemas() throws Exception {
        ToolChoices choices = new ToolChoices(ToolCallFormat.QWEN3_CODER, new ServedVocabulary(null));

        assertEquals("{\"city\":\"Paris\",\"days\":3}", arguments(choices, "{\"type\": \"integer\"}"));
        assertEquals("{\"city\":\"Paris\",\"days\":\"3\"}", arguments(choices, "{\"type\": \"string\"}"));
    }

    /** The arguments {@code ANSWER} gives when the request declares {@code days} with {@code daysSchema}. */
    private static String arguments(ToolChoices choices, String daysSchema) throws Exception {
        JsonNode body = ServerFixture.JSON.readTree("{\"tools\": [{\"type\": \"function\", \"function\": {\"name\": "
                + "\"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}, "
                + "\"days\": " + daysSchema + "}}}}], \"tool_choice\": \"auto\"}");
        ToolCalling calling = choices.read(body);
        assertEquals("qwen3_coder", calling.format().name());
        return calling.format().parse(ANSWER).calls().getFirst().arguments();
    }
}
