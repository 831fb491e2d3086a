package dev.finetune4j.core.tokenizer.jinja;

import java.util.List;
import java.util.Map;

/** Something a template can call: a global ({@code range}, {@code namespace}), a macro, or a bound method. */
@FunctionalInterface
interface JinjaFunction {
    Object call(Interpreter in, List<Object> args, Map<String, Object> kwargs);
}
