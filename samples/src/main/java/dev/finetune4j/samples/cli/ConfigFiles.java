package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Reads the tool's YAML or JSON config files (chosen by extension: {@code .yaml}/{@code .yml} or {@code .json})
 * into records with snake_case keys. Unknown keys, wrong types and missing files become {@link BadInputException}s
 * that name the file, the key, the line and the keys that are accepted; values that the libraries refuse when a
 * section is built ({@link #section}) become ones that name the section and its keys as the file writes them.
 */
final class ConfigFiles {
    /** How a record component's name becomes its key in a file: {@code minChars} is {@code min_chars}. */
    private static final PropertyNamingStrategies.NamingBase KEYS = new PropertyNamingStrategies.SnakeCaseStrategy();

    private ConfigFiles() {
    }

    /** Parses {@code file} as {@code type}. */
    static <T> T read(Path file, Class<T> type) {
        InputFile.require(file, "config file", "pass the path of a .yaml or .json file (see --help for an example)");
        String name = file.getFileName().toString().toLowerCase();
        ObjectMapper mapper;
        if (name.endsWith(".yaml") || name.endsWith(".yml")) {
            mapper = new ObjectMapper(new YAMLFactory());
        } else if (name.endsWith(".json")) {
            mapper = new ObjectMapper();
        } else {
            throw new BadInputException("config file " + file + " must end in .yaml, .yml or .json");
        }
        mapper.setPropertyNamingStrategy(KEYS)
                .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION) // a key given twice: which one was meant?
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY) // inputs: raw.jsonl is a list of one
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT); // 4.7 must not become 4
        try (JsonParser parser = mapper.createParser(file.toFile())) {
            T value = parser.nextToken() == null ? null : mapper.readValue(parser, type);
            if (value == null) {
                throw new BadInputException("config file " + file + " is empty; see --help for an example");
            }
            return value;
        } catch (UnrecognizedPropertyException e) {
            throw new BadInputException("unknown key '" + e.getPropertyName() + "' in " + file + where(e)
                    + "; accepted keys here: " + e.getKnownPropertyIds().stream().map(String::valueOf).sorted()
                    .collect(Collectors.joining(", ")), e);
        } catch (MismatchedInputException e) {
            // Jackson's own words name Java types ("Cannot coerce ... to `java.lang.Integer`"): say it as the file would
            throw new BadInputException("invalid value in " + file + where(e) + " at '" + path(e) + "': expected "
                    + expected(e.getTargetType()), e);
        } catch (JsonMappingException e) {
            throw new BadInputException("invalid value in " + file + where(e) + " at '" + path(e) + "': "
                    + rootMessage(e), e);
        } catch (JsonProcessingException e) {
            throw new BadInputException("cannot parse " + file + where(e) + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new BadInputException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Builds a section's library object; a value the library refuses is bad input in the file's words. The
     * libraries' records and builders name their settings as the section's record names its components
     * ({@code minChars}, {@code warmupRatio}); in the message each such name that the file spells otherwise becomes
     * the file's key under the section ({@code quality.min_chars}), and the message says which section it was.
     *
     * @param key     the section's key in the file, e.g. {@code quality} or {@code training}
     * @param section the record the section is read into
     * @param build   makes the library object from the section's values
     * @param <T>     what {@code build} makes
     * @return what {@code build} made
     * @throws BadInputException when {@code build} throws an {@link IllegalArgumentException}
     */
    static <T> T section(String key, Class<? extends Record> section, Supplier<T> build) {
        try {
            return build.get();
        } catch (IllegalArgumentException e) {
            throw new BadInputException("invalid '" + key + "' settings: " + inFileKeys(String.valueOf(e.getMessage()),
                    key, section), e);
        }
    }

    /** {@code message} with the component names of {@code section} that differ from their key as {@code key.their_key}. */
    private static String inFileKeys(String message, String key, Class<? extends Record> section) {
        Map<String, String> fileKeys = new HashMap<>();
        for (RecordComponent c : section.getRecordComponents()) {
            String fileKey = KEYS.translate(c.getName());
            // NOTE: a one-word name (threshold, epochs) is its own key, and may be a plain word of the message's prose
            if (!fileKey.equals(c.getName())) {
                fileKeys.put(c.getName(), key + "." + fileKey);
            }
        }
        if (fileKeys.isEmpty()) {
            return message;
        }
        // whole names only: numPerm, not the numPerm of bands.numPerm or of numPermutations
        Pattern names = Pattern.compile("(?<![\\w.])(" + String.join("|", fileKeys.keySet()) + ")(?!\\w)");
        return names.matcher(message).replaceAll(m -> Matcher.quoteReplacement(fileKeys.get(m.group(1))));
    }

    /** What a value of {@code type} is written as in a config file. */
    private static String expected(Class<?> type) {
        if (type == null) {
            return "another kind of value";
        } else if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return "a whole number";
        } else if (type == Double.class || type == double.class) {
            return "a number";
        } else if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        } else if (type == String.class) {
            return "a single value";
        } else if (Collection.class.isAssignableFrom(type)) {
            return "a list, e.g. [a, b]";
        }
        return "a section of keys, e.g. {key: value}"; // a record, or peft's free-form object
    }

    private static String where(JsonProcessingException e) {
        return e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")";
    }

    /** The value's place as the file nests it: {@code quality.min_chars}, {@code inputs[0]}. */
    private static String path(JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                sb.append(sb.isEmpty() ? "" : ".").append(r.getFieldName());
            } else {
                sb.append('[').append(r.getIndex()).append(']');
            }
        }
        return sb.toString();
    }

    /** The innermost message: a record's compact constructor says what to fix, Jackson's wrapper does not. */
    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t instanceof JsonProcessingException j ? j.getOriginalMessage() : t.getMessage();
    }
}
