package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;

/**
 * A config.json's per-layer kinds ({@code layer_types}; Granite 4's older {@code layers_block_type}): one entry per
 * layer, each one of the names the family knows.
 */
final class LayerTypes {
    private LayerTypes() {
    }

    /**
     * The kinds {@code field} lists, checked.
     *
     * @param c the parsed config.json
     * @param field the list's key, e.g. {@code layer_types}
     * @param layerCount {@code num_hidden_layers}
     * @param known the names a layer may have
     * @return one kind per layer, or null when the config has no such list
     * @throws IllegalArgumentException when the list's length is not the layer count, or an entry is not a known name
     */
    static String[] read(JsonNode c, String field, int layerCount, List<String> known) {
        String at = "config.json";
        JsonNode types = c.path(field);
        if (!types.isArray()) {
            return null;
        }
        if (types.size() != layerCount) {
            throw new IllegalArgumentException(at + ": '" + field + "' lists " + types.size() + " layers, but "
                    + "num_hidden_layers is " + layerCount);
        }
        String[] kinds = new String[layerCount];
        for (int i = 0; i < layerCount; i++) {
            kinds[i] = types.get(i).asText();
            if (!known.contains(kinds[i])) {
                throw new IllegalArgumentException(at + ": '" + field + "'[" + i + "] = " + types.get(i)
                        + " is not one of \"" + String.join("\", \"", known) + "\"");
            }
        }
        return kinds;
    }
}
