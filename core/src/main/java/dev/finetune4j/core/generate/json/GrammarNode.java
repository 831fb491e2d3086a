package dev.finetune4j.core.generate.json;

/**
 * A compiled value shape: what one JSON value at some position may be. Nodes form a graph (a recursive
 * {@code $ref} points back up) and are compared by identity; after {@link SchemaCompiler} returns, they never
 * change. {@link #minDepth} is the fewest nested objects and arrays any complete value of this shape needs; a
 * value is only started where that fits under the depth limit, so the recognizer never walks into a dead end.
 */
abstract sealed class GrammarNode {
    /** Fewest containers a complete value needs (0 for scalars); {@link #UNREACHABLE} when none is finite. */
    int minDepth;

    static final int UNREACHABLE = Integer.MAX_VALUE / 2;

    /**
     * An object with declared properties in schema order; a property may be left out only when it is not required,
     * and no other key is produced.
     */
    static final class ObjectRecord extends GrammarNode {
        final String[] names;
        /** Each key as it is written: quote, the name's JSON-escaped UTF-8, quote. */
        final byte[][] keys;
        final GrammarNode[] values;
        final boolean[] required;
        /** nextRequired[i]: the first required property at index i or later, or names.length. */
        final int[] nextRequired;

        ObjectRecord(String[] names, byte[][] keys, GrammarNode[] values, boolean[] required) {
            this.names = names;
            this.keys = keys;
            this.values = values;
            this.required = required;
            this.nextRequired = new int[names.length + 1];
            nextRequired[names.length] = names.length;
            for (int i = names.length - 1; i >= 0; i--) {
                nextRequired[i] = required[i] ? i : nextRequired[i + 1];
            }
        }
    }

    /** An object whose keys are any strings and whose values all have one shape ({@code {}} included). */
    static final class ObjectMap extends GrammarNode {
        GrammarNode values;
    }

    /** An array of items of one shape, with [minItems, maxItems] items. */
    static final class ArrayNode extends GrammarNode {
        GrammarNode items;
        final int minItems;
        final int maxItems;

        ArrayNode(int minItems, int maxItems) {
            this.minItems = minItems;
            this.maxItems = maxItems;
        }
    }

    /** A string of [minLength, maxLength] characters (code points, as JSON Schema counts them). */
    static final class StringNode extends GrammarNode {
        final int minLength;
        final int maxLength;

        StringNode(int minLength, int maxLength) {
            this.minLength = minLength;
            this.maxLength = maxLength;
        }

        boolean unbounded() {
            return maxLength == Integer.MAX_VALUE;
        }
    }

    /** A JSON number; {@code integer} allows only {@code -?(0|[1-9][0-9]*)}. */
    static final class NumberNode extends GrammarNode {
        final boolean integer;

        NumberNode(boolean integer) {
            this.integer = integer;
        }
    }

    /** One of a few exact JSON texts (enum, const, true/false/null), each written as Jackson writes it. */
    static final class LiteralNode extends GrammarNode {
        /** Sorted bytewise, so the options that start with the bytes written so far are a range of them. */
        final byte[][] options;

        LiteralNode(byte[][] options) {
            this.options = options.clone();
            java.util.Arrays.sort(this.options, java.util.Arrays::compareUnsigned);
        }
    }

    /** Any of several shapes (anyOf, a list of types, any JSON value). */
    static final class UnionNode extends GrammarNode {
        GrammarNode[] alternatives;
    }

    /** A {@code $ref}, resolved to its target once the whole schema is compiled. */
    static final class RefNode extends GrammarNode {
        final String pointer;
        GrammarNode target;

        RefNode(String pointer) {
            this.pointer = pointer;
        }
    }

    /** Follows references to the shape they name (the compiler refuses cycles made only of references). */
    static GrammarNode resolve(GrammarNode node) {
        while (node instanceof RefNode ref) {
            node = ref.target;
        }
        return node;
    }
}
