package dev.finetune4j.onnx;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.TensorScope;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Not a test: the data file's size and ONNX Runtime's CPU time per prompt and per generated token of a random
 * LLaMA-shaped model (hidden 1024, 4 layers, 16 heads of 64 and 4 key/value heads, MLP 2816, vocabulary 32000,
 * separate head) exported as float32, int8 and int4 in blocks of 32 (int4 run twice: ONNX Runtime's default fused
 * kernel, which rounds the activations to int8, and its float32 accuracy level 1). Rounds alternate the exports; each
 * prints its times, then the medians. Run with the onnx module's test classpath:
 * {@code java -cp ... dev.finetune4j.onnx.QuantizedExportTiming /tmp/quant-timing [rounds]}.
 */
final class QuantizedExportTiming {
    private static final int PROMPT = 128;
    private static final int NEW_TOKENS = 32;

    private QuantizedExportTiming() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        ObjectNode config = new ObjectMapper().createObjectNode().put("model_type", "llama").put("hidden_size", 1024)
                .put("intermediate_size", 2816).put("num_hidden_layers", 4).put("num_attention_heads", 16)
                .put("num_key_value_heads", 4).put("head_dim", 64).put("vocab_size", 32000)
                .put("max_position_embeddings", 1024).put("rms_norm_eps", 1e-6).put("tie_word_embeddings", false);
        config.putArray("architectures").add("LlamaForCausalLM");
        Map<String, OnnxExportOptions> exports = new LinkedHashMap<>();
        exports.put("float32", OnnxExportOptions.float32());
        exports.put("int8/32", OnnxExportOptions.int8(32));
        exports.put("int4/32", OnnxExportOptions.int4(32));
        Map<String, Path> files = new LinkedHashMap<>();
        try (LanguageModel model = AutoModel.newCausalLM(config, TensorScope.detached())) {
            StateDicts.initNormal(model, 0.02, new SplittableRandom(7));
            for (Map.Entry<String, OnnxExportOptions> e : exports.entrySet()) {
                long start = System.nanoTime();
                Path file = OnnxExporter.export(model, dir.resolve(e.getKey().replace('/', '-')), e.getValue());
                files.put(e.getKey(), file);
                System.out.printf("%s: %,d bytes of data, exported in %.1f s%n", e.getKey(),
                        Files.size(file.resolveSibling(OnnxExporter.DATA_FILE)), (System.nanoTime() - start) / 1e9);
            }
        }
        Map<String, OrtDecoder> sessions = new LinkedHashMap<>();
        for (Map.Entry<String, Path> e : files.entrySet()) {
            sessions.put(e.getKey(), new OrtDecoder(e.getValue()));
        }
        sessions.put("int4/32, accuracy level 1", new OrtDecoder(files.get("int4/32"),
                Map.of(OnnxQuantizedExportTest.FUSED_ACCURACY, "1")));
        long[] ids = new SplittableRandom(1).ints(PROMPT + NEW_TOKENS, 0, 32000).asLongStream().toArray();
        long[][] prompt = {Arrays.copyOf(ids, PROMPT)};
        long[][] mask = {new long[PROMPT]};
        long[][] positions = {new long[PROMPT]};
        Arrays.fill(mask[0], 1);
        Arrays.setAll(positions[0], i -> i);
        Map<String, List<double[]>> times = new LinkedHashMap<>();
        for (int round = 0; round <= rounds; round++) { // round 0 warms up
            for (Map.Entry<String, OrtDecoder> e : sessions.entrySet()) {
                long start = System.nanoTime();
                e.getValue().logits(prompt, mask, positions);
                double promptMs = (System.nanoTime() - start) / 1e6;
                start = System.nanoTime();
                e.getValue().stepLogits(ids, PROMPT, OrtDecoder.StaleCache.NEVER); // the prompt, then a token a call
                double tokenMs = ((System.nanoTime() - start) / 1e6 - promptMs) / NEW_TOKENS;
                System.out.printf("round %d %s: prompt of %d %.0f ms, %.1f ms a token; load %.2f%n", round, e.getKey(),
                        PROMPT, promptMs, tokenMs, ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
                if (round > 0) {
                    times.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(new double[]{promptMs, tokenMs});
                }
            }
        }
        times.forEach((name, runs) -> System.out.printf("median %s: prompt %.0f ms, %.1f ms a token%n", name,
                median(runs, 0), median(runs, 1)));
        for (OrtDecoder session : sessions.values()) {
            session.close();
        }
    }

    private static double median(List<double[]> runs, int column) {
        double[] values = runs.stream().mapToDouble(r -> r[column]).sorted().toArray();
        return values[values.length / 2];
    }
}
