package dev.finetune4j.core.io;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/** Refuses PyTorch pickle checkpoints, which can run arbitrary code when loaded. */
final class PickleGuard {
    private PickleGuard() {
    }

    static void refuse(Path file) throws IOException {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".bin") || name.endsWith(".pt") || name.endsWith(".pth") || name.endsWith(".ckpt") || name.endsWith(".pkl")) {
            throw new SafetensorsFormatException(file, "is a PyTorch pickle checkpoint, which is refused: unpickling can execute "
                    + "arbitrary code. Convert it once in Python with model.save_pretrained(dir, safe_serialization=True) "
                    + "(or safetensors.torch.save_file) and load the .safetensors file instead");
        }
    }
}
