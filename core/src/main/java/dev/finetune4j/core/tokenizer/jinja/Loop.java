package dev.finetune4j.core.tokenizer.jinja;

import java.util.List;

/**
 * The {@code loop} variable of one for-loop iteration: {@code index}, {@code index0}, {@code revindex},
 * {@code revindex0}, {@code first}, {@code last}, {@code length}, {@code previtem}, {@code nextitem},
 * {@code depth}, {@code depth0} and {@code cycle(...)}, computed when asked.
 *
 * @param items what the loop iterates (after its {@code if} filter)
 * @param index0 this iteration, from 0
 */
record Loop(List<Object> items, int index0) {
    Object attribute(String name) {
        int n = items.size();
        return switch (name) {
            case "index" -> (long) index0 + 1;
            case "index0" -> (long) index0;
            case "revindex" -> (long) (n - index0);
            case "revindex0" -> (long) (n - index0 - 1);
            case "first" -> index0 == 0;
            case "last" -> index0 == n - 1;
            case "length" -> (long) n;
            case "depth" -> 1L;
            case "depth0" -> 0L;
            case "previtem" -> index0 > 0 ? items.get(index0 - 1) : new Undefined("there is no previous item");
            case "nextitem" -> index0 < n - 1 ? items.get(index0 + 1) : new Undefined("there is no next item");
            case "cycle" -> (JinjaFunction) (in, args, kwargs) -> {
                if (args.isEmpty()) {
                    throw Py.typeError("no items for cycling given");
                }
                return args.get(index0 % args.size());
            };
            default -> new Undefined("'LoopContext object' has no attribute '" + name + "'");
        };
    }
}
