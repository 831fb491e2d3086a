package dev.finetune4j.core.models;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Copies a folder of core's test resources out of the class path, file by file as streams: the other modules' tests
 * find core's fixtures inside its test jar, where no file path reaches them.
 */
public final class ReferenceFolders {
    private ReferenceFolders() {
    }

    /**
     * Copies {@code files} of resource folder {@code resource} ({@code "references/phi3_longrope"}) into {@code into}.
     *
     * @param resource the folder, relative to the class path's root
     * @param files    the files to copy
     * @param into     the folder to copy them to, created when missing
     * @return {@code into}
     * @throws IOException when a copy fails
     */
    public static Path copy(String resource, List<String> files, Path into) throws IOException {
        Files.createDirectories(into);
        for (String file : files) {
            try (InputStream in = ReferenceFolders.class.getResourceAsStream("/" + resource + "/" + file)) {
                if (in == null) {
                    throw new IllegalStateException("missing test resource /" + resource + "/" + file + ": core's "
                            + "test resources (its test jar, in other modules) are not on the class path");
                }
                Files.copy(in, into.resolve(file));
            }
        }
        return into;
    }
}
