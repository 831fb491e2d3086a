package dev.finetune4j.peft.train;

/** The preference loss of a {@link DpoTrainer}, over h = (log-ratio of chosen) - (log-ratio of rejected). */
public enum DpoLossType {
    /** DPO (Rafailov et al. 2023): -log sigmoid(beta h), with optional label smoothing (cDPO). */
    SIGMOID,
    /** IPO (Azar et al. 2023): (h - 1/(2 beta))^2, on summed response log-probabilities. */
    IPO
}
