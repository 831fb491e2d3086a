package dev.finetune4j.serve;

import dev.finetune4j.core.generate.TokenLogprobs;
import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Records what the splitters ({@link ToolCallSplitter}, {@link ReasoningSplitter}) hand to the response writer, as
 * readable lines: {@code "0 text 'Hi' [1, 2]"}, {@code "0 reason 'hmm' [3]"}, {@code "0 start 0 f [4]"} ...
 */
final class SplitRecorder implements ToolCallSplitter.Sink {
    final List<String> events = new ArrayList<>();

    @Override
    public void onText(int choice, String text, long[] tokens, List<TokenLogprobs> logprobs) {
        events.add(choice + " text '" + text + "' " + Arrays.toString(tokens));
    }

    @Override
    public void onReasoning(int choice, String text, long[] tokens, List<TokenLogprobs> logprobs) {
        events.add(choice + " reason '" + text + "' " + Arrays.toString(tokens));
    }

    @Override
    public void onToolCallStart(int choice, int index, String id, String name, long[] tokens, List<TokenLogprobs> logprobs) {
        events.add(choice + " start " + index + " " + name + " " + Arrays.toString(tokens));
    }

    @Override
    public void onToolCallArguments(int choice, int index, String arguments, long[] tokens, List<TokenLogprobs> logprobs) {
        events.add(choice + " args " + index + " " + arguments + " " + Arrays.toString(tokens));
    }

    @Override
    public void onToolCall(int choice, int index, ToolCall call) {
        events.add(choice + " call " + index + " " + call.name() + " " + call.arguments());
    }

    @Override
    public void onFinish(int choice, ChoiceFinish finish) {
        events.add(choice + " finish " + finish);
    }
}
