package dev.finetune4j.core.tokenizer.jinja;

import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The functions a chat template may call: jinja2's {@code range} (capped at 100,000 items like jinja2's sandbox),
 * {@code namespace} and {@code dict}, and transformers' {@code raise_exception} and {@code strftime_now}.
 */
final class Globals {
    /** jinja2.sandbox.MAX_RANGE. */
    static final long MAX_RANGE = 100_000;

    private Globals() {
    }

    static Map<String, Object> all() {
        Map<String, Object> g = new LinkedHashMap<>();
        g.put("range", (JinjaFunction) (in, a, k) -> range(a));
        g.put("namespace", (JinjaFunction) (in, a, k) -> {
            Namespace ns = new Namespace();
            for (Object init : a) {
                if (!(init instanceof Map<?, ?> m)) {
                    throw Py.typeError("namespace() takes a dict or keyword arguments, not " + Py.typeName(init));
                }
                m.forEach((key, value) -> ns.attributes.put(Py.str(key), value));
            }
            ns.attributes.putAll(k);
            return ns;
        });
        g.put("dict", (JinjaFunction) (in, a, k) -> Collections.unmodifiableMap(new LinkedHashMap<Object, Object>(k)));
        g.put("raise_exception", (JinjaFunction) (in, a, k) -> {
            throw new TemplateRaisedException(a.isEmpty() ? "" : Py.str(a.getFirst()), in.line());
        });
        g.put("strftime_now", (JinjaFunction) (in, a, k) -> {
            if (a.size() != 1 || !(a.getFirst() instanceof String format)) {
                throw Py.typeError("strftime_now takes one format string");
            }
            return Strftime.format(format, ZonedDateTime.now(in.clock));
        });
        return g;
    }

    private static List<Object> range(List<Object> a) {
        if (a.isEmpty() || a.size() > 3 || !a.stream().allMatch(x -> x instanceof Long || x instanceof Boolean)) {
            throw Py.typeError("range() takes 1 to 3 integers, got " + a);
        }
        long start = a.size() > 1 ? Py.asLong(a.get(0)) : 0;
        long stop = Py.asLong(a.get(a.size() > 1 ? 1 : 0));
        long step = a.size() > 2 ? Py.asLong(a.get(2)) : 1;
        if (step == 0) {
            throw Py.typeError("range() arg 3 must not be zero");
        }
        double count = Math.max(0, Math.ceil(((double) stop - start) / step));
        if (count > MAX_RANGE) {
            throw Py.typeError("Range too big. The sandbox blocks ranges larger than MAX_RANGE (" + MAX_RANGE + ").");
        }
        List<Object> out = new ArrayList<>((int) count);
        for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
            out.add(i);
        }
        return out;
    }
}
