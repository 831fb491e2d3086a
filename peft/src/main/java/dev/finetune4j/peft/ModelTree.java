package dev.finetune4j.peft;

import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Finding modules of a base model by PEFT's rules, and the error that lists what exists when nothing matches.
 *
 * <p>Thread safety: stateless.
 */
public final class ModelTree {
    private ModelTree() {
    }

    /**
     * Dotted paths of the modules under {@code root} that {@code matches}, in tree order, skipping the insides of
     * an earlier match.
     *
     * @param root the model's root module
     * @param matches tests a dotted path
     * @param what what is being selected, for the message
     * @return the matching paths
     * @throws PeftException naming the model's linear modules when nothing matches
     */
    public static List<String> select(Module root, Predicate<String> matches, String what) {
        List<String> out = new ArrayList<>();
        for (String path : root.namedModules().keySet()) {
            if (path.isEmpty() || out.stream().anyMatch(p -> path.startsWith(p + "."))) {
                continue;
            }
            if (matches.test(path)) {
                out.add(path);
            }
        }
        if (out.isEmpty()) {
            throw new PeftException(what + " matches no module of the base model. Its linear modules are "
                    + linearNames(root) + " (full paths look like '" + firstLinearPath(root) + "'); "
                    + "give names from this list, or a regex matching whole paths");
        }
        return out;
    }

    /**
     * Distinct last segments of the paths of every linear module, in tree order.
     *
     * @param root the model's root module
     * @return names such as {@code q_proj}
     */
    public static Set<String> linearNames(Module root) {
        Set<String> names = new LinkedHashSet<>();
        for (Map.Entry<String, Module> e : root.namedModules().entrySet()) {
            if (e.getValue() instanceof Linear || e.getValue() instanceof BaseLinear) {
                names.add(e.getKey().substring(e.getKey().lastIndexOf('.') + 1));
            }
        }
        return names;
    }

    private static String firstLinearPath(Module root) {
        return root.namedModules().entrySet().stream().filter(e -> e.getValue() instanceof Linear)
                .map(Map.Entry::getKey).findFirst().orElse("");
    }
}
