package dev.finetune4j.data.preference;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One unpaired preference, a row for KTO: {@code completion} is a desirable ({@code desirable = true}) or an
 * undesirable answer to {@code prompt}, by {@code netVotes} votes.
 *
 * @param prompt     the prompt the completion answers
 * @param completion the rated answer
 * @param desirable  true when its net vote is positive, false when negative
 * @param netVotes   ups minus downs (pick-the-best sessions counting as votes), never 0
 */
public record UnpairedPreference(String prompt, String completion, boolean desirable, int netVotes) implements Serializable {

    /**
     * TRL's unpaired preference format: {@code {"prompt", "completion", "label"}}, the label a boolean.
     *
     * @return a new map with the keys {@code prompt}, {@code completion} and {@code label}
     */
    public Map<String, Object> toTrl() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("prompt", prompt);
        m.put("completion", completion);
        m.put("label", desirable);
        return m;
    }
}
