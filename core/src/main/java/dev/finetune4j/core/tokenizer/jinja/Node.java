package dev.finetune4j.core.tokenizer.jinja;

import java.util.List;

/** A parsed statement; {@code line} is where it starts, for runtime error messages. */
sealed interface Node {
    int line();

    record Text(int line, String text) implements Node { }

    /** {@code {{ expr }}}. */
    record Output(int line, Expr expr) implements Node { }

    /** {@code if}/{@code elif} branches in order, then the {@code else} body (empty when absent). */
    record If(int line, List<Expr> conditions, List<List<Node>> bodies, List<Node> otherwise) implements Node { }

    /** {@code for target in iter [if filter]}; {@code otherwise} renders when nothing was iterated. */
    record For(int line, Expr target, Expr iter, Expr filter, List<Node> body, List<Node> otherwise) implements Node { }

    /** {@code set target = value}; the target is a name, a tuple of names or {@code namespace.attribute}. */
    record Set(int line, Expr target, Expr value) implements Node { }

    /** {@code set target}...{@code endset}: the rendered body as a string. */
    record SetBlock(int line, Expr target, List<Node> body) implements Node { }

    /** {@code macro name(params)}; a default is null where the parameter has none. */
    record Macro(int line, String name, List<String> params, List<Expr> defaults, List<Node> body) implements Node { }

    /** {@code filter name(args) | ...}...{@code endfilter}: the rendered body through the filters. */
    record FilterBlock(int line, List<Expr.Filter> filters, List<Node> body) implements Node { }

    /** {@code call(params) macro(args)}...{@code endcall}: the macro called with the body as {@code caller}. */
    record CallBlock(int line, List<String> params, Expr.Call call, List<Node> body) implements Node { }

    record Break(int line) implements Node { }

    record Continue(int line) implements Node { }

    /** Transformers' {@code {% generation %}}: renders its body (HF marks it as the assistant's tokens). */
    record Generation(int line, List<Node> body) implements Node { }
}
