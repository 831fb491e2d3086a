package dev.finetune4j.gguf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ReferenceFolders;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.core.tokenizer.HfTokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Not a test: how long an export takes per type, on a model of llama-1.1b-shape's widths (hidden 2048, MLP 5632,
 * GQA 32/4 heads, vocabulary 32,000) with fewer layers, float32 weights drawn with transformers' std of 0.02. Prints
 * one line per type and round: seconds, file size and matrix values encoded per second. Types alternate within each
 * round, so a noisy machine hits all of them alike.
 *
 * <pre>
 * java -cp gguf/target/test-classes:gguf/target/classes:&lt;test classpath&gt; dev.finetune4j.gguf.GgufExportBenchmark \
 *     [layers=4] [rounds=3] [types=f16,q8_0,q4_k_m,q6_k]
 * </pre>
 */
public final class GgufExportBenchmark {
    private GgufExportBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int layers = args.length > 0 ? Integer.parseInt(args[0]) : 4;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        List<GgufType> types = (args.length > 2 ? List.of(args[2].split(",")) : List.of("f16", "q8_0", "q4_k_m", "q6_k"))
                .stream().map(GgufType::named).toList();
        ObjectNode config = (ObjectNode) new ObjectMapper().readTree("""
                {"model_type": "llama", "vocab_size": 32000, "hidden_size": 2048, "intermediate_size": 5632,
                 "num_attention_heads": 32, "num_key_value_heads": 4, "max_position_embeddings": 2048,
                 "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": false}""");
        config.put("num_hidden_layers", layers);
        Path dir = Files.createTempDirectory("gguf-bench");
        try (LanguageModel model = AutoModel.newCausalLM(config, TensorScope.detached());
             HfTokenizer tokenizer = HfTokenizer.load(ReferenceFolders.copy("tokenizer/sentencepiece-bos",
                     List.of("tokenizer.json", "tokenizer_config.json"), dir.resolve("tokenizer")))) {
            SplittableRandom random = new SplittableRandom(7);
            model.stateDict().forEach((name, t) -> StateDicts.fill(t,
                    name.endsWith("norm.weight") ? () -> 1.0 : () -> random.nextGaussian() * 0.02));
            long values = model.stateDict().values().stream().filter(t -> t.rank() == 2).mapToLong(t -> t.numel()).sum();
            System.out.printf(Locale.ROOT, "llama-1.1b widths, %d layers: %.1f M matrix values; %d processors%n",
                    layers, values / 1e6, Runtime.getRuntime().availableProcessors());
            for (int round = 0; round < rounds; round++) {
                for (GgufType type : types) {
                    Path file = dir.resolve("m.gguf");
                    long start = System.nanoTime();
                    GgufExporter.export(model, tokenizer, file, type);
                    double seconds = (System.nanoTime() - start) / 1e9;
                    System.out.printf(Locale.ROOT, "round %d %-7s %6.2f s  %7.1f MB  %6.1f M values/s%n", round,
                            type.name().toLowerCase(Locale.ROOT), seconds, Files.size(file) / 1e6, values / seconds / 1e6);
                    Files.delete(file);
                }
            }
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
