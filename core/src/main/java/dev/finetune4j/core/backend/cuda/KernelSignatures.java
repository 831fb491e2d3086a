package dev.finetune4j.core.backend.cuda;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the parameter lists of the {@code extern "C" __global__} kernels of a family's source (and the structs and
 * integer {@code #define}s of its header), so that every launch can be checked against them before it reaches the
 * driver. Knows only the types the kernel sources use: pointers to scalars or structs, {@code int},
 * {@code unsigned int}, {@code long long}, {@code unsigned long long}, {@code float} and structs of scalar fields
 * passed by value; anything else is refused, so that a new kind of parameter is noticed here first.
 */
final class KernelSignatures {
    private static final Pattern BLOCK_COMMENT = Pattern.compile("/\\*.*?\\*/", Pattern.DOTALL);
    private static final Pattern LINE_COMMENT = Pattern.compile("//[^\\n]*");
    private static final Pattern DEFINE = Pattern.compile("^\\s*#define\\s+(\\w+)\\s+(\\d+)\\s*$", Pattern.MULTILINE);
    private static final Pattern STRUCT = Pattern.compile("\\bstruct\\s+(\\w+)\\s*\\{([^}]*)}\\s*;");
    private static final String BOUNDS = "(?:__launch_bounds__\\s*\\([^)]*\\)\\s*)?";
    private static final Pattern KERNEL = Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+" + BOUNDS + "void\\s+"
            + BOUNDS + "(\\w+)\\s*\\(([^)]*)\\)");
    private static final Pattern GLOBAL = Pattern.compile("\\b__global__\\b");
    private static final Pattern ARRAY = Pattern.compile("(\\w+)\\s*\\[\\s*(\\w+)\\s*]");
    private static final List<String> QUALIFIERS = List.of("const", "volatile", "__restrict__", "__restrict");
    /** Scalar types a kernel parameter or a struct field may have, with their size (and alignment). */
    private static final Map<String, Integer> SCALAR_BYTES = Map.ofEntries(Map.entry("void", 0),
            Map.entry("char", 1), Map.entry("signed char", 1), Map.entry("unsigned char", 1), Map.entry("bool", 1),
            Map.entry("short", 2), Map.entry("unsigned short", 2), Map.entry("int", 4), Map.entry("unsigned int", 4),
            Map.entry("float", 4), Map.entry("long long", 8), Map.entry("unsigned long long", 8),
            Map.entry("double", 8));
    /** The scalars {@link KernelArgs} can pass by value. */
    private static final Map<String, KernelArgType> BY_VALUE = Map.of("int", KernelArgType.I32,
            "unsigned int", KernelArgType.I32, "long long", KernelArgType.I64,
            "unsigned long long", KernelArgType.I64, "float", KernelArgType.F32);

    private KernelSignatures() {
    }

    /**
     * The kernels of {@code family} by name, in source order.
     *
     * @throws IllegalStateException naming the source, kernel and parameter whose type is not understood
     */
    static Map<String, KernelSignature> of(KernelSources.Family family) {
        return parse(family.file(), family.source(), family.headerText());
    }

    /**
     * The kernels of {@code source} by name, in source order.
     *
     * @param name the source's name, for messages ({@code "norms.cu"})
     * @param source the family's text
     * @param header the texts of the headers it includes
     * @throws IllegalStateException naming the source, kernel and parameter whose type is not understood
     */
    static Map<String, KernelSignature> parse(String name, String source, String header) {
        String text = stripComments(header) + "\n" + stripComments(source);
        Map<String, Long> defines = new HashMap<>();
        Matcher d = DEFINE.matcher(text);
        while (d.find()) {
            defines.put(d.group(1), Long.parseLong(d.group(2)));
        }
        Map<String, Long> structs = new HashMap<>();
        Matcher s = STRUCT.matcher(text);
        while (s.find()) {
            structs.put(s.group(1), structBytes(name, s.group(1), s.group(2), defines));
        }
        Map<String, KernelSignature> kernels = new LinkedHashMap<>();
        String body = stripComments(source);
        Matcher k = KERNEL.matcher(body);
        while (k.find()) {
            String kernel = k.group(1);
            List<KernelSignature.Param> params = new ArrayList<>();
            String list = k.group(2).trim();
            if (!list.isEmpty() && !list.equals("void")) {
                for (String param : list.split(",")) {
                    params.add(param(name, kernel, param.trim().replaceAll("\\s+", " "), structs));
                }
            }
            if (kernels.put(kernel, new KernelSignature(kernel, List.copyOf(params))) != null) {
                throw new IllegalStateException(name + " declares kernel " + kernel + " twice");
            }
        }
        long globals = GLOBAL.matcher(body).results().count();
        if (globals != kernels.size()) {
            throw new IllegalStateException(name + " has " + globals + " __global__ functions but only "
                    + kernels.size() + " of the form extern \"C\" __global__ void name(...), which is how kernels"
                    + " are found by name; declare every kernel that way");
        }
        return kernels;
    }

    private static String stripComments(String text) {
        return LINE_COMMENT.matcher(BLOCK_COMMENT.matcher(text).replaceAll(" ")).replaceAll("");
    }

    private static KernelSignature.Param param(String source, String kernel, String declaration,
                                               Map<String, Long> structs) {
        if (declaration.contains("&") || declaration.contains("[")) {
            throw unknown(source, kernel, declaration, "references and arrays cannot be kernel parameters");
        }
        String spaced = declaration.replace("*", " * ");
        List<String> tokens = new ArrayList<>();
        for (String t : spaced.trim().split("\\s+")) {
            if (!QUALIFIERS.contains(t)) {
                tokens.add(t);
            }
        }
        if (tokens.size() < 2 || tokens.getLast().equals("*")) {
            throw unknown(source, kernel, declaration, "a parameter needs a type and a name");
        }
        tokens.removeLast();
        boolean pointer = tokens.remove("*");
        if (tokens.contains("*")) {
            throw unknown(source, kernel, declaration, "pointers to pointers are not passed to kernels");
        }
        String type = String.join(" ", tokens);
        if (pointer) {
            if (!SCALAR_BYTES.containsKey(type) && !structs.containsKey(type)) {
                throw unknown(source, kernel, declaration, "unknown pointee type '" + type + "'");
            }
            return new KernelSignature.Param(declaration, KernelArgType.POINTER);
        }
        if (structs.containsKey(type)) {
            return new KernelSignature.Param(declaration, KernelArgType.struct(structs.get(type)));
        }
        KernelArgType scalar = BY_VALUE.get(type);
        if (scalar == null) {
            throw unknown(source, kernel, declaration, "KernelArgs cannot pass a '" + type + "' by value");
        }
        return new KernelSignature.Param(declaration, scalar);
    }

    /** The size of a struct of scalar fields, laid out with natural alignment as the C compiler does. */
    private static long structBytes(String source, String struct, String body, Map<String, Long> defines) {
        long offset = 0;
        long align = 1;
        for (String field : body.split(";")) {
            String f = field.trim().replaceAll("\\s+", " ");
            if (f.isEmpty()) {
                continue;
            }
            int split = firstDeclarator(f);
            String type = split < 0 ? "" : f.substring(0, split).trim();
            Integer size = SCALAR_BYTES.get(type);
            if (size == null || size == 0) {
                throw new IllegalStateException(source + ": struct " + struct + " has field '" + f + "' of a type"
                        + " the launch checker does not know; use long long, int or float fields");
            }
            for (String declarator : f.substring(split).split(",")) {
                long count = 1;
                Matcher a = ARRAY.matcher(declarator.trim());
                if (a.matches()) {
                    String n = a.group(2);
                    Long value = n.chars().allMatch(Character::isDigit) ? Long.valueOf(n) : defines.get(n);
                    if (value == null) {
                        throw new IllegalStateException(source + ": struct " + struct + " has array size '" + n
                                + "' that is neither a number nor a #define");
                    }
                    count = value;
                } else if (!declarator.trim().matches("\\w+")) {
                    throw new IllegalStateException(source + ": struct " + struct + " has field '" + f
                            + "' the launch checker cannot read");
                }
                offset = (offset + size - 1) / size * size + size * count;
                align = Math.max(align, size);
            }
        }
        return (offset + align - 1) / align * align;
    }

    /** Where the first field name starts in a field declaration such as {@code unsigned long long a, b[4]}. */
    private static int firstDeclarator(String field) {
        String head = field.split(",")[0].trim();
        int at = head.lastIndexOf(' ');
        return at < 0 ? -1 : at + 1;
    }

    private static IllegalStateException unknown(String source, String kernel, String declaration, String why) {
        return new IllegalStateException(source + ": kernel " + kernel + " has parameter '" + declaration
                + "' the launch checker does not understand (" + why + "); pass pointers, int, unsigned int,"
                + " long long, unsigned long long, float or a struct of such fields");
    }
}
