package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.models.ReferenceData;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ExpertTokens} inside Mixtral's mixture: every token an expert's first layer gets is told by the row it was
 * gathered from (found among that row's inputs to the mixture, the MLP norm's outputs), rows never decrease, each
 * row sends its T tokens k times, and outside an expert nothing is told.
 */
class ExpertTokensTest {
    private static final long[][] IDS = {{5, 17, 99, 3, 250, 41}, {12, 1, 64, 200, 9, 31}};

    /** Records what the wrapped layer is given and returns, and the rows {@link ExpertTokens} tells it. */
    private static final class Probe extends Module implements Layer {
        final List<float[]> inputs = new ArrayList<>();
        final List<float[]> outputs = new ArrayList<>();
        final List<int[]> rows = new ArrayList<>();

        Probe(Module inner) {
            registerChild("inner", inner);
        }

        @Override
        public Tensor forward(Tensor x) {
            ExpertTokens tokens = ExpertTokens.current();
            int[] told = null;
            if (tokens != null) {
                told = new int[tokens.size()];
                for (int i = 0; i < told.length; i++) {
                    told[i] = tokens.row(i);
                }
            }
            Tensor y = layer("inner").forward(x);
            inputs.add(x.toFloatArray());
            outputs.add(y.toFloatArray());
            rows.add(told);
            return y;
        }
    }

    @Test
    void eachExpertsTokensAreToldByTheirRows() {
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource("references/mixtral"),
                ReferenceData.f32(Device.cpu())); var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            Module layer = lm.namedModules().get("model.layers.0");
            Probe norm = new Probe(layer.child("post_attention_layernorm"));
            layer.replaceChild("post_attention_layernorm", norm);
            Module experts = layer.child("block_sparse_moe").child("experts");
            int expertCount = lm.namedModules().keySet().stream()
                    .filter(p -> p.matches("model\\.layers\\.0\\.block_sparse_moe\\.experts\\.\\d+")).toList().size();
            List<Probe> firstLayers = new ArrayList<>();
            for (int e = 0; e < expertCount; e++) {
                Module expert = experts.child(String.valueOf(e));
                Probe p = new Probe(expert.child("w1"));
                expert.replaceChild("w1", p);
                firstLayers.add(p);
            }
            lm.forward(ModelInput.of(IDS, null));

            assertNull(norm.rows.getFirst(), "outside an expert");
            assertNull(ExpertTokens.current(), "after the pass");
            float[] mixtureInput = norm.outputs.getFirst(); // (B, T, C)
            int t = IDS[0].length;
            int c = mixtureInput.length / (IDS.length * t);
            int[] perRow = new int[IDS.length];
            for (Probe p : firstLayers) {
                for (int call = 0; call < p.inputs.size(); call++) {
                    int[] rows = p.rows.get(call);
                    float[] tokens = p.inputs.get(call);
                    assertEquals(tokens.length / c, rows.length, "one row per token the expert multiplies");
                    for (int i = 0; i < rows.length; i++) {
                        assertTrue(i == 0 || rows[i] >= rows[i - 1], "rows never decrease: " + Arrays.toString(rows));
                        float[] token = Arrays.copyOfRange(tokens, i * c, (i + 1) * c);
                        assertTrue(inRow(mixtureInput, rows[i], t, c, token),
                                "token " + i + " told row " + rows[i] + " is not among that row's inputs");
                        perRow[rows[i]]++;
                    }
                }
            }
            int k = 2; // the fixture's num_experts_per_tok
            assertArrayEquals(new int[]{t * k, t * k}, perRow, "each row's tokens, k times");
        }
    }

    private static boolean inRow(float[] input, int row, int t, int c, float[] token) {
        for (int pos = 0; pos < t; pos++) {
            int at = (row * t + pos) * c;
            if (Arrays.equals(Arrays.copyOfRange(input, at, at + c), token)) {
                return true;
            }
        }
        return false;
    }
}
