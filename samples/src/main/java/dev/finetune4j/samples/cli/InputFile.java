package dev.finetune4j.samples.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/** The rule every command that reads a file the user names follows (config files, data files, prepare's inputs). */
final class InputFile {
    private InputFile() {
    }

    /**
     * Refuses a path that is not a regular file, saying whether it is missing or a folder.
     *
     * @param what   what the file is for, e.g. {@code "config file"}
     * @param advice what the user can do, appended to the error
     */
    static void require(Path file, String what, String advice) {
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(what + " " + file.toAbsolutePath()
                    + (Files.isDirectory(file) ? " is a folder, not a file" : " does not exist") + "; " + advice);
        }
    }
}
