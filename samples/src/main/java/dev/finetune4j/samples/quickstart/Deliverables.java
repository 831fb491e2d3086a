package dev.finetune4j.samples.quickstart;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.HfModelFolder;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.eval.Perplexity;
import dev.finetune4j.peft.PeftModel;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Step 7c: the adapter in PEFT's format, and the merged model as a Hugging Face folder, reloaded from disk and
 * checked against the adapter model's perplexity (the two must agree: merging changes nothing but speed).
 */
final class Deliverables {
    private Deliverables() {
    }

    /**
     * Saves both and returns the reloaded merged model's perplexity on {@code test}. {@code model} is unusable
     * afterwards (its adapter is merged and unloaded).
     */
    static double save(PeftModel model, Path adapterDir, Path mergedDir, LoadOptions load, Tokenizer tok,
                       List<QaExample> test) throws IOException {
        model.save(adapterDir);
        LanguageModel merged = model.mergeAndUnload();
        HfModelFolder.save(merged, mergedDir); // config.json and tokenizer files of the base folder it was loaded from
        try (LanguageModel reloaded = AutoModel.loadCausalLM(mergedDir, load)) {
            return Perplexity.builder().build()
                    .compute(reloaded, test.stream().map(e -> tok.encode(e.document())).toList()).perplexity();
        }
    }
}
