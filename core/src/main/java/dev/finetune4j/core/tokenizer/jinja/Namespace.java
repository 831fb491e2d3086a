package dev.finetune4j.core.tokenizer.jinja;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Jinja's {@code namespace()}: the one mutable value, whose attributes {@code {% set ns.x = ... %}} may assign
 * from inside a loop (a plain {@code set} there is local to the iteration).
 */
final class Namespace {
    final Map<String, Object> attributes = new LinkedHashMap<>();
}
