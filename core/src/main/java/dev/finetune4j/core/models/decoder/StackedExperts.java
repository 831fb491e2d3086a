package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.tensor.Tensor;

/**
 * Experts stored as stacked 3-D parameters (gpt-oss's {@link FusedExperts}), or an adapter around them (a LoRA on
 * one of those parameters): the products of an expert's tokens with its slice of a stacked matrix, through which
 * {@link FusedExperts#mlp} computes the expert.
 */
public interface StackedExperts {

    /**
     * Expert {@code expert}'s tokens times its matrix of the stacked parameter {@code parameter}, with any adapter's
     * update.
     *
     * @param expert the expert's index
     * @param parameter {@link FusedExperts#GATE_UP} (C, 2I) or {@link FusedExperts#DOWN} (I, C)
     * @param x the tokens, (N, in)
     * @return the product, (N, out)
     */
    Tensor project(int expert, String parameter, Tensor x);

    /**
     * The experts under any adapters, which hold the stacked weights and biases.
     *
     * @return the base experts
     */
    FusedExperts experts();
}
