package dev.finetune4j.core.backend;

/**
 * What a dropout mask is a function of, besides the element index: the run's seed, the training step and the id
 * of the dropout site within the step (its order of use), so that a CPU and a GPU run of the same step draw the
 * same mask.
 *
 * @param seed the run's dropout seed
 * @param step the training step
 * @param site the dropout site's index within the step, in order of use
 */
public record DropoutKey(long seed, long step, long site) {
}
