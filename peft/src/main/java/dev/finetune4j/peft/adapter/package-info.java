/**
 * Bottleneck adapters (Houlsby et al. 2019, Pfeiffer et al. 2020): {@code BottleneckConfig},
 * {@code BottleneckAdapter}, {@code AdapterInjector}.
 *
 * <p>Allowed dependencies: {@code dev.finetune4j.core.*}, {@code dev.finetune4j.peft}. A method folder uses
 * {@code core} and the root API only, never another method's folder; {@code PackageDependenciesTest} keeps this
 * true.
 */
package dev.finetune4j.peft.adapter;
