package dev.finetune4j.core.generate.json;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.finetune4j.core.generate.json.GrammarNode.ArrayNode;
import dev.finetune4j.core.generate.json.GrammarNode.LiteralNode;
import dev.finetune4j.core.generate.json.GrammarNode.NumberNode;
import dev.finetune4j.core.generate.json.GrammarNode.ObjectMap;
import dev.finetune4j.core.generate.json.GrammarNode.ObjectRecord;
import dev.finetune4j.core.generate.json.GrammarNode.RefNode;
import dev.finetune4j.core.generate.json.GrammarNode.StringNode;
import dev.finetune4j.core.generate.json.GrammarNode.UnionNode;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compiles the supported JSON Schema subset (see {@link JsonGrammar}) into a {@link GrammarNode} graph. Recursion
 * follows the schema, so its depth is capped ({@link #MAX_NESTING}) and checked before descending; the graph's size
 * is capped ({@link #MAX_NODES}); {@code $ref}s compile once each, so recursive schemas become cycles in the graph.
 * Not thread-safe; one instance per compile.
 */
final class SchemaCompiler {
    /** The most nested subschemas (through properties, items, anyOf and $ref) a schema may have. */
    static final int MAX_NESTING = 64;
    /** The most subschemas and enum values in one schema. */
    static final int MAX_NODES = 10_000;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ANNOTATIONS = Set.of("description", "title", "default", "examples", "$comment",
            "$schema", "deprecated", "readOnly", "writeOnly");
    private static final Set<String> KEYWORDS = Set.of("type", "properties", "required", "additionalProperties", "enum",
            "const", "items", "minItems", "maxItems", "minLength", "maxLength", "anyOf", "$ref", "$defs", "definitions");
    private static final String SUPPORTED = "supported keywords are type, properties, required, additionalProperties, "
            + "enum, const, items, minItems, maxItems, minLength, maxLength, anyOf, $ref, $defs, definitions, and the "
            + "ignored annotations description, title, default, examples, $comment, $schema";
    /**
     * Keywords that only narrow the values of a type the grammar already writes (numbers' ranges, strings' patterns
     * and formats, unique items, object sizes): {@link JsonGrammar.ValueAssertions#SKIP} leaves them unenforced.
     */
    static final Set<String> VALUE_ASSERTIONS = Set.of("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
            "multipleOf", "pattern", "format", "uniqueItems", "minProperties", "maxProperties", "contentEncoding",
            "contentMediaType");
    private static final Set<String> TYPES = Set.of("object", "array", "string", "number", "integer", "boolean", "null");

    private final JsonNode document;
    private final boolean strict;
    private final JsonGrammar.ValueAssertions valueAssertions;
    private final Map<String, RefNode> refs = new HashMap<>();
    private final List<GrammarNode> nodes = new ArrayList<>();

    SchemaCompiler(JsonNode document, boolean strict) {
        this(document, strict, JsonGrammar.ValueAssertions.REFUSE);
    }

    SchemaCompiler(JsonNode document, boolean strict, JsonGrammar.ValueAssertions valueAssertions) {
        this.document = document;
        this.strict = strict;
        this.valueAssertions = valueAssertions;
    }

    /** The root node, with every $ref resolved and every minDepth computed; refuses a root that needs too deep a value. */
    GrammarNode compile(int maxDepth) {
        if (document == null || document.isMissingNode()) {
            throw new JsonSchemaException("", "no schema given; pass the JSON Schema object");
        }
        GrammarNode root = compile(document, "", 0);
        refuseUnproductiveCycles();
        computeMinDepths(nodes);
        int need = GrammarNode.resolve(root).minDepth;
        if (need >= GrammarNode.UNREACHABLE) {
            throw new JsonSchemaException("", "no finite value satisfies the schema: every way through it recurses "
                    + "through required properties or array items forever; make the recursive property optional or "
                    + "allow an empty array (minItems 0)");
        }
        if (need > maxDepth) {
            throw new JsonSchemaException("", "its smallest value nests " + need + " objects and arrays deep, past the "
                    + "depth limit of " + maxDepth + "; flatten the schema or raise the limit");
        }
        return root;
    }

    /** Any JSON object, with any JSON values inside. */
    static GrammarNode anyObject() {
        List<GrammarNode> graph = new ArrayList<>();
        ObjectMap object = anyValueGraph(graph);
        computeMinDepths(graph);
        return object;
    }

    /** The graph of "any JSON value"; returns its object node, whose values are the union of everything. */
    private static ObjectMap anyValueGraph(List<GrammarNode> graph) {
        UnionNode any = new UnionNode();
        ObjectMap object = new ObjectMap();
        object.values = any;
        ArrayNode array = new ArrayNode(0, Integer.MAX_VALUE);
        array.items = any;
        any.alternatives = new GrammarNode[]{object, array, new StringNode(0, Integer.MAX_VALUE), new NumberNode(false),
                new LiteralNode(new byte[][]{bytes("true"), bytes("false"), bytes("null")})};
        graph.add(any);
        graph.add(object);
        graph.add(array);
        graph.addAll(List.of(any.alternatives).subList(2, 5));
        return object;
    }

    private GrammarNode compile(JsonNode schema, String pointer, int nesting) {
        if (nesting > MAX_NESTING) {
            throw new JsonSchemaException(pointer, "subschemas nest more than " + MAX_NESTING + " deep; flatten the "
                    + "schema (move shared parts to $defs only helps if the nesting itself is shallower)");
        }
        if (nodes.size() >= MAX_NODES) {
            throw new JsonSchemaException(pointer, "the schema has more than " + MAX_NODES + " subschemas and enum "
                    + "values; split the task or shrink the schema");
        }
        if (schema.isBoolean()) {
            if (!schema.booleanValue()) {
                throw new JsonSchemaException(pointer, "the schema false allows no value");
            }
            return anyValue();
        }
        if (!schema.isObject()) {
            throw new JsonSchemaException(pointer, "a schema must be an object or a boolean, found " + kind(schema));
        }
        for (Iterator<String> it = schema.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!KEYWORDS.contains(key) && !ANNOTATIONS.contains(key) && !(key.equals("$id") && pointer.isEmpty())
                    && !skipped(key)) {
                throw new JsonSchemaException(child(pointer, key), "the keyword '" + key + "' is not supported ("
                        + SUPPORTED + "); remove it or check the output after generation");
            }
        }
        if (schema.has("$ref")) {
            onlyWith(schema, pointer, "$ref", Set.of("$defs", "definitions"));
            return ref(schema.get("$ref"), child(pointer, "$ref"), nesting);
        }
        if (schema.has("anyOf")) {
            onlyWith(schema, pointer, "anyOf", Set.of("$defs", "definitions"));
            JsonNode alts = schema.get("anyOf");
            if (!alts.isArray() || alts.isEmpty()) {
                throw new JsonSchemaException(child(pointer, "anyOf"), "anyOf must be a non-empty array of schemas");
            }
            UnionNode union = new UnionNode();
            union.alternatives = new GrammarNode[alts.size()];
            for (int i = 0; i < alts.size(); i++) {
                union.alternatives[i] = compile(alts.get(i), child(child(pointer, "anyOf"), Integer.toString(i)), nesting + 1);
            }
            return add(union);
        }
        List<String> types = types(schema, pointer);
        if (schema.has("enum") || schema.has("const")) {
            return add(literal(schema, pointer, types));
        }
        if (types.isEmpty()) {
            return anyValue();
        }
        List<GrammarNode> alternatives = new ArrayList<>();
        for (String type : types) {
            alternatives.add(switch (type) {
                case "object" -> object(schema, pointer, nesting);
                case "array" -> array(schema, pointer, nesting);
                case "string" -> add(new StringNode(count(schema, pointer, "minLength", 0),
                        count(schema, pointer, "maxLength", Integer.MAX_VALUE)));
                case "number" -> add(new NumberNode(false));
                case "integer" -> add(new NumberNode(true));
                case "boolean" -> add(new LiteralNode(new byte[][]{bytes("true"), bytes("false")}));
                default -> add(new LiteralNode(new byte[][]{bytes("null")}));
            });
        }
        if (alternatives.size() == 1) {
            return alternatives.getFirst();
        }
        UnionNode union = new UnionNode();
        union.alternatives = alternatives.toArray(GrammarNode[]::new);
        return add(union);
    }

    /** The listed types, or the one implied by type-specific keywords, or none (any value). */
    private List<String> types(JsonNode schema, String pointer) {
        JsonNode type = schema.get("type");
        List<String> out = new ArrayList<>();
        if (type == null) {
            if (schema.has("properties") || schema.has("required") || schema.has("additionalProperties")) {
                out.add("object");
            } else if (schema.has("items") || schema.has("minItems") || schema.has("maxItems")) {
                out.add("array");
            } else if (schema.has("minLength") || schema.has("maxLength")) {
                out.add("string");
            }
            return out;
        }
        JsonNode list = type.isArray() ? type : JSON.createArrayNode().add(type);
        for (int i = 0; i < list.size(); i++) {
            JsonNode t = list.get(i);
            if (!t.isTextual() || !TYPES.contains(t.asText())) {
                throw new JsonSchemaException(type.isArray() ? child(child(pointer, "type"), Integer.toString(i)) : child(pointer, "type"),
                        "type " + t + " is not one of " + TYPES);
            }
            if (!out.contains(t.asText())) {
                out.add(t.asText());
            }
        }
        if (out.isEmpty()) {
            throw new JsonSchemaException(child(pointer, "type"), "an empty list of types allows no value");
        }
        return out;
    }

    private GrammarNode object(JsonNode schema, String pointer, int nesting) {
        JsonNode properties = schema.path("properties");
        JsonNode additional = schema.get("additionalProperties");
        if (schema.has("properties") && !properties.isObject()) {
            throw new JsonSchemaException(child(pointer, "properties"), "properties must be an object of schemas");
        }
        if (additional != null && !additional.isBoolean() && !additional.isObject()) {
            throw new JsonSchemaException(child(pointer, "additionalProperties"), "additionalProperties must be a boolean or a schema");
        }
        boolean closed = additional != null && additional.isBoolean() && !additional.booleanValue();
        Set<String> required = new LinkedHashSet<>();
        JsonNode req = schema.path("required");
        for (int i = 0; i < req.size(); i++) {
            String where = child(child(pointer, "required"), Integer.toString(i));
            if (!req.get(i).isTextual()) {
                throw new JsonSchemaException(where, "required must list property names (strings)");
            }
            if (!properties.has(req.get(i).asText())) {
                throw new JsonSchemaException(where, "'" + req.get(i).asText() + "' is required but not in properties; "
                        + "declare it under properties");
            }
            required.add(req.get(i).asText());
        }
        if (schema.has("required") && !req.isArray()) {
            throw new JsonSchemaException(child(pointer, "required"), "required must be an array of property names");
        }
        if (strict && !closed) {
            throw new JsonSchemaException(pointer, "strict mode needs \"additionalProperties\": false on every object");
        }
        if (strict && required.size() != properties.size()) {
            throw new JsonSchemaException(child(pointer, "required"), "strict mode needs every property in required "
                    + "(make an optional one nullable instead: \"type\": [\"string\", \"null\"])");
        }
        if (properties.isEmpty() && !closed) {
            ObjectMap map = new ObjectMap();
            map.values = additional == null || additional.isBoolean() ? anyValue()
                    : compile(additional, child(pointer, "additionalProperties"), nesting + 1);
            return add(map);
        }
        if (additional != null && !closed) {
            throw new JsonSchemaException(child(pointer, "additionalProperties"), "additionalProperties other than false "
                    + "is supported only on objects without properties (a map); with properties, only the declared "
                    + "ones are produced: set it to false or leave it out");
        }
        int n = properties.size();
        String[] names = new String[n];
        byte[][] keys = new byte[n][];
        GrammarNode[] values = new GrammarNode[n];
        boolean[] isRequired = new boolean[n];
        int i = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = properties.fields(); it.hasNext(); i++) {
            Map.Entry<String, JsonNode> e = it.next();
            names[i] = e.getKey();
            keys[i] = json(TextNode.valueOf(e.getKey()));
            values[i] = compile(e.getValue(), child(child(pointer, "properties"), e.getKey()), nesting + 1);
            isRequired[i] = required.contains(e.getKey());
        }
        return add(new ObjectRecord(names, keys, values, isRequired));
    }

    private GrammarNode array(JsonNode schema, String pointer, int nesting) {
        JsonNode items = schema.get("items");
        if (items != null && items.isArray()) {
            throw new JsonSchemaException(child(pointer, "items"), "tuple items (an array of schemas) are not supported; "
                    + "give items one schema");
        }
        int min = count(schema, pointer, "minItems", 0);
        int max = count(schema, pointer, "maxItems", Integer.MAX_VALUE);
        ArrayNode array = new ArrayNode(min, max);
        array.items = items == null ? anyValue()
                : compile(items, child(pointer, "items"), nesting + 1);
        return add(array);
    }

    /** A non-negative integer keyword; min and max pairs are checked in order. */
    private static int count(JsonNode schema, String pointer, String key, int absent) {
        JsonNode v = schema.get(key);
        if (v == null) {
            return absent;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0) {
            throw new JsonSchemaException(child(pointer, key), key + " must be a non-negative integer below 2^31, found " + v);
        }
        if (key.startsWith("max")) {
            String minKey = key.replace("max", "min");
            if (schema.has(minKey) && schema.get(minKey).asInt() > v.intValue()) {
                throw new JsonSchemaException(child(pointer, key), key + " " + v + " is below " + minKey + " "
                        + schema.get(minKey) + "; no value fits");
            }
        }
        return v.intValue();
    }

    private LiteralNode literal(JsonNode schema, String pointer, List<String> types) {
        if (schema.has("enum") && schema.has("const")) {
            throw new JsonSchemaException(child(pointer, "const"), "give either enum or const, not both");
        }
        boolean isEnum = schema.has("enum");
        JsonNode values = isEnum ? schema.get("enum") : JSON.createArrayNode().add(schema.get("const"));
        String at = child(pointer, isEnum ? "enum" : "const");
        if (!values.isArray() || values.isEmpty()) {
            throw new JsonSchemaException(at, "enum must be a non-empty array of values");
        }
        Set<String> seen = new LinkedHashSet<>();
        List<byte[]> options = new ArrayList<>();
        for (int i = 0; i < values.size(); i++) {
            JsonNode v = values.get(i);
            String where = isEnum ? child(at, Integer.toString(i)) : at;
            if (v.isContainerNode()) {
                throw new JsonSchemaException(where, "enum and const values must be strings, numbers, booleans or null; "
                        + "objects and arrays are not supported");
            }
            if (!types.isEmpty() && !types.contains(typeOf(v)) && !(typeOf(v).equals("integer") && types.contains("number"))) {
                throw new JsonSchemaException(where, "the value " + v + " is not of the schema's type " + types);
            }
            if (nodes.size() + options.size() >= MAX_NODES) {
                throw new JsonSchemaException(where, "the schema has more than " + MAX_NODES + " subschemas and enum values");
            }
            byte[] text = json(v);
            if (seen.add(new String(text, java.nio.charset.StandardCharsets.UTF_8))) {
                options.add(text);
            }
        }
        return new LiteralNode(options.toArray(byte[][]::new));
    }

    private static String typeOf(JsonNode v) {
        if (v.isTextual()) {
            return "string";
        } else if (v.isIntegralNumber()) {
            return "integer";
        } else if (v.isNumber()) {
            return "number";
        } else if (v.isBoolean()) {
            return "boolean";
        }
        return "null";
    }

    private GrammarNode ref(JsonNode ref, String pointer, int nesting) {
        if (!ref.isTextual() || !ref.asText().startsWith("#")) {
            throw new JsonSchemaException(pointer, "$ref " + ref + " is not a local reference; only references into "
                    + "this schema (\"#\", \"#/$defs/name\", \"#/definitions/name\") are supported");
        }
        String target = ref.asText().substring(1);
        RefNode node = refs.get(target);
        if (node != null) {
            return node;
        }
        JsonNode targetSchema;
        try {
            targetSchema = document.at(JsonPointer.compile(target));
        } catch (IllegalArgumentException e) {
            throw new JsonSchemaException(pointer, "$ref " + ref + " is not a JSON pointer: " + e.getMessage());
        }
        if (targetSchema.isMissingNode()) {
            throw new JsonSchemaException(pointer, "$ref " + ref + " points at nothing in this schema");
        }
        node = new RefNode(target);
        refs.put(target, node);
        add(node);
        node.target = compile(targetSchema, target, nesting + 1);
        return node;
    }

    /** Refuses a schema keyword combined with siblings that would have to hold at the same time. */
    private void onlyWith(JsonNode schema, String pointer, String keyword, Set<String> allowed) {
        for (Iterator<String> it = schema.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!key.equals(keyword) && !allowed.contains(key) && !ANNOTATIONS.contains(key) && !key.equals("$id")
                    && !skipped(key)) {
                throw new JsonSchemaException(child(pointer, key), "'" + key + "' next to '" + keyword + "' is not "
                        + "supported (both would have to hold); move it into the " + keyword + " target or alternatives");
            }
        }
    }

    /** Whether {@code key} is a value assertion this compile leaves unenforced. */
    private boolean skipped(String key) {
        return valueAssertions == JsonGrammar.ValueAssertions.SKIP && VALUE_ASSERTIONS.contains(key);
    }

    /**
     * Refuses cycles made only of $ref and anyOf (e.g. {@code a: {$ref: b}, b: {$ref: a}}): such a value never gets
     * to a first byte. Depth-first with an explicit stack, so a long chain cannot overflow the Java stack.
     */
    private void refuseUnproductiveCycles() {
        Map<GrammarNode, Integer> color = new IdentityHashMap<>();
        for (GrammarNode start : nodes) {
            if (color.containsKey(start)) {
                continue;
            }
            ArrayDeque<Object[]> stack = new ArrayDeque<>();
            stack.push(new Object[]{start, 0});
            color.put(start, 1);
            while (!stack.isEmpty()) {
                Object[] top = stack.peek();
                GrammarNode node = (GrammarNode) top[0];
                GrammarNode[] next = node instanceof RefNode r ? new GrammarNode[]{r.target}
                        : node instanceof UnionNode u ? u.alternatives : new GrammarNode[0];
                int i = (Integer) top[1];
                if (i == next.length) {
                    color.put(node, 2);
                    stack.pop();
                    continue;
                }
                top[1] = i + 1;
                Integer c = color.get(next[i]);
                if (c != null && c == 1) {
                    String where = node instanceof RefNode r ? r.pointer : next[i] instanceof RefNode r ? r.pointer : "";
                    throw new JsonSchemaException(where, "$ref and anyOf form a cycle that never reaches an object, "
                            + "array or scalar (a schema defined only as itself); break the cycle");
                }
                if (c == null) {
                    color.put(next[i], 1);
                    stack.push(new Object[]{next[i], 0});
                }
            }
        }
    }

    /**
     * The fewest nested containers a complete value of each node needs: a fixed point from "unreachable" down, since
     * recursive $refs make the graph cyclic. Nodes come children first, so acyclic parts settle in one pass.
     */
    static void computeMinDepths(List<GrammarNode> graph) {
        for (GrammarNode n : graph) {
            n.minDepth = n instanceof StringNode || n instanceof NumberNode || n instanceof LiteralNode ? 0 : GrammarNode.UNREACHABLE;
        }
        boolean changed = true;
        for (int pass = 0; changed && pass <= graph.size() + 1; pass++) {
            changed = false;
            for (GrammarNode n : graph) {
                int d = switch (n) {
                    case ObjectRecord r -> {
                        int most = 0;
                        for (int i = 0; i < r.values.length; i++) {
                            if (r.required[i]) {
                                most = Math.max(most, r.values[i].minDepth);
                            }
                        }
                        yield Math.min(GrammarNode.UNREACHABLE, 1 + most);
                    }
                    case ObjectMap m -> 1;
                    case ArrayNode a -> a.minItems == 0 ? 1 : Math.min(GrammarNode.UNREACHABLE, 1 + a.items.minDepth);
                    case UnionNode u -> {
                        int least = GrammarNode.UNREACHABLE;
                        for (GrammarNode alt : u.alternatives) {
                            least = Math.min(least, alt.minDepth);
                        }
                        yield least;
                    }
                    case RefNode r -> r.target.minDepth;
                    default -> 0;
                };
                if (d < n.minDepth) {
                    n.minDepth = d;
                    changed = true;
                }
            }
        }
    }

    private GrammarNode add(GrammarNode node) {
        nodes.add(node);
        return node;
    }

    /** A fresh "any JSON value" graph, registered with this compile's nodes. */
    private GrammarNode anyValue() {
        List<GrammarNode> graph = new ArrayList<>();
        GrammarNode any = anyValueGraph(graph).values;
        nodes.addAll(graph);
        return any;
    }

    private static byte[] json(JsonNode value) {
        try {
            return JSON.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value + " as JSON", e);
        }
    }

    private static byte[] bytes(String ascii) {
        return ascii.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    private static String kind(JsonNode n) {
        return n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    }

    /** {@code pointer/key} with RFC 6901 escapes. */
    static String child(String pointer, String key) {
        return pointer + "/" + key.replace("~", "~0").replace("/", "~1");
    }
}
