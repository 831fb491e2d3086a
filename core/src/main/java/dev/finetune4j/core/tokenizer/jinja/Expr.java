package dev.finetune4j.core.tokenizer.jinja;

import java.util.List;

/** A parsed expression. */
sealed interface Expr {
    /** A literal: string, number, boolean or none. */
    record Const(Object value) implements Expr { }

    /** A variable. */
    record Name(String name) implements Expr { }

    /** {@code obj.name}: an attribute, else an item, as jinja2's {@code getattr}. */
    record Attr(Expr obj, String name) implements Expr { }

    /** {@code obj[key]}: an item, else an attribute, as jinja2's {@code getitem}. */
    record Item(Expr obj, Expr key) implements Expr { }

    /** {@code obj[start:stop:step]}; omitted parts are null. */
    record Slice(Expr obj, Expr start, Expr stop, Expr step) implements Expr { }

    /** A keyword argument. */
    record Kwarg(String name, Expr value) { }

    /** {@code fn(args, name=value, *more, **named)}; {@code more} and {@code named} are null when absent. */
    record Call(Expr fn, List<Expr> args, List<Kwarg> kwargs, Expr more, Expr named) implements Expr { }

    /** {@code value | name(args)}. */
    record Filter(Expr value, String name, List<Expr> args, List<Kwarg> kwargs) implements Expr { }

    /** {@code value is [not] name(args)}. */
    record Test(Expr value, String name, List<Expr> args, boolean negated) implements Expr { }

    /** {@code -x}, {@code +x}, {@code not x}. */
    record Unary(String op, Expr operand) implements Expr { }

    /** Arithmetic, {@code ~}, {@code and}, {@code or}. */
    record Binary(String op, Expr left, Expr right) implements Expr { }

    /** {@code a < b <= c}, {@code in}, {@code not in}: a chain as in Python. */
    record Compare(Expr first, List<String> ops, List<Expr> rest) implements Expr { }

    /** {@code then if cond else otherwise}; without else it is undefined when false. */
    record Cond(Expr cond, Expr then, Expr otherwise) implements Expr { }

    /** {@code [a, b]} or, with {@code tuple}, {@code (a, b)}. */
    record ListLit(List<Expr> items, boolean tuple) implements Expr { }

    /** {@code {k: v}}. */
    record DictLit(List<Expr> keys, List<Expr> values) implements Expr { }
}
