package dev.finetune4j.peft.serve;

/**
 * Which adapter version each row of the batch being computed uses (null: the base model), set by the decode thread
 * before every forward pass and read by the {@link MultiLoraLinear} wrappers during it.
 *
 * <p>Thread safety: confined to the thread that runs forward passes.
 */
final class AdapterRows {
    private LoraAdapter[] rows = new LoraAdapter[0];

    void set(LoraAdapter[] adapters) {
        rows = adapters.clone();
    }

    int size() {
        return rows.length;
    }

    LoraAdapter get(int row) {
        return rows[row];
    }
}
