/**
 * Trainers (SFT, DPO) over any adapted model: they see a {@link dev.finetune4j.peft.PeftModel} and its trainable
 * parameters, never a particular method.
 *
 * <p>Allowed dependencies: {@code dev.finetune4j.core.*}, {@code dev.finetune4j.peft}. Never a method folder;
 * {@code PackageDependenciesTest} keeps this true.
 */
package dev.finetune4j.peft.train;
