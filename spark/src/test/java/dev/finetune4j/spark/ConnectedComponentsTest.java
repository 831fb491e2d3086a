package dev.finetune4j.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ConnectedComponentsTest {
    @Test
    void everyNodeIsJoinedToTheSmallestNodeOfItsComponent() {
        // components {1, 2, 3, 4, 9} (a path 9-4-3-2-1, worst case for label propagation), {5, 6}, {7, 8, 10}
        // (a star around 10, whose smallest node 7 is a leaf)
        List<Tuple2<Long, Long>> edges = List.of(new Tuple2<>(9L, 4L), new Tuple2<>(4L, 3L), new Tuple2<>(3L, 2L),
                new Tuple2<>(2L, 1L), new Tuple2<>(6L, 5L), new Tuple2<>(5L, 6L), new Tuple2<>(10L, 7L),
                new Tuple2<>(10L, 8L));
        Dataset<Row> graph = SharedSpark.get().createDataset(edges, Encoders.tuple(Encoders.LONG(), Encoders.LONG()))
                .toDF("a", "b");
        Map<Long, Long> roots = new TreeMap<>();
        for (Row r : ConnectedComponents.toSmallest(graph).collectAsList()) {
            roots.put(r.getLong(0), r.getLong(1));
        }
        assertEquals(Map.of(2L, 1L, 3L, 1L, 4L, 1L, 9L, 1L, 6L, 5L, 8L, 7L, 10L, 7L), roots);
    }
}
