package dev.finetune4j.core.generate.tools;

/**
 * The start of a call that is known before the call is complete: its name, and where its arguments object opens, so
 * that a stream can announce the call and send its arguments as they are generated.
 *
 * @param name           the function's name
 * @param argumentsStart the index of the arguments object's opening brace in the call section
 */
record CallHead(String name, int argumentsStart) {
}
