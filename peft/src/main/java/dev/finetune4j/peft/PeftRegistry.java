package dev.finetune4j.peft;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/**
 * The PEFT methods available, found once through {@link ServiceLoader} from
 * {@code META-INF/services/dev.finetune4j.peft.PeftMethod} lines (in their order there): saving, loading,
 * {@link Peft} and the CLI look methods up here instead of listing them.
 *
 * <p>Thread safety: immutable after class initialisation; safe from any thread.
 */
public final class PeftRegistry {
    private static final List<PeftMethod<?>> METHODS = load();

    private PeftRegistry() {
    }

    /**
     * Every registered method, in registration order.
     *
     * @return an unmodifiable list
     */
    public static List<PeftMethod<?>> methods() {
        return METHODS;
    }

    /**
     * The method of a {@code peft_type}.
     *
     * @param peftType the value of {@code peft_type}, for example {@code "LORA"}
     * @return the method
     * @throws PeftException when no registered method has that type (the message lists those that exist)
     */
    public static PeftMethod<?> forType(String peftType) {
        for (PeftMethod<?> m : METHODS) {
            if (m.peftType().equals(peftType)) {
                return m;
            }
        }
        throw new PeftException("unknown peft_type '" + peftType + "'; supported: " + supportedTypes());
    }

    /**
     * The method of a short name ({@code "lora"}, {@code "ia3"}, ...).
     *
     * @param name the method's {@link PeftMethod#name()}
     * @return the method
     * @throws PeftException when no registered method has that name (the message lists those that exist)
     */
    public static PeftMethod<?> forName(String name) {
        for (PeftMethod<?> m : METHODS) {
            if (m.name().equals(name)) {
                return m;
            }
        }
        throw new PeftException("unknown PEFT method '" + name + "'; use one of " + names());
    }

    /**
     * The method whose config record {@code config} is.
     *
     * @param config a config
     * @param <C>    its type
     * @return the method, typed by the config
     * @throws PeftException when no registered method takes this config type
     */
    @SuppressWarnings("unchecked") // configType() is C's class, checked by isInstance
    public static <C extends PeftConfig> PeftMethod<C> forConfig(C config) {
        for (PeftMethod<?> m : METHODS) {
            if (m.configType().isInstance(config)) {
                return (PeftMethod<C>) m;
            }
        }
        throw new PeftException("no PEFT method is registered for " + config.getClass().getName() + "; a method "
                + "registers its PeftMethod in META-INF/services/" + PeftMethod.class.getName());
    }

    /**
     * The short names of every method, in registration order.
     *
     * @return for example {@code [lora, ia3, ...]}
     */
    public static List<String> names() {
        return METHODS.stream().map(PeftMethod::name).toList();
    }

    /**
     * The {@code peft_type} values of every method, comma-separated, for messages.
     *
     * @return for example {@code "LORA, IA3, ..."}
     */
    public static String supportedTypes() {
        return METHODS.stream().map(PeftMethod::peftType).collect(Collectors.joining(", "));
    }

    private static List<PeftMethod<?>> load() {
        Map<String, PeftMethod<?>> byType = new LinkedHashMap<>();
        Map<String, PeftMethod<?>> byName = new LinkedHashMap<>();
        for (PeftMethod<?> m : ServiceLoader.load(PeftMethod.class, PeftMethod.class.getClassLoader())) {
            requireUnique(byType, m.peftType(), m, "peft_type");
            requireUnique(byName, m.name(), m, "name");
        }
        return List.copyOf(byType.values());
    }

    /** Two methods under one key would make lookups depend on the class path's order. */
    private static void requireUnique(Map<String, PeftMethod<?>> seen, String key, PeftMethod<?> m, String what) {
        PeftMethod<?> clash = seen.putIfAbsent(key, m);
        if (clash != null) {
            throw new IllegalStateException("two PEFT methods register the " + what + " " + key + ": "
                    + clash.getClass().getName() + " and " + m.getClass().getName() + "; remove one registration");
        }
    }
}
