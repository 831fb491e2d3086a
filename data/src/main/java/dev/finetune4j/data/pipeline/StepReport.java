package dev.finetune4j.data.pipeline;

import java.util.Map;

/**
 * What one step did over a whole run.
 *
 * @param name    the step's name
 * @param params  its parameters
 * @param in      records it saw
 * @param kept    records it passed unchanged
 * @param changed records it passed changed
 * @param dropped records it dropped
 * @param added   records it added (augmentation)
 * @param dropReasons dropped records by reason
 * @param changes changed records by kind of change
 * @param tallies other counts the step reported (e.g. PII found, by type)
 */
public record StepReport(String name, Map<String, Object> params, long in, long kept, long changed, long dropped,
                         long added, Map<String, Long> dropReasons, Map<String, Long> changes,
                         Map<String, Long> tallies) {
}
