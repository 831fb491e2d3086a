package dev.finetune4j.core.generate.json;

import dev.finetune4j.core.generate.OutputConstraint;

import java.util.Objects;
import java.util.Set;

/**
 * JSON mode for generation: every output is a value of {@code grammar} (any JSON object, or a JSON Schema's value),
 * written in the tokens whose bytes {@code vocab} holds.
 *
 * <pre>{@code
 * JsonOutput json = new JsonOutput(JsonGrammar.anyObject(), TokenBytes.of(tokenizer));   // shared
 * GenerationConfig cfg = GenerationConfig.builder().maxNewTokens(256).constraint(json)
 *         .stopTokens(Set.of(tokenizer.eosTokenId().orElseThrow())).build();
 * long[] out = Generator.generate(model, prompt, cfg);
 * }</pre>
 *
 * <p>Thread safety: immutable; each generation gets its own {@link JsonConstraint}.
 *
 * @param grammar what the output must be
 * @param vocab   the bytes of the model's tokens (its tokenizer's)
 */
public record JsonOutput(JsonGrammar grammar, TokenBytes vocab) implements OutputConstraint {

    /** Refuses null parts. */
    public JsonOutput {
        Objects.requireNonNull(grammar, "grammar");
        Objects.requireNonNull(vocab, "vocab");
    }

    @Override
    public JsonConstraint start(Set<Long> endTokens) {
        return new JsonConstraint(grammar, vocab, endTokens.stream().mapToLong(Long::longValue).sorted().toArray());
    }
}
