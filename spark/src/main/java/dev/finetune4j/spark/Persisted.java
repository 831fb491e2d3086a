package dev.finetune4j.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.storage.StorageLevel;

import java.util.ArrayList;
import java.util.List;

/**
 * The datasets one run keeps (in memory, spilling to disk) because several actions read them; all are released
 * on {@link #close()}. Not thread-safe.
 */
final class Persisted implements AutoCloseable {
    private final List<Dataset<?>> kept = new ArrayList<>();

    <T> Dataset<T> keep(Dataset<T> ds) {
        kept.add(ds);
        return ds.persist(StorageLevel.MEMORY_AND_DISK());
    }

    @Override
    public void close() {
        kept.forEach(ds -> ds.unpersist(false));
        kept.clear();
    }
}
