package dev.finetune4j.spark;

import dev.finetune4j.data.format.Json;
import dev.finetune4j.data.format.RecordWriter;
import dev.finetune4j.data.format.WrittenFile;
import dev.finetune4j.data.record.Record;
import dev.finetune4j.data.split.SplitKeys;
import dev.finetune4j.data.split.SplitSpec;
import dev.finetune4j.data.split.StratifiedCuts;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.expressions.Window;
import scala.Tuple2;
import scala.Tuple3;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.octet_length;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.sum;

/**
 * Assigns records to outputs with finetune4j-data's split functions ({@link SplitKeys}: a seeded hash of a
 * stable key, so partitioning does not matter) and writes each output as a folder of JSONL part files, every
 * line exactly as the single-machine writer writes it.
 *
 * <p>A stratified split cuts each label's positions at the ratio quantiles like {@link StratifiedCuts}: the
 * positions at the cut ranks are found with a window over each label sorted by position (Spark sorts and spills
 * it; a label's positions are 8 bytes per record in one task).
 */
final class SparkSplit {
    private SparkSplit() {
    }

    /**
     * Writes {@code records} into {@code folder}, one folder of part files per output, each moved into place once
     * every output is written; nothing is written when there is no record.
     *
     * @param spec the split, or {@code null} for one output called {@code data}
     * @return the outputs, in the split's order, with records and bytes (no SHA-256: see {@link WrittenFile})
     * @throws IOException when an output cannot be moved into place
     */
    static List<WrittenFile> write(Dataset<Tuple2<Long, Record>> records, SplitSpec spec, OutputFolder folder,
                                   Persisted persisted) throws IOException {
        List<String> names = names(spec);
        Map<String, double[]> cuts = spec != null && spec.stratifyField() != null ? stratifiedCuts(records, spec)
                : null;
        Dataset<Row> placed = persisted.keep(records.map((MapFunction<Tuple2<Long, Record>, Tuple2<Integer, String>>)
                t -> new Tuple2<>(bucket(t._2(), spec, cuts), Json.write(RecordWriter.jsonObject(t._2()))),
                Encoders.tuple(Encoders.INT(), Encoders.STRING())).toDF("split", "line"));
        Map<Integer, long[]> stats = new HashMap<>();
        for (Row r : placed.groupBy("split").agg(count(lit(1)), sum(octet_length(col("line")).plus(1)))
                .collectAsList()) {
            stats.put(r.getInt(0), new long[] {r.getLong(1), r.getLong(2)});
        }
        List<WrittenFile> outputs = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            long[] s = stats.getOrDefault(i, new long[2]);
            outputs.add(new WrittenFile(names.get(i) + "/", s[0], s[1], null));
        }
        if (stats.isEmpty()) {
            return outputs;
        }
        // NOTE: one job writes every output (a folder per split value), then each folder is moved to its output's
        // name: one pass over the records instead of one per output
        placed.write().mode(SaveMode.Overwrite).partitionBy("split").text(folder.staged("split"));
        for (int i = 0; i < names.size(); i++) {
            folder.publish("split/split=" + i, names.get(i));
        }
        return outputs;
    }

    /**
     * The outputs' folder names.
     *
     * @param spec the split, or {@code null}
     * @return the split's output names, or {@code data}
     */
    static List<String> names(SplitSpec spec) {
        return spec == null ? List.of("data") : spec.names();
    }

    private static int bucket(Record r, SplitSpec spec, Map<String, double[]> cuts) {
        if (spec == null) {
            return 0;
        }
        double position = SplitKeys.position(r, spec);
        double[] bounds = cuts == null ? SplitKeys.cumulative(spec) : cuts.get(SplitKeys.label(r, spec));
        return SplitKeys.bucket(position, bounds);
    }

    private static Map<String, double[]> stratifiedCuts(Dataset<Tuple2<Long, Record>> records, SplitSpec spec) {
        double[] cumulative = SplitKeys.cumulative(spec);
        Dataset<Row> positions = records.map((MapFunction<Tuple2<Long, Record>, Tuple2<String, Double>>)
                t -> new Tuple2<>(SplitKeys.label(t._2(), spec), SplitKeys.position(t._2(), spec)),
                Encoders.tuple(Encoders.STRING(), Encoders.DOUBLE())).toDF("label", "position");
        Map<String, double[]> cuts = new HashMap<>();
        List<Tuple3<String, Long, Integer>> wanted = new ArrayList<>();
        for (Row r : positions.groupBy("label").count().collectAsList()) {
            String label = r.getString(0);
            long n = r.getLong(1);
            double[] c = new double[cumulative.length];
            Arrays.fill(c, Double.POSITIVE_INFINITY);
            cuts.put(label, c);
            long[] ranks = StratifiedCuts.cutRanks(cumulative, n);
            for (int i = 0; i < ranks.length; i++) {
                if (ranks[i] < n) {
                    wanted.add(new Tuple3<>(label, ranks[i], i));
                }
            }
        }
        if (!wanted.isEmpty()) {
            Dataset<Row> want = records.sparkSession().createDataset(wanted,
                    Encoders.tuple(Encoders.STRING(), Encoders.LONG(), Encoders.INT())).toDF("wlabel", "wrank", "cut");
            Dataset<Row> ranked = positions.withColumn("rank",
                    row_number().over(Window.partitionBy("label").orderBy("position")).minus(1));
            for (Row r : ranked.join(want, col("label").equalTo(col("wlabel")).and(col("rank").equalTo(col("wrank"))))
                    .select("label", "cut", "position").collectAsList()) {
                cuts.get(r.getString(0))[r.getInt(1)] = r.getDouble(2);
            }
        }
        return cuts;
    }
}
