package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.qlora.QloraInjector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code /v1/models}, {@code /health} and the admin routes that load, replace and unload adapters while serving. */
class ModelRoutesTest {
    private static ServerFixture fixture;

    @BeforeAll
    static void start() {
        fixture = ServerFixture.start();
    }

    @AfterAll
    static void stop() {
        fixture.close();
    }

    private static List<String> modelIds() throws Exception {
        HttpResponse<String> r = fixture.get("/v1/models");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = ServerFixture.json(r);
        assertEquals("list", body.get("object").asText());
        List<String> ids = new ArrayList<>();
        for (JsonNode m : body.get("data")) {
            assertEquals("model", m.get("object").asText());
            assertTrue(m.get("created").asLong() > 0);
            assertEquals("finetune4j", m.get("owned_by").asText());
            ids.add(m.get("id").asText());
        }
        return ids;
    }

    @Test
    void modelsListsTheBaseThenTheAdapters() throws Exception {
        assertEquals(List.of("tiny-chat", "lora"), modelIds().subList(0, 2));
        JsonNode adapter = ServerFixture.json(fixture.get("/v1/models")).get("data").get(1);
        assertEquals("tiny-chat", adapter.get("parent").asText());
    }

    @Test
    void healthIsOkWithTheQueue() throws Exception {
        HttpResponse<String> r = fixture.get("/health");
        assertEquals(200, r.statusCode());
        JsonNode body = ServerFixture.json(r);
        assertEquals("ok", body.get("status").asText());
        assertEquals(0, body.get("queue_depth").asInt());
    }

    @Test
    void anAdapterIsLoadedReplacedAndUnloadedWhileServing() throws Exception {
        String load = "{\"name\": \"second\", \"path\": " + ServerFixture.JSON.writeValueAsString(ServerFixture.adapterDir().toString()) + "}";
        String complete = "{\"model\": \"second\", \"prompt\": \"Hello world\", \"max_tokens\": 12, \"temperature\": 0}";

        HttpResponse<String> loaded = fixture.post("/admin/adapters", load);
        assertEquals(200, loaded.statusCode(), loaded.body());
        assertEquals("second", ServerFixture.json(loaded).get("id").asText());
        assertFalse(ServerFixture.json(loaded).get("replaced").asBoolean());
        assertFalse(ServerFixture.json(loaded).has("warnings"), "trained on this full-precision base: " + loaded.body());
        assertTrue(modelIds().contains("second"));
        // the same adapter files under another name answer as "lora" does
        String viaLora = ServerFixture.json(fixture.post("/v1/completions", complete.replace("second", "lora")))
                .get("choices").get(0).get("text").asText();
        HttpResponse<String> answered = fixture.post("/v1/completions", complete);
        assertEquals(200, answered.statusCode(), answered.body());
        assertEquals(viaLora, ServerFixture.json(answered).get("choices").get(0).get("text").asText());

        HttpResponse<String> replaced = fixture.post("/admin/adapters", load);
        assertEquals(200, replaced.statusCode(), replaced.body());
        assertTrue(ServerFixture.json(replaced).get("replaced").asBoolean());

        HttpResponse<String> deleted = fixture.delete("/admin/adapters/second");
        assertEquals(200, deleted.statusCode(), deleted.body());
        assertTrue(ServerFixture.json(deleted).get("deleted").asBoolean());
        assertFalse(modelIds().contains("second"));
        assertEquals(404, fixture.post("/v1/completions", complete).statusCode());
        assertEquals(404, fixture.delete("/admin/adapters/second").statusCode());
    }

    /**
     * A QLoRA adapter (trained on the NF4-quantized base) loaded onto this full-precision base is served, and the
     * answer says that it computes other logits than in training.
     */
    @Test
    void aQloraAdapterOnTheFullPrecisionBaseLoadsWithAWarning(@TempDir Path tmp) throws Exception {
        Path qlora = tmp.resolve("qlora");
        try (LanguageModel base = AutoModel.loadCausalLM(ServerFixture.modelDir())) {
            QloraInjector.wrap(base, LoraConfig.builder().r(4).targetModules("q_proj").build()).save(qlora);
        }
        HttpResponse<String> loaded = fixture.post("/admin/adapters", "{\"name\": \"qlora\", \"path\": "
                + ServerFixture.JSON.writeValueAsString(qlora.toString()) + "}");
        assertEquals(200, loaded.statusCode(), loaded.body());
        JsonNode warnings = ServerFixture.json(loaded).get("warnings");
        assertEquals(1, warnings.size(), loaded.body());
        assertTrue(warnings.get(0).asText().contains("trained on an NF4-quantized base (QLoRA), this base is full precision"),
                loaded.body());
        assertTrue(modelIds().contains("qlora"), "loaded all the same");
        assertEquals(200, fixture.delete("/admin/adapters/qlora").statusCode());
    }

    @Test
    void badAdminRequestsAre400() throws Exception {
        HttpResponse<String> missing = fixture.post("/admin/adapters", "{\"name\": \"x\", \"path\": \"/no/such/folder\"}");
        assertEquals(400, missing.statusCode(), missing.body());
        assertEquals("path", ServerFixture.json(missing).get("error").get("param").asText());

        String notAnAdapter = ServerFixture.JSON.writeValueAsString(ServerFixture.modelDir().toString());
        HttpResponse<String> model = fixture.post("/admin/adapters", "{\"name\": \"x\", \"path\": " + notAnAdapter + "}");
        assertEquals(400, model.statusCode(), model.body());
        assertTrue(ServerFixture.json(model).get("error").get("message").asText().contains("cannot load the adapter"), model.body());

        assertEquals(400, fixture.post("/admin/adapters", "{\"name\": \"tiny-chat\", \"path\": " + notAnAdapter + "}").statusCode());
        assertEquals(400, fixture.post("/admin/adapters", "{\"path\": " + notAnAdapter + "}").statusCode());
        assertEquals(400, fixture.delete("/admin/adapters/tiny-chat").statusCode());
        assertFalse(modelIds().contains("x"));
    }

    @Test
    void adapterNamesThatAPathOrALogLineCannotCarryAre400() throws Exception {
        String adapter = ServerFixture.JSON.writeValueAsString(ServerFixture.adapterDir().toString());
        for (String name : List.of("a/b", "x\n2026 INFO forged log line", "..", " lead", "")) {
            HttpResponse<String> r = fixture.post("/admin/adapters", "{\"name\": " + ServerFixture.JSON.writeValueAsString(name)
                    + ", \"path\": " + adapter + "}");
            JsonNode error = ServerFixture.assertError(r, 400, "invalid_value", "name");
            assertTrue(error.get("message").asText().contains("[A-Za-z0-9]"), error.toString());
            assertFalse(modelIds().contains(name));
        }
    }

    @Test
    void anAdapterNamedLikeAFineTunedOpenAiModelLoadsAndUnloads() throws Exception {
        String name = "ft:tiny-chat:acme.support_v2";
        HttpResponse<String> loaded = fixture.post("/admin/adapters", "{\"name\": \"" + name + "\", \"path\": "
                + ServerFixture.JSON.writeValueAsString(ServerFixture.adapterDir().toString()) + "}");
        assertEquals(200, loaded.statusCode(), loaded.body());
        assertTrue(modelIds().contains(name));
        HttpResponse<String> deleted = fixture.delete("/admin/adapters/" + name);
        assertEquals(200, deleted.statusCode(), deleted.body());
        assertFalse(modelIds().contains(name));
    }
}
