package dev.finetune4j.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.greatest;
import static org.apache.spark.sql.functions.least;
import static org.apache.spark.sql.functions.min;

/**
 * Connected components of an undirected graph of long node ids, as DataFrame joins: alternating large-star and
 * small-star rounds (Kiveris et al., "Connected Components in MapReduce and Beyond", SoCC 2014) until the edge
 * set stops changing, at which point every component is a star around its smallest node. Rounds are
 * logarithmic in the component size; no step collects a neighbourhood into one row (minimums are aggregated
 * map-side, and the joins stream), so a component of 100,000 nodes needs no more memory per task than a small one.
 */
final class ConnectedComponents {
    private ConnectedComponents() {
    }

    /**
     * Every non-smallest node of every component with its component's smallest node.
     *
     * @param edges columns {@code a}, {@code b}: one row per edge, in any direction, duplicates allowed
     * @return columns {@code node}, {@code root} with {@code root < node}, one row per node that is not a root
     */
    static Dataset<Row> toSmallest(Dataset<Row> edges) {
        // NOTE: each round's result is checkpointed: a round reads its input four times, so without cutting the
        // logical plan it would grow fourfold per round and Spark would spend minutes (and the heap) analysing it
        Dataset<Row> e = normalized(edges).localCheckpoint();
        long count = e.count();
        while (true) {
            Dataset<Row> next = normalized(smallStar(largeStar(e))).localCheckpoint();
            long nextCount = next.count();
            if (nextCount == count && next.except(e).isEmpty()) {
                return next.select(col("a").as("node"), col("b").as("root"));
            }
            e = next;
            count = nextCount;
        }
    }

    /** Each edge once, as {@code a > b}, without self-loops. */
    private static Dataset<Row> normalized(Dataset<Row> edges) {
        return edges.select(greatest(col("a"), col("b")).as("a"), least(col("a"), col("b")).as("b"))
                .where(col("a").notEqual(col("b"))).distinct();
    }

    /** Both directions of each edge, columns {@code src}, {@code dst}. */
    private static Dataset<Row> directed(Dataset<Row> e) {
        return e.select(col("a").as("src"), col("b").as("dst"))
                .union(e.select(col("b").as("src"), col("a").as("dst")));
    }

    /** Connects every larger neighbour of each node to the smallest node of its neighbourhood. */
    private static Dataset<Row> largeStar(Dataset<Row> e) {
        Dataset<Row> d = directed(e);
        Dataset<Row> m = d.groupBy("src").agg(min("dst").as("m"))
                .select(col("src").as("u"), least(col("src"), col("m")).as("m"));
        return d.where(col("dst").gt(col("src"))).join(m, col("src").equalTo(col("u")))
                .select(col("dst").as("a"), col("m").as("b"));
    }

    /** Connects each node and its smaller neighbours to the smallest of them. */
    private static Dataset<Row> smallStar(Dataset<Row> e) {
        Dataset<Row> smaller = directed(e).where(col("dst").lt(col("src")));
        Dataset<Row> m = smaller.groupBy("src").agg(min("dst").as("m")).select(col("src").as("u"), col("m"));
        Dataset<Row> neighbours = smaller.join(m, col("src").equalTo(col("u")))
                .select(col("dst").as("a"), col("m").as("b"));
        return neighbours.union(m.select(col("u").as("a"), col("m").as("b")));
    }
}
