package dev.finetune4j.gguf;

import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.models.decoder.SparseMoeBlock;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * How clearly a mixture of experts routes a sequence: for every token of every sparse layer, the gap between its k-th
 * and (k+1)-th largest router logit (the gap of their log-probabilities, softmax being monotonic). Routing is
 * discrete, so llama.cpp's logits equal finetune4j's only where no token is near a tie that float32 summation order or
 * llama.cpp's rounding of activations (which moves the router's logits by about 0.01 at Q8_0) could tip to another
 * expert.
 */
final class RouterMargins {
    private RouterMargins() {
    }

    /**
     * The smallest gap over the tokens of {@code ids} between the k-th and (k+1)-th router logit, with where it is, and
     * the experts of each router that none of the tokens chose.
     */
    static Margin smallest(DecoderModel model, long[] ids, int k) {
        String router = model.config().moe().naming().router();
        List<Recorder> recorders = new ArrayList<>();
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            if (e.getValue() instanceof SparseMoeBlock block) {
                recorders.add(new Recorder(block, router, e.getKey()));
            }
        }
        try {
            model.logits(new long[][] {ids}, null);
        } finally {
            recorders.forEach(Recorder::restore);
        }
        Margin worst = new Margin(Double.POSITIVE_INFINITY, "no router", List.of());
        List<String> unchosen = new ArrayList<>();
        for (Recorder r : recorders) {
            int experts = r.logits.length / ids.length;
            boolean[] chosen = new boolean[experts];
            for (int t = 0; t < ids.length; t++) {
                float[] token = Arrays.copyOfRange(r.logits, t * experts, (t + 1) * experts);
                float[] sorted = token.clone();
                Arrays.sort(sorted);
                double gap = sorted[experts - k] - sorted[experts - k - 1];
                if (gap < worst.gap()) {
                    worst = new Margin(gap, r.path + ", token " + t, List.of());
                }
                for (int e = 0; e < experts; e++) {
                    chosen[e] |= token[e] >= sorted[experts - k];
                }
            }
            for (int e = 0; e < experts; e++) {
                if (!chosen[e]) {
                    unchosen.add(r.path + ", expert " + e);
                }
            }
        }
        return new Margin(worst.gap(), worst.where(), unchosen);
    }

    /**
     * The smallest gap and where (the router's path and the token's position), and the experts no token chose (an
     * expert no token reaches is not checked against llama.cpp's, whatever the file holds for it).
     */
    record Margin(double gap, String where, List<String> unchosen) {
    }

    /** Stands in for a block's router while the model runs, keeping its logits (tokens x experts). */
    private static final class Recorder extends Module implements Layer {
        private final Module block;
        private final String name;
        private final Layer router;
        private final String path;
        private float[] logits;

        Recorder(Module block, String name, String path) {
            this.block = block;
            this.name = name;
            this.router = (Layer) block.children().get(name);
            this.path = path;
            block.replaceChild(name, this);
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor out = router.forward(x);
            logits = out.toFloatArray();
            return out;
        }

        void restore() {
            block.replaceChild(name, (Module) router);
        }
    }
}
