package dev.finetune4j.core.distributed;

import dev.finetune4j.core.tensor.Tensor;

import java.util.List;

/** The group of one rank: {@link Collective#single()}. */
enum SingleRank implements Collective {
    INSTANCE;

    @Override
    public int rank() {
        return 0;
    }

    @Override
    public int worldSize() {
        return 1;
    }

    @Override
    public void allReduceSum(List<Tensor> tensors) {
        CollectiveArguments.requireFloat32(tensors);
    }

    @Override
    public void broadcast(List<Tensor> tensors, int root) {
        CollectiveArguments.requireRoot(root, 1);
    }

    @Override
    public void barrier() {
    }

    @Override
    public void close() {
    }
}
