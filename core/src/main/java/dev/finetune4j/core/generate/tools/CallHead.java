package dev.finetune4j.core.generate.tools;

/**
 * The start of a call that is known before the call is complete: its name, and where its arguments object opens, so
 * that a stream can announce the call and send its arguments as they are generated.
 *
 * @param name           the function's name
 * @param argumentsStart where the arguments start in the call section: their object's opening brace, or the body
 *                       of an XML call ({@link ToolCallFormat#argumentsReader} reads them from there)
 */
record CallHead(String name, int argumentsStart) {
}
