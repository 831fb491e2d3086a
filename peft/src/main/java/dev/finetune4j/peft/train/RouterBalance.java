package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.models.RouterLoadBalance;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.models.decoder.MoeConfig;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.PeftModel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A mixture of experts' routers' load-balancing loss ({@link RouterLoadBalance}) in an objective, as transformers
 * (SFT) and TRL's preference trainers add it when config.json sets {@code output_router_logits}: in training,
 * {@code router_aux_loss_coef} times it for each micro-batch beside the objective's mean loss (the sum this project's
 * objectives return gets it times the micro-batch's weight); reported as {@value #METRIC} in training and evaluations,
 * whose loss is left as the objective's own. For any other model it adds nothing.
 */
final class RouterBalance {
    /** The metric of the load-balancing loss, before its coefficient. */
    static final String METRIC = "router_aux_loss";

    private final PeftModel model;
    /** The mixture whose balance joins the loss, or null. */
    private final MoeConfig moe;

    private RouterBalance(PeftModel model, MoeConfig moe) {
        this.model = model;
        this.moe = moe;
    }

    /**
     * The balance term of {@code model}'s objectives.
     *
     * @param model the trained model
     * @return its term; one that adds nothing unless the base is a mixture with {@code output_router_logits}
     */
    static RouterBalance of(PeftModel model) {
        MoeConfig moe = model.base() instanceof DecoderModel d ? d.config().moe() : null;
        return new RouterBalance(model, moe != null && moe.outputRouterLogits() ? moe : null);
    }

    /** An objective's metric names, with {@value #METRIC} last when the balance is on. */
    List<String> metricNames(List<String> objectiveMetrics) {
        if (moe == null) {
            return objectiveMetrics;
        }
        List<String> names = new ArrayList<>(objectiveMetrics);
        names.add(METRIC);
        return names;
    }

    /**
     * Runs the forward passes of a micro-batch, collecting the routers when the balance is on.
     *
     * @param forward the passes whose routers count (the policy's, not a reference's)
     * @return their result and the load-balancing loss (null when the balance is off or no token counted)
     */
    <T> Measured<T> measure(Supplier<T> forward) {
        if (moe == null) {
            return new Measured<>(forward.get(), null);
        }
        if (Autograd.isEnabled() && model.base().isGradientCheckpointing()) {
            throw new IllegalStateException("output_router_logits (the routers' load-balancing loss) cannot be trained "
                    + "with gradient checkpointing, whose first forward keeps no router probabilities: turn one off "
                    + "(TrainingConfig gradientCheckpointing, or output_router_logits in config.json)");
        }
        try (RouterLoadBalance balance = RouterLoadBalance.collect()) {
            T value = forward.get();
            return new Measured<>(value, balance.loss());
        }
    }

    /**
     * {@code loss} with the balance of its micro-batch: added to the sum in training (evaluations run without
     * gradients), and as the last metric sum.
     *
     * @param loss the objective's loss of the micro-batch
     * @param aux the micro-batch's load-balancing loss from {@link #measure}, or null
     * @param weight the micro-batch's weight (its share of the step's mean)
     * @return the loss to return
     */
    Objective.Loss addTo(Objective.Loss loss, Tensor aux, long weight) {
        if (moe == null) {
            return loss;
        }
        Tensor sum = loss.sum();
        Tensor auxSum = aux == null ? Tensor.zeros(sum.device(), sum.shape()) : Elementwise.scale(aux, weight);
        if (Autograd.isEnabled()) {
            sum = Elementwise.add(sum, Elementwise.scale(auxSum, moe.routerAuxLossCoef()));
        }
        Map<String, Tensor> metrics = new LinkedHashMap<>(loss.metricSums());
        metrics.put(METRIC, auxSum.detach());
        return new Objective.Loss(sum, loss.tokens(), metrics, loss.predictions());
    }

    /**
     * What a micro-batch's forward passes gave, and their routers' load-balancing loss.
     *
     * @param value the passes' result
     * @param aux the load-balancing loss, or null
     */
    record Measured<T>(T value, Tensor aux) {
    }
}
