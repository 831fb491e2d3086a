/**
 * Trainers (SFT, DPO, ORPO and SimPO, KTO, GRPO, classification and reward models) over any adapted model: they see a
 * {@link dev.finetune4j.peft.PeftModel} or a {@link dev.finetune4j.peft.PeftClassifier} and its trainable parameters,
 * never a particular method.
 *
 * <p>Allowed dependencies: {@code dev.finetune4j.core.*}, {@code dev.finetune4j.peft}, {@code dev.finetune4j.eval}
 * (the classification metrics of evaluations, one implementation for the trainer and the CLI). Never a method folder;
 * {@code PackageDependenciesTest} keeps this true.
 */
package dev.finetune4j.peft.train;
