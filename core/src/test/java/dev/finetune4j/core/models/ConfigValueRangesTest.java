package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.bert.BertConfig;
import dev.finetune4j.core.models.bert.DistilBertConfig;
import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.gpt2.Gpt2Config;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Rotary, norm and switch settings in config.json are read strictly: each of these used to load silently and
 * make every logit NaN (theta 0, eps -1, factor "NaN") or quietly change the model ("two" as 1.0, "yes" as false,
 * a rope_scaling list ignored, 1e300 as float Infinity).
 */
class ConfigValueRangesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            // field set on the llama fixture | JSON value | words the message must hold
            "rope_parameters | {\"rope_type\": \"default\", \"rope_theta\": 0}      | 'rope_theta' = 0 must be a finite number > 1",
            "rope_parameters | {\"rope_type\": \"default\", \"rope_theta\": -1.0}   | 'rope_theta' = -1.0 must be a finite number > 1",
            "rope_parameters | {\"rope_type\": \"default\", \"rope_theta\": \"abc\"} | 'rope_theta' = \"abc\" must be a finite number > 1",
            "rope_parameters | {\"rope_type\": \"linear\", \"factor\": \"NaN\"}     | 'factor' = \"NaN\" must be a finite number > 0",
            "rope_parameters | {\"rope_type\": \"linear\", \"factor\": \"two\"}     | 'factor' = \"two\" must be a finite number > 0",
            "rope_parameters | {\"rope_type\": \"linear\", \"factor\": 0}           | 'factor' = 0 must be a finite number > 0",
            "rope_parameters | {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 1.0} | 'low_freq_factor' = 1.0 must be less than 'high_freq_factor'",
            "rope_parameters | {\"rope_type\": \"yarn\", \"factor\": 4.0, \"original_max_position_embeddings\": 0} | 'original_max_position_embeddings' = 0 must be an integer in [1,",
            "rope_parameters | [1, 2]                                                 | 'rope_parameters' = [1,2] must be an object or null",
            "rms_norm_eps    | -1.0                                                   | 'rms_norm_eps' = -1.0 must be a finite number in (0, 1)",
            "rms_norm_eps    | 1e300                                                  | 'rms_norm_eps' = 1.0E300 must be a finite number in (0, 1)",
            "rms_norm_eps    | 1e-50                                                  | 'rms_norm_eps' = 1.0E-50 must be a finite number in (0, 1)",
            "attention_bias  | \"yes\"                                                | 'attention_bias' = \"yes\" must be true or false",
            "mlp_bias        | 1                                                      | 'mlp_bias' = 1 must be true or false",
            "tie_word_embeddings | \"true\"                                           | 'tie_word_embeddings' = \"true\" must be true or false",
            "attention_dropout | 5.0                                                  | 'attention_dropout' = 5.0 must be a finite number in [0, 1)"})
    void decoderSettingsOutOfRangeAreRefusedNamingKeyValueAndRange(String field, String value, String expected)
            throws IOException {
        ObjectNode c = fixture("/hf-tiny/llama/config.json");
        c.set(field, JSON.readTree(value));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DecoderConfig.fromJson(c));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains(expected), e.getMessage());
    }

    /** Ministral 3's query temperature, set in rope_parameters beside its YaRN settings. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "llama_4_scaling_beta             | -0.5      | 'llama_4_scaling_beta' = -0.5 must be a finite number >= 0",
            "llama_4_scaling_beta             | \"abc\"   | 'llama_4_scaling_beta' = \"abc\" must be a finite number >= 0",
            "original_max_position_embeddings | 0         | 'original_max_position_embeddings' = 0 must be an integer in [1,"})
    void ministral3sQueryTemperatureIsReadStrictly(String key, String value, String expected) throws IOException {
        ObjectNode c = fixture("/references/ministral3/config.json");
        ((ObjectNode) c.get("rope_parameters")).set(key, JSON.readTree(value));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DecoderConfig.fromJson(c));
        assertTrue(e.getMessage().contains("config.json rope_parameters") && e.getMessage().contains(expected),
                e.getMessage());
    }

    /**
     * What Mistral 4's rotary cannot be: the default rope (transformers' table then spans the whole latent head and its
     * forward fails), a partial_rotary_factor that rotates other than qk_rope_head_dim dims, an odd qk_nope_head_dim
     * under the temperature (scaled in pairs); and its temperature's settings read strictly, the missing one named.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "rope_type             | \"default\" | rope_type 'default' is not supported for mistral4",
            "partial_rotary_factor | 0.5         | partial_rotary_factor = 0.5 rotates 5 of a head's 10 dimensions, not its qk_rope_head_dim = 4",
            "llama_4_scaling_beta  | -0.5        | 'llama_4_scaling_beta' = -0.5 must be a finite number >= 0",
            "llama_4_scaling_beta  | null        | lacks 'llama_4_scaling_beta': a mistral4 model multiplies its queries",
            "qk_nope_head_dim      | 5           | qk_nope_head_dim = 5 is odd"})
    void mistral4sRotaryIsReadStrictly(String key, String value, String expected) throws IOException {
        ObjectNode c = fixture("/references/mistral4/config.json");
        ObjectNode rope = (ObjectNode) c.get("rope_parameters");
        if (key.equals("qk_nope_head_dim")) {
            c.put(key, Integer.parseInt(value));
            rope.remove("partial_rotary_factor");
        } else if (value.equals("null")) {
            rope.remove(key);
        } else {
            rope.set(key, JSON.readTree(value));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DecoderConfig.fromJson(c));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains(expected), e.getMessage());
    }

    /**
     * Gemma 4's mixture beside the MLP: its switch, counts and width read strictly (the fixture holds 4 experts of 16,
     * 2 per token), k at most the experts.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "enable_moe_block      | \"yes\" | 'enable_moe_block' = \"yes\" must be true or false",
            "num_experts           | 0         | 'num_experts' = 0 must be an integer in [1,",
            "num_experts           | \"four\"| 'num_experts' = \"four\" must be an integer in [1,",
            "top_k_experts         | 5         | 'top_k_experts' = 5 must be an integer in [1, 4]",
            "top_k_experts         | 1.5       | 'top_k_experts' = 1.5 must be an integer in [1, 4]",
            "moe_intermediate_size | -16       | 'moe_intermediate_size' = -16 must be an integer in [1,"})
    void gemma4sMixtureIsReadStrictly(String key, String value, String expected) throws IOException {
        ObjectNode c = fixture("/references/gemma4_text_moe/config.json");
        c.set(key, JSON.readTree(value));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DecoderConfig.fromJson(c));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains(expected), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-1.0", "\"abc\""})
    void topLevelRopeThetaAndAListRopeScalingAreReadStrictly(String theta) throws IOException {
        ObjectNode c = fixture("/hf-tiny/llama/config.json");
        c.remove("rope_parameters");
        c.set("rope_theta", JSON.readTree(theta));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DecoderConfig.fromJson(c));
        assertTrue(e.getMessage().contains("'rope_theta' = " + theta), e.getMessage());

        c.put("rope_theta", 10000.0);
        c.set("rope_scaling", JSON.readTree("[1, 2]"));
        e = assertThrows(IllegalArgumentException.class, () -> DecoderConfig.fromJson(c));
        assertTrue(e.getMessage().contains("'rope_scaling' = [1,2] must be an object or null"), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"/hf-tiny/gpt2/config.json | layer_norm_epsilon", "/hf-tiny/bert_cls/config.json | layer_norm_eps",
            "/references/roberta_cls/config.json | layer_norm_eps"})
    void gpt2AndBertNormEpsilonsAreRangeChecked(String config, String field) throws IOException {
        for (String value : new String[]{"-1.0", "1e300", "0"}) {
            ObjectNode c = fixture(config);
            c.set(field, JSON.readTree(value));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> gpt2OrBert(config, c));
            assertTrue(e.getMessage().contains("'" + field + "'") && e.getMessage().contains("in (0, 1)"), e.getMessage());
        }
    }

    /** GPT-2's, BERT's, RoBERTa's and DistilBERT's dropouts are probabilities in [0, 1); 1 would zero every activation. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"/hf-tiny/gpt2/config.json | attn_pdrop",
            "/hf-tiny/gpt2/config.json | resid_pdrop", "/hf-tiny/gpt2/config.json | embd_pdrop",
            "/hf-tiny/bert_cls/config.json | hidden_dropout_prob",
            "/hf-tiny/bert_cls/config.json | attention_probs_dropout_prob",
            "/hf-tiny/bert_cls/config.json | classifier_dropout",
            "/references/xlm_roberta_cls/config.json | classifier_dropout",
            "/references/distilbert_cls/config.json | dropout", "/references/distilbert_cls/config.json | attention_dropout",
            "/references/distilbert_cls/config.json | seq_classif_dropout"})
    void gpt2AndBertDropoutsAreProbabilities(String config, String field) throws IOException {
        for (String value : new String[]{"1.0", "-0.1", "\"0.1\""}) {
            ObjectNode c = fixture(config);
            c.set(field, JSON.readTree(value));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> gpt2OrBert(config, c));
            assertTrue(e.getMessage().contains("'" + field + "' = " + c.get(field))
                    && e.getMessage().contains("in [0, 1)"), e.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"/hf-tiny/llama", "/hf-tiny/qwen2", "/references/mistral", "/references/qwen3",
            "/references/llama_rope_llama3", "/references/qwen2_rope_yarn", "/references/nemotron_h"})
    void realFixtureConfigsStillLoad(String dir) throws IOException {
        ObjectNode c = fixture(dir + "/config.json");
        assertDoesNotThrow(() -> DecoderConfig.fromJson(c));
    }

    /** DistilBERT's switch is a boolean, as transformers' strict config reads it. */
    @ParameterizedTest
    @ValueSource(strings = {"\"yes\"", "1", "[true]"})
    void distilBertsSinusoidalSwitchIsABoolean(String value) throws IOException {
        ObjectNode c = fixture("/references/distilbert_cls/config.json");
        c.set("sinusoidal_pos_embds", JSON.readTree(value));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DistilBertConfig.fromJson(c));
        assertTrue(e.getMessage().contains("'sinusoidal_pos_embds' = " + c.get("sinusoidal_pos_embds")
                + " must be true or false"), e.getMessage());
    }

    /** Reads {@code c} as the config of the fixture it came from: GPT-2's, DistilBERT's or BERT's (RoBERTa's). */
    private static void gpt2OrBert(String fixture, ObjectNode c) {
        if (fixture.contains("gpt2")) {
            Gpt2Config.fromJson(c);
        } else if (fixture.contains("distilbert")) {
            DistilBertConfig.fromJson(c);
        } else {
            BertConfig.fromJson(c);
        }
    }

    private static ObjectNode fixture(String resource) throws IOException {
        try (InputStream in = ConfigValueRangesTest.class.getResourceAsStream(resource)) {
            JsonNode c = JSON.readTree(in);
            return (ObjectNode) c;
        }
    }
}
