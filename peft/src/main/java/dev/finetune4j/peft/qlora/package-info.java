/**
 * QLoRA (Dettmers et al. 2023): base linear layers whose weights are core {@code DType.NF4} tensors under any layer method, and
 * {@code QloraInjector}, which quantizes a base model and wraps it. QLoRA saves plain LoRA adapters, so it
 * registers no method of its own.
 *
 * <p>Allowed dependencies: {@code dev.finetune4j.core.*}, {@code dev.finetune4j.peft}. A method folder uses
 * {@code core} and the root API only, never another method's folder; {@code PackageDependenciesTest} keeps this
 * true.
 */
package dev.finetune4j.peft.qlora;
