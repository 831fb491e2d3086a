/**
 * The PEFT API shared by every method: entry points ({@link dev.finetune4j.peft.Peft}), the adapted models
 * ({@link dev.finetune4j.peft.PeftModel}, {@link dev.finetune4j.peft.PeftClassifier}), the method SPI
 * ({@link dev.finetune4j.peft.PeftMethod}, {@link dev.finetune4j.peft.PeftRegistry}), {@code adapter_config.json}
 * and {@code adapter_model.safetensors} in PEFT's format, and the pieces methods share (target modules, module
 * swaps, modules to save, the base linear view, {@code nn.Linear}'s default initialisation).
 *
 * <p>Each method lives in its own folder with the same roles: {@code <Method>Config} (the record mirroring its
 * {@code adapter_config.json} fields), its layer, and {@code <Method>Injector} (its {@code PeftMethod},
 * registered in {@code META-INF/services/dev.finetune4j.peft.PeftMethod}).
 *
 * <p>Allowed dependencies: {@code dev.finetune4j.core.*}. The root never names a method folder or {@code train}:
 * methods reach it through the registry. {@code PackageDependenciesTest} keeps these lines true.
 */
package dev.finetune4j.peft;
