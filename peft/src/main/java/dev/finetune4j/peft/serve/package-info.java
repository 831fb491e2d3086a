/**
 * Serving: {@link dev.finetune4j.peft.serve.InferenceEngine} holds one base model and many LoRA/DoRA adapters and
 * batches concurrent requests continuously (the base product once per step, each row's low-rank update with its
 * own adapter), streaming tokens to each caller.
 *
 * <p>Allowed dependencies: {@code dev.finetune4j.core.*}, {@code dev.finetune4j.peft}, {@code dev.finetune4j.peft.lora}.
 * The engine serves LoRA (DoRA and rsLoRA included) and no other method folder;
 * {@code PackageDependenciesTest} keeps this true.
 */
package dev.finetune4j.peft.serve;
