package dev.finetune4j.data.format;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.List;

/** An input of records: a file in one of the {@link Format}s, or a mixture of several sources. */
public interface Source extends Serializable {
    /**
     * A short name for reports and record ids (the file name for files).
     *
     * @return the source's name
     */
    String name();

    /**
     * Opens the input for one pass.
     *
     * @return a stream of records and bad lines; close it
     * @throws IOException when the input cannot be opened
     */
    RecordStream open() throws IOException;

    /**
     * The local files this source reads, so that a pipeline writing into their folder never removes them as an
     * earlier run's outputs; a source that reads local files overrides this.
     *
     * @return the files; empty (the default) for a source that reads none
     */
    default List<Path> files() {
        return List.of();
    }
}
