/**
 * IA3 (Liu et al. 2022): {@code Ia3Config}, {@code Ia3Linear}, {@code Ia3Injector}.
 *
 * <p>Allowed dependencies: {@code dev.finetune4j.core.*}, {@code dev.finetune4j.peft}. A method folder uses
 * {@code core} and the root API only, never another method's folder; {@code PackageDependenciesTest} keeps this
 * true.
 */
package dev.finetune4j.peft.ia3;
