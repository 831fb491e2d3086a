package dev.finetune4j.core.tokenizer.jinja;

import dev.finetune4j.core.tokenizer.jinja.Expr.Kwarg;
import dev.finetune4j.core.tokenizer.jinja.Token.Kind;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Parses tokens into statements, with jinja2's grammar and operator precedence (loosest first: conditional
 * expression, or, and, not, comparisons, {@code + -}, {@code ~}, {@code * / // %}, {@code **}, unary minus,
 * then postfix {@code . [] ()} and filters/tests). Nesting deeper than {@link Limits#maxDepth()} is refused, so a
 * hostile template cannot overflow the stack. Unknown filters, tests and tags are errors here, as in jinja2.
 */
final class Parser {
    private static final Set<String> COMPARISONS = Set.of("==", "!=", "<", "<=", ">", ">=");
    private static final Set<String> UNSUPPORTED = Set.of("include", "import", "from", "extends", "block", "with", "do",
            "autoescape", "trans");

    private final List<Token> tokens;
    private final int maxDepth;
    private int at;
    private int depth;
    private int loops;

    private Parser(List<Token> tokens, int maxDepth) {
        this.tokens = tokens;
        this.maxDepth = maxDepth;
    }

    static List<Node> parse(String source, Limits limits) {
        return new Parser(Lexer.lex(source), limits.maxDepth()).body(Set.of(), null);
    }

    private Token peek() {
        return tokens.get(at);
    }

    private Token next() {
        return tokens.get(at++);
    }

    private boolean isOp(String op) {
        return peek().is(Kind.OP, op);
    }

    private boolean isName(String name) {
        return peek().is(Kind.NAME, name);
    }

    private boolean skipOp(String op) {
        if (isOp(op)) {
            at++;
            return true;
        }
        return false;
    }

    private boolean skipName(String name) {
        if (isName(name)) {
            at++;
            return true;
        }
        return false;
    }

    private Token expect(Kind kind, String text, String what) {
        Token t = peek();
        if (t.kind() != kind || text != null && !t.text().equals(text)) {
            throw error("expected " + what + ", found " + t.describe(), t);
        }
        return next();
    }

    private void expectBlockEnd() {
        expect(Kind.BLOCK_END, null, "'%}'");
    }

    static TemplateException error(String message, Token at) {
        return new TemplateException("line " + at.line() + ", column " + at.column() + ": " + message, at.line());
    }

    /**
     * One level deeper, refused past the limit. Each link of a chain parsed in a loop ({@code a + b + c},
     * {@code x.y[0]}, {@code x | f | g}) enters too: it nests the tree one level deeper and evaluating it recurses
     * once per level; the chain's parser restores the depth at its end.
     */
    private void enter() {
        if (++depth > maxDepth) {
            throw error("the template nests expressions or statements more than " + maxDepth
                    + " deep (Limits.maxDepth); chat templates nest a few levels", peek());
        }
    }

    /**
     * Statements up to a block tag named in {@code ends} (left after its name is consumed) or the end of the
     * template; {@code opener} names the tag being closed, for the error when its end is missing.
     */
    private List<Node> body(Set<String> ends, Token opener) {
        enter();
        List<Node> nodes = new ArrayList<>();
        while (true) {
            Token t = next();
            switch (t.kind()) {
                case TEXT -> nodes.add(new Node.Text(t.line(), t.text()));
                case VAR_BEGIN -> {
                    nodes.add(new Node.Output(t.line(), tuple(true, false)));
                    expect(Kind.VAR_END, null, "'}}'");
                }
                case BLOCK_BEGIN -> {
                    Token name = expect(Kind.NAME, null, "a tag name");
                    if (ends.contains(name.text())) {
                        depth--;
                        return nodes;
                    }
                    nodes.add(statement(name));
                }
                case EOF -> {
                    if (opener != null) {
                        throw error("the {% " + opener.text() + " %} on line " + opener.line() + " is never closed; expected "
                                + String.join(" or ", ends.stream().sorted().map(e -> "{% " + e + " %}").toList()), t);
                    }
                    depth--;
                    return nodes;
                }
                default -> throw error("unexpected " + t.describe(), t);
            }
        }
    }

    private Node statement(Token name) {
        int line = name.line();
        return switch (name.text()) {
            case "if" -> ifStatement(name);
            case "for" -> forStatement(name);
            case "set" -> setStatement(name);
            case "macro" -> macro(name);
            case "filter" -> {
                List<Expr.Filter> filters = new ArrayList<>();
                do {
                    filters.add(filter(null));
                } while (skipOp("|"));
                expectBlockEnd();
                List<Node> body = body(Set.of("endfilter"), name);
                expectBlockEnd();
                yield new Node.FilterBlock(line, filters, body);
            }
            case "call" -> callBlock(name);
            case "generation" -> {
                expectBlockEnd();
                List<Node> body = body(Set.of("endgeneration"), name);
                expectBlockEnd();
                yield new Node.Generation(line, body);
            }
            case "break", "continue" -> {
                if (loops == 0) {
                    throw error("'" + name.text() + "' outside a for loop", name);
                }
                expectBlockEnd();
                yield name.text().equals("break") ? new Node.Break(line) : new Node.Continue(line);
            }
            default -> throw error(UNSUPPORTED.contains(name.text())
                    ? "the tag '" + name.text() + "' is not supported: a chat template renders alone, without other templates"
                    : "unknown tag '" + name.text() + "'", name);
        };
    }

    private Node ifStatement(Token opener) {
        List<Expr> conditions = new ArrayList<>();
        List<List<Node>> bodies = new ArrayList<>();
        List<Node> otherwise = List.of();
        conditions.add(tuple(false, false));
        expectBlockEnd();
        while (true) {
            bodies.add(body(Set.of("elif", "else", "endif"), opener));
            String end = tokens.get(at - 1).text();
            if (end.equals("elif")) {
                conditions.add(tuple(false, false));
                expectBlockEnd();
            } else {
                if (end.equals("else")) {
                    expectBlockEnd();
                    otherwise = body(Set.of("endif"), opener);
                }
                expectBlockEnd();
                return new Node.If(opener.line(), conditions, bodies, otherwise);
            }
        }
    }

    private Node forStatement(Token opener) {
        Expr target = assignTarget(false);
        expect(Kind.NAME, "in", "'in'");
        Expr iter = tuple(false, false);
        Expr filter = skipName("if") ? expression() : null;
        if (isName("recursive")) {
            throw error("recursive for loops are not supported", peek());
        }
        expectBlockEnd();
        loops++;
        List<Node> body = body(Set.of("endfor", "else"), opener);
        loops--;
        List<Node> otherwise = List.of();
        if (tokens.get(at - 1).text().equals("else")) {
            expectBlockEnd();
            otherwise = body(Set.of("endfor"), opener);
        }
        expectBlockEnd();
        return new Node.For(opener.line(), target, iter, filter, body, otherwise);
    }

    private Node setStatement(Token opener) {
        Expr target = assignTarget(true);
        if (skipOp("=")) {
            Expr value = tuple(true, false);
            expectBlockEnd();
            return new Node.Set(opener.line(), target, value);
        }
        expectBlockEnd();
        List<Node> body = body(Set.of("endset"), opener);
        expectBlockEnd();
        return new Node.SetBlock(opener.line(), target, body);
    }

    /** A name, names separated by commas, or (for set) {@code namespace.attribute}. */
    private Expr assignTarget(boolean allowAttribute) {
        List<Expr> names = new ArrayList<>();
        do {
            Token name = expect(Kind.NAME, null, "a variable name");
            if (allowAttribute && names.isEmpty() && skipOp(".")) {
                return new Expr.Attr(new Expr.Name(name.text()), expect(Kind.NAME, null, "an attribute name").text());
            }
            names.add(new Expr.Name(name.text()));
        } while (skipOp(","));
        return names.size() == 1 ? names.getFirst() : new Expr.ListLit(names, true);
    }

    private Node callBlock(Token opener) {
        List<String> params = new ArrayList<>();
        if (isOp("(")) {
            next();
            parameters(params, new ArrayList<>());
        }
        Expr call = postfix(primary());
        if (!(call instanceof Expr.Call c)) {
            throw error("expected a macro call after 'call'", opener);
        }
        expectBlockEnd();
        List<Node> body = body(Set.of("endcall"), opener);
        expectBlockEnd();
        return new Node.CallBlock(opener.line(), params, c, body);
    }

    private Node macro(Token opener) {
        String name = expect(Kind.NAME, null, "the macro's name").text();
        expect(Kind.OP, "(", "'('");
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        parameters(params, defaults);
        expectBlockEnd();
        int outerLoops = loops;
        loops = 0;
        List<Node> body = body(Set.of("endmacro"), opener);
        loops = outerLoops;
        expectBlockEnd();
        return new Node.Macro(opener.line(), name, params, defaults, body);
    }

    /** Parameters after the '(' up to and including ')': names with optional defaults. */
    private void parameters(List<String> params, List<Expr> defaults) {
        while (!skipOp(")")) {
            if (!params.isEmpty()) {
                expect(Kind.OP, ",", "',' or ')'");
                if (skipOp(")")) {
                    break;
                }
            }
            params.add(expect(Kind.NAME, null, "a parameter name").text());
            defaults.add(skipOp("=") ? expression() : null);
        }
    }

    /**
     * Expressions separated by commas, a tuple when there is a comma; jinja2's {@code parse_tuple}. Without
     * {@code condexpr} the items are {@code or} expressions (a for loop's iterable, so that {@code if} filters).
     */
    private Expr tuple(boolean condexpr, boolean parenthesized) {
        List<Expr> items = new ArrayList<>();
        boolean isTuple = false;
        while (true) {
            if (!items.isEmpty()) {
                expect(Kind.OP, ",", "','");
            }
            Token t = peek();
            if (t.kind() == Kind.VAR_END || t.kind() == Kind.BLOCK_END || t.kind() == Kind.EOF || t.is(Kind.OP, ")")) {
                break;
            }
            items.add(condexpr ? expression() : or());
            if (isOp(",")) {
                isTuple = true;
            } else {
                break;
            }
        }
        if (!isTuple) {
            if (items.isEmpty()) {
                if (parenthesized) {
                    return new Expr.ListLit(List.of(), true);
                }
                throw error("expected an expression, found " + peek().describe(), peek());
            }
            return items.getFirst();
        }
        return new Expr.ListLit(items, true);
    }

    private Expr expression() {
        enter();
        int start = depth;
        Expr e = or();
        while (skipName("if")) {
            enter();
            Expr cond = or();
            Expr otherwise = skipName("else") ? expression() : null;
            e = new Expr.Cond(cond, e, otherwise);
        }
        depth = start - 1;
        return e;
    }

    private Expr or() {
        int start = depth;
        Expr e = and();
        while (skipName("or")) {
            enter();
            e = new Expr.Binary("or", e, and());
        }
        depth = start;
        return e;
    }

    private Expr and() {
        int start = depth;
        Expr e = not();
        while (skipName("and")) {
            enter();
            e = new Expr.Binary("and", e, not());
        }
        depth = start;
        return e;
    }

    private Expr not() {
        if (skipName("not")) {
            enter();
            Expr e = new Expr.Unary("not", not());
            depth--;
            return e;
        }
        return compare();
    }

    private Expr compare() {
        Expr first = math1();
        List<String> ops = new ArrayList<>();
        List<Expr> rest = new ArrayList<>();
        while (true) {
            Token t = peek();
            if (t.kind() == Kind.OP && COMPARISONS.contains(t.text())) {
                ops.add(next().text());
            } else if (skipName("in")) {
                ops.add("in");
            } else if (isName("not") && tokens.get(at + 1).is(Kind.NAME, "in")) {
                at += 2;
                ops.add("not in");
            } else {
                break;
            }
            rest.add(math1());
        }
        return ops.isEmpty() ? first : new Expr.Compare(first, ops, rest);
    }

    private Expr math1() {
        int start = depth;
        Expr e = concat();
        while (isOp("+") || isOp("-")) {
            enter();
            e = new Expr.Binary(next().text(), e, concat());
        }
        depth = start;
        return e;
    }

    private Expr concat() {
        int start = depth;
        Expr e = math2();
        while (skipOp("~")) {
            enter();
            e = new Expr.Binary("~", e, math2());
        }
        depth = start;
        return e;
    }

    private Expr math2() {
        int start = depth;
        Expr e = pow();
        while (isOp("*") || isOp("/") || isOp("//") || isOp("%")) {
            enter();
            e = new Expr.Binary(next().text(), e, pow());
        }
        depth = start;
        return e;
    }

    private Expr pow() {
        int start = depth;
        Expr e = unary(true);
        while (skipOp("**")) {
            enter();
            e = new Expr.Binary("**", e, unary(true));
        }
        depth = start;
        return e;
    }

    private Expr unary(boolean withFilters) {
        enter();
        Expr e;
        if (isOp("-") || isOp("+")) {
            e = new Expr.Unary(next().text(), unary(false));
        } else {
            e = primary();
        }
        e = postfix(e);
        if (withFilters) {
            e = filters(e);
        }
        depth--;
        return e;
    }

    private Expr primary() {
        Token t = next();
        switch (t.kind()) {
            case NAME -> {
                return switch (t.text()) {
                    case "true", "True" -> new Expr.Const(true);
                    case "false", "False" -> new Expr.Const(false);
                    case "none", "None" -> new Expr.Const(null);
                    default -> new Expr.Name(t.text());
                };
            }
            case STRING -> {
                StringBuilder s = new StringBuilder(t.text());
                while (peek().kind() == Kind.STRING) {
                    s.append(next().text());
                }
                return new Expr.Const(s.toString());
            }
            case INT -> {
                try {
                    return new Expr.Const(Long.parseLong(t.text()));
                } catch (NumberFormatException e) {
                    throw error("the integer " + t.text() + " is beyond 64 bits", t);
                }
            }
            case FLOAT -> {
                return new Expr.Const(Double.parseDouble(t.text()));
            }
            case OP -> {
                switch (t.text()) {
                    case "(" -> {
                        Expr e = tuple(true, true);
                        expect(Kind.OP, ")", "')'");
                        return e;
                    }
                    case "[" -> {
                        return new Expr.ListLit(items("]"), false);
                    }
                    case "{" -> {
                        return dict();
                    }
                    default -> {
                    }
                }
            }
            default -> {
            }
        }
        throw error("expected an expression, found " + t.describe(), t);
    }

    private List<Expr> items(String close) {
        List<Expr> items = new ArrayList<>();
        while (!skipOp(close)) {
            if (!items.isEmpty()) {
                expect(Kind.OP, ",", "',' or '" + close + "'");
                if (skipOp(close)) {
                    break;
                }
            }
            items.add(expression());
        }
        return items;
    }

    private Expr dict() {
        List<Expr> keys = new ArrayList<>();
        List<Expr> values = new ArrayList<>();
        while (!skipOp("}")) {
            if (!keys.isEmpty()) {
                expect(Kind.OP, ",", "',' or '}'");
                if (skipOp("}")) {
                    break;
                }
            }
            keys.add(expression());
            expect(Kind.OP, ":", "':'");
            values.add(expression());
        }
        return new Expr.DictLit(keys, values);
    }

    private Expr postfix(Expr e) {
        int start = depth;
        while (true) {
            if (isOp(".") || isOp("[") || isOp("(")) {
                enter();
            }
            if (skipOp(".")) {
                Token t = next();
                if (t.kind() == Kind.NAME) {
                    e = new Expr.Attr(e, t.text());
                } else if (t.kind() == Kind.INT) {
                    e = new Expr.Item(e, new Expr.Const(Long.parseLong(t.text())));
                } else {
                    throw error("expected an attribute name after '.', found " + t.describe(), t);
                }
            } else if (skipOp("[")) {
                e = subscript(e);
            } else if (isOp("(")) {
                e = call(e);
            } else {
                depth = start;
                return e;
            }
        }
    }

    private Expr subscript(Expr obj) {
        Expr start = isOp(":") ? null : expression();
        if (!skipOp(":")) {
            expect(Kind.OP, "]", "']'");
            return new Expr.Item(obj, start);
        }
        Expr stop = isOp("]") || isOp(":") ? null : expression();
        Expr step = null;
        if (skipOp(":")) {
            step = isOp("]") ? null : expression();
        }
        expect(Kind.OP, "]", "']'");
        return new Expr.Slice(obj, start, stop, step);
    }

    private Expr call(Expr fn) {
        List<Expr> args = new ArrayList<>();
        List<Kwarg> kwargs = new ArrayList<>();
        Expr[] stars = arguments(args, kwargs);
        return new Expr.Call(fn, args, kwargs, stars[0], stars[1]);
    }

    /** Arguments up to ')': positional, then keyword; returns the {@code *args} and {@code **kwargs} expressions. */
    private Expr[] arguments(List<Expr> args, List<Kwarg> kwargs) {
        Expr[] stars = new Expr[2];
        expect(Kind.OP, "(", "'('");
        boolean first = true;
        while (!skipOp(")")) {
            if (!first) {
                expect(Kind.OP, ",", "',' or ')'");
                if (skipOp(")")) {
                    break;
                }
            }
            first = false;
            if (skipOp("**")) {
                stars[1] = expression();
            } else if (skipOp("*")) {
                stars[0] = expression();
            } else if (peek().kind() == Kind.NAME && tokens.get(at + 1).is(Kind.OP, "=")) {
                String name = next().text();
                at++;
                kwargs.add(new Kwarg(name, expression()));
            } else if (!kwargs.isEmpty()) {
                throw error("a positional argument after a keyword argument", peek());
            } else {
                args.add(expression());
            }
        }
        return stars;
    }

    private Expr filters(Expr e) {
        int start = depth;
        while (true) {
            if (isOp("|") || isName("is") || isOp("(")) {
                enter();
            }
            if (skipOp("|")) {
                e = filter(e);
            } else if (skipName("is")) {
                boolean negated = skipName("not");
                Token name = dottedName();
                List<Expr> args = new ArrayList<>();
                Token t = peek();
                if (isOp("(")) {
                    List<Kwarg> kwargs = new ArrayList<>();
                    arguments(args, kwargs);
                } else if ((t.kind() == Kind.NAME || t.kind() == Kind.STRING || t.kind() == Kind.INT || t.kind() == Kind.FLOAT
                        || isOp("[") || isOp("{")) && !isName("else") && !isName("or") && !isName("and")) {
                    args.add(postfix(primary()));
                }
                if (!Tests.NAMES.contains(name.text())) {
                    throw error("no test named '" + name.text() + "'; supported: " + String.join(", ",
                            Tests.NAMES.stream().sorted().toList()), name);
                }
                e = new Expr.Test(e, name.text(), args, negated);
            } else if (isOp("(")) {
                e = call(e);
            } else {
                depth = start;
                return e;
            }
        }
    }

    /** {@code name(args)} of a filter applied to {@code value} (null in a filter block). */
    private Expr.Filter filter(Expr value) {
        Token name = dottedName();
        List<Expr> args = new ArrayList<>();
        List<Kwarg> kwargs = new ArrayList<>();
        if (isOp("(")) {
            arguments(args, kwargs);
        }
        if (!Filters.NAMES.contains(name.text())) {
            throw error("no filter named '" + name.text() + "'; supported: " + String.join(", ",
                    Filters.NAMES.stream().sorted().toList()), name);
        }
        return new Expr.Filter(value, name.text(), args, kwargs);
    }

    private Token dottedName() {
        Token name = expect(Kind.NAME, null, "a filter or test name");
        StringBuilder s = new StringBuilder(name.text());
        while (skipOp(".")) {
            s.append('.').append(expect(Kind.NAME, null, "a name").text());
        }
        return new Token(Kind.NAME, s.toString(), name.line(), name.column());
    }
}
