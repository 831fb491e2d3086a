/**
 * Prompt tuning (Lester et al. 2021): {@code PromptTuningConfig}, {@code PromptEmbedding}, {@code PromptInjector}.
 *
 * <p>Allowed dependencies: {@code dev.finetune4j.core.*}, {@code dev.finetune4j.peft}. A method folder uses
 * {@code core} and the root API only, never another method's folder; {@code PackageDependenciesTest} keeps this
 * true.
 */
package dev.finetune4j.peft.prompt;
