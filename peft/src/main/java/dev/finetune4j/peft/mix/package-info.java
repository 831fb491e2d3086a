/**
 * Combining LoRA adapters into one without training, as PEFT's {@code LoraModel.add_weighted_adapter}: weighted
 * sums of the factors ({@code linear}), stacked ranks ({@code cat}), a truncated SVD of the weighted delta
 * ({@code svd}), and TIES (Yadav et al. 2023), DARE (Yu et al. 2023) and magnitude pruning, each on the factors or
 * on the delta. Entry point: {@link dev.finetune4j.peft.mix.AdapterMix}.
 *
 * <p>Allowed dependencies: {@code dev.finetune4j.core.*}, {@code dev.finetune4j.peft}, {@code dev.finetune4j.peft.lora}.
 * Mixing reads and writes LoRA adapters and uses no other method folder; {@code PackageDependenciesTest} keeps this
 * true.
 */
package dev.finetune4j.peft.mix;
