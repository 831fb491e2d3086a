package dev.finetune4j.samples.quickstart;

import dev.finetune4j.eval.EvalReport;
import dev.finetune4j.eval.GateDecision;
import dev.finetune4j.eval.GateRule;
import dev.finetune4j.eval.PromotionGate;

/**
 * Step 7a: the promotion gate. The candidate (SFT then DPO) replaces the SFT model, so it is compared with that:
 * it must not be worse on any metric (perplexity at most 5% higher, the others at most one point lower). DPO aims at
 * preferences, not at BLEU, so no gain is required.
 */
final class GateStage {
    private GateStage() {
    }

    static PromotionGate gate() {
        return PromotionGate.of(
                GateRule.lowerIsBetter(Evaluation.PERPLEXITY).maxRegression(0.05).relative(true),
                GateRule.higherIsBetter(Evaluation.BLEU).maxRegression(1.0),
                GateRule.higherIsBetter(Evaluation.ROUGE_L).maxRegression(1.0),
                GateRule.higherIsBetter(Evaluation.DRS).maxRegression(1.0));
    }

    static GateDecision run(EvalReport candidate, EvalReport baseline) {
        return gate().evaluate(candidate, baseline);
    }
}
