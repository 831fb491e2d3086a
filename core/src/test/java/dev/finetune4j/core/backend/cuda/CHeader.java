package dev.finetune4j.core.backend.cuda;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The function prototypes, typedefs and enumerator values of a C header after the C preprocessor has run over it
 * (so that renames such as {@code #define cuMemAlloc cuMemAlloc_v2} are already applied, as they are for a C
 * program), with every parameter and return type reduced to what an FFM binding must pass: a pointer, an integer
 * of 8, 16, 32 or 64 bits, a float, a double or a struct passed by value (NCCL's unique id). For x86-64 and aarch64
 * Linux (LP64).
 */
final class CHeader {
    /** What a C type is to the ABI. */
    enum Kind { VOID, POINTER, I8, I16, I32, I64, F32, F64, STRUCT }

    /**
     * One prototype.
     *
     * @param name the symbol
     * @param returns the return type's kind
     * @param params each parameter's kind
     * @param text the prototype as the header writes it, for messages
     */
    record Prototype(String name, Kind returns, List<Kind> params, String text) {
    }

    private static final Pattern ATTRIBUTE = Pattern.compile("__attribute__\\s*\\(\\((?:[^()]|\\([^()]*\\))*\\)\\)");
    private static final Pattern FUNCTION = Pattern.compile("(?s)^(.*?)\\b(\\w+)\\s*\\((.*)\\)$");
    /** {@code NAME = value}: upper case in CUDA's headers ({@code CUDA_R_32F}), camel case in NCCL's ({@code ncclSum}). */
    private static final Pattern ENUMERATOR = Pattern.compile("\\b([A-Za-z_]\\w*)\\s*=\\s*(-?0x[0-9a-fA-F]+|-?\\d+)");
    private static final Map<String, Kind> BUILTIN = new HashMap<>();

    static {
        for (String t : List.of("char", "signed char", "unsigned char", "_Bool")) {
            BUILTIN.put(t, Kind.I8);
        }
        for (String t : List.of("short", "short int", "unsigned short", "short unsigned int", "unsigned short int")) {
            BUILTIN.put(t, Kind.I16);
        }
        for (String t : List.of("int", "signed int", "unsigned", "unsigned int")) {
            BUILTIN.put(t, Kind.I32);
        }
        for (String t : List.of("long", "long int", "unsigned long", "long unsigned int", "unsigned long int",
                "long long", "long long int", "unsigned long long", "long long unsigned int",
                "unsigned long long int")) {
            BUILTIN.put(t, Kind.I64);
        }
        BUILTIN.put("float", Kind.F32);
        BUILTIN.put("double", Kind.F64);
        BUILTIN.put("void", Kind.VOID);
    }

    private final Map<String, String> typedefs = new HashMap<>();
    /** Symbol to its prototype's text. */
    private final Map<String, String> prototypes = new HashMap<>();
    private final Map<String, Long> enumerators = new HashMap<>();

    private CHeader(String preprocessed) {
        for (String statement : statements(ATTRIBUTE.matcher(preprocessed).replaceAll(" "))) {
            Matcher e = ENUMERATOR.matcher(statement);
            while (e.find()) {
                enumerators.putIfAbsent(e.group(1), Long.decode(e.group(2)));
            }
            if (statement.startsWith("typedef ")) {
                typedef(statement.substring("typedef ".length()));
            } else if (!statement.contains("{")) {
                Matcher f = FUNCTION.matcher(statement);
                if (f.matches() && !f.group(1).isBlank() && !f.group(1).contains("(")) {
                    prototypes.put(f.group(2), statement);
                }
            }
        }
    }

    /**
     * Runs {@code cpp} over {@code header} (C, LP64) with {@code includes} on the include path.
     *
     * @throws IOException when cpp cannot be run or fails
     */
    static CHeader preprocess(Path cpp, Path header, List<Path> includes) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(cpp.toString(), "-P"));
        includes.forEach(i -> command.add("-I" + i));
        command.add(header.toString());
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("cpp failed on " + header);
        }
        return new CHeader(out);
    }

    /** The prototype of symbol {@code name}, or null when the header declares no such function. */
    Prototype prototype(String name) {
        String text = prototypes.get(name);
        if (text == null) {
            return null;
        }
        Matcher f = FUNCTION.matcher(text);
        if (!f.matches()) {
            throw new IllegalStateException("cannot read " + text);
        }
        List<Kind> params = new ArrayList<>();
        String list = f.group(3).trim();
        if (!list.isEmpty() && !list.equals("void")) {
            for (String param : splitTopLevel(list)) {
                params.add(kind(dropName(param.trim()), param));
            }
        }
        return new Prototype(name, kind(f.group(1), text), params, text);
    }

    /** Symbols the header declares whose name starts with {@code prefix}. */
    List<String> declaredStartingWith(String prefix) {
        return prototypes.keySet().stream().filter(n -> n.startsWith(prefix)).sorted().toList();
    }

    /** The value of enumerator {@code name}, or null. */
    Long enumerator(String name) {
        return enumerators.get(name);
    }

    /** Top-level declarations: split at semicolons and at the closing brace of a function body. */
    private static List<String> statements(String text) {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        int depth = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            current.append(c);
            if (c == '{') {
                depth++;
            } else if (c == '}') {
                depth--;
                String s = current.toString();
                if (depth == 0 && s.indexOf('(') >= 0 && s.indexOf('(') < s.indexOf('{') && !s.contains("typedef")) {
                    current.setLength(0);
                }
            } else if (c == ';' && depth == 0) {
                String s = current.substring(0, current.length() - 1).replaceAll("\\s+", " ").trim();
                if (!s.isEmpty()) {
                    out.add(s);
                }
                current.setLength(0);
            }
        }
        return out;
    }

    private void typedef(String rest) {
        String flat = rest.replaceAll("\\{.*}", " ").replaceAll("\\s+", " ").trim();
        Matcher functionPointer = Pattern.compile("\\(\\s*\\*\\s*(\\w+)\\s*\\)").matcher(flat);
        if (functionPointer.find()) {
            typedefs.put(functionPointer.group(1), "void *");
            return;
        }
        Matcher name = Pattern.compile("(\\w+)\\s*(\\[[^]]*])?$").matcher(flat);
        if (name.find()) {
            String type = flat.substring(0, name.start()).trim();
            typedefs.put(name.group(1), name.group(2) != null ? "array" : rest.contains("{") && type.startsWith("enum")
                    ? "enum" : type);
        }
    }

    /** A parameter's type text: the declaration without its name, if it has one. */
    private static String dropName(String param) {
        if (param.endsWith("]")) {
            return "void *";
        }
        String[] words = param.replace("*", " * ").trim().split("\\s+");
        String last = words[words.length - 1];
        boolean named = words.length > 1 && !last.equals("*") && !BUILTIN.containsKey(last)
                && !List.of("int", "char", "long", "short", "unsigned", "signed", "const").contains(last);
        return named ? String.join(" ", List.of(words).subList(0, words.length - 1)) : String.join(" ", words);
    }

    private Kind kind(String type, String context) {
        String t = type.replaceAll("\\b(const|volatile|restrict|__restrict|extern|static|inline)\\b", " ")
                .replaceAll("\\s+", " ").trim();
        if (t.contains("*")) {
            return Kind.POINTER;
        }
        if (t.startsWith("enum ") || t.equals("enum")) {
            return Kind.I32;
        }
        if (t.equals("array")) {
            return Kind.POINTER;
        }
        if (t.equals("struct") || t.startsWith("struct ")) {
            return Kind.STRUCT;
        }
        Kind builtin = BUILTIN.get(t);
        if (builtin != null) {
            return builtin;
        }
        String resolved = typedefs.get(t);
        if (resolved == null) {
            throw new IllegalStateException("unknown C type '" + t + "' in " + context);
        }
        return kind(resolved, context);
    }

    private static List<String> splitTopLevel(String list) {
        List<String> out = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < list.length(); i++) {
            char c = list.charAt(i);
            if (c == '(') {
                depth++;
            } else if (c == ')') {
                depth--;
            } else if (c == ',' && depth == 0) {
                out.add(list.substring(start, i));
                start = i + 1;
            }
        }
        out.add(list.substring(start));
        return out;
    }
}
