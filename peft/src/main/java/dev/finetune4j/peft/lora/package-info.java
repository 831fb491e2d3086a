/**
 * LoRA (Hu et al. 2021) with its rsLoRA and DoRA variants: {@code LoraConfig}, {@code LoraLinear},
 * {@code LoraInjector}, and the DoRA variant.
 *
 * <p>Allowed dependencies: {@code dev.finetune4j.core.*}, {@code dev.finetune4j.peft}. A method folder uses
 * {@code core} and the root API only, never another method's folder; {@code PackageDependenciesTest} keeps this
 * true.
 */
package dev.finetune4j.peft.lora;
