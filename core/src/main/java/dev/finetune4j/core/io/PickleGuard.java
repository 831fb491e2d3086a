package dev.finetune4j.core.io;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** Recognises PyTorch pickle checkpoints, which can run arbitrary code when loaded, and refuses them. */
final class PickleGuard {
    private static final List<String> PICKLE_SUFFIXES = List.of(".bin", ".pt", ".pth", ".ckpt", ".pkl");

    private PickleGuard() {
    }

    /** Whether {@code file} is named like a pickle checkpoint ({@code pytorch_model.bin}, {@code *.pt}, ...). */
    static boolean isPickle(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        return PICKLE_SUFFIXES.stream().anyMatch(name::endsWith);
    }

    /** Throws when {@code file} is a pickle checkpoint, saying why and how to convert it. */
    static void refuse(Path file) throws SafetensorsFormatException {
        if (isPickle(file)) {
            throw new SafetensorsFormatException(file, "is a PyTorch pickle checkpoint, which is refused: unpickling can execute "
                    + "arbitrary code. Convert it once in Python with model.save_pretrained(dir, safe_serialization=True) "
                    + "(or safetensors.torch.save_file(state_dict, 'model.safetensors')) and load the .safetensors file instead");
        }
    }
}
