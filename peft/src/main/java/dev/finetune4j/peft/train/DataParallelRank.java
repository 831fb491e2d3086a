package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Concat;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.distributed.Collective;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A trainer's place in a data-parallel run ({@link TrainerBuilder#collective}). A step reads
 * {@code worldSize * gradientAccumulationSteps} micro-batches, as Hugging Face's Trainer does with a per-device
 * batch: rank {@code r} runs the step's micro-batches {@code r * accumulation} to {@code (r + 1) * accumulation - 1},
 * then the ranks sum their gradients, losses and metrics, and each takes the same update. Everything that decides
 * the run's course (the update gate, stopping) is computed from those sums, so the replicas never part.
 */
final class DataParallelRank {
    private final Collective collective;
    /** Zero gradients lent to parameters that a rank's passes did not reach, so every rank sums the same tensors. */
    private final Map<Tensor, Tensor> lentGradients = new HashMap<>();

    DataParallelRank(Collective collective) {
        this.collective = collective;
    }

    /** @return whether there are other ranks */
    boolean distributed() {
        return collective.worldSize() > 1;
    }

    int rank() {
        return collective.rank();
    }

    int worldSize() {
        return collective.worldSize();
    }

    /** The first of this rank's micro-batches among a step's {@code count}, each rank running {@code accumulation}. */
    int firstMicroBatch(int count, int accumulation) {
        return firstMicroBatch(rank(), count, accumulation);
    }

    /** One past the last of this rank's micro-batches among a step's {@code count}. */
    int endMicroBatch(int count, int accumulation) {
        return firstMicroBatch(rank() + 1, count, accumulation);
    }

    private static int firstMicroBatch(int rank, int count, int accumulation) {
        return (int) Math.min(count, (long) rank * accumulation);
    }

    /**
     * This rank's share of a step's {@code count} micro-batches, exchanging values through {@link #allGather} (as their
     * bits: every rank gets exactly what the others computed).
     */
    StepShare share(int count, int accumulation, Device device) {
        return share(firstMicroBatch(count, accumulation), endMicroBatch(count, accumulation), count, device);
    }

    /** This rank's share of an evaluation's {@code batches}: its block ({@link #firstEvalBatch}), exchanging as a step's. */
    StepShare evalShare(int batches, Device device) {
        return share(firstEvalBatch(batches), firstEvalBatch(batches, rank() + 1), batches, device);
    }

    /** The share of micro-batches {@code first} to {@code end} - 1 of {@code count}. */
    private StepShare share(int first, int end, int count, Device device) {
        if (!distributed()) {
            return StepShare.alone(count);
        }
        return new StepShare() {
            @Override
            public int first() {
                return first;
            }

            @Override
            public int end() {
                return end;
            }

            @Override
            public double[] gather(double[] own, int[] valuesPerMicroBatch) {
                int expected = 0;
                for (int m = first; m < end; m++) {
                    expected += valuesPerMicroBatch[m];
                }
                if (own.length != expected) {
                    throw new IllegalStateException("rank " + rank() + " gives " + own.length + " values for its "
                            + "micro-batches, which hold " + expected);
                }
                return concat(allGather(own, device));
            }
        };
    }

    /**
     * Every rank's values, in rank order, as their bits: a broadcast of the sizes, then one from each rank in turn.
     *
     * @param own    this rank's values, of any length
     * @param device where the exchange's tensors live
     * @return each rank's values
     */
    List<double[]> allGather(double[] own, Device device) {
        try (var scope = TensorScope.open()) {
            long[] sizes = new long[worldSize()];
            sizes[rank()] = own.length;
            for (int r = 0; r < worldSize(); r++) {
                Tensor size = Tensor.ofLongs(device, new long[] {sizes[r]}, Shape.of(1));
                collective.broadcast(List.of(size), r);
                sizes[r] = size.toLongArray()[0];
            }
            List<double[]> all = new ArrayList<>();
            for (int r = 0; r < worldSize(); r++) {
                int n = Math.toIntExact(sizes[r]);
                long[] bits = new long[n];
                if (r == rank()) {
                    for (int i = 0; i < n; i++) {
                        bits[i] = Double.doubleToRawLongBits(own[i]);
                    }
                }
                double[] values = new double[n];
                if (n > 0) {
                    Tensor sent = Tensor.ofLongs(device, bits, Shape.of(n));
                    collective.broadcast(List.of(sent), r);
                    long[] received = sent.toLongArray();
                    for (int i = 0; i < n; i++) {
                        values[i] = Double.longBitsToDouble(received[i]);
                    }
                }
                all.add(values);
            }
            return all;
        }
    }

    private static double[] concat(List<double[]> parts) {
        return parts.stream().flatMapToDouble(Arrays::stream).toArray();
    }

    /**
     * A value every rank of a run must share.
     *
     * @param name   what it is, for the message
     * @param value  this rank's value
     * @param digest whether the value is a hash, which a message does not show
     */
    record Fact(String name, long value, boolean digest) {
        static Fact of(String name, long value) {
            return new Fact(name, value, false);
        }

        static Fact digest(String name, long hash) {
            return new Fact(name, hash, true);
        }

        /** How this rank's value differs from rank 0's, for the message. */
        String difference(long rankZero) {
            return digest ? name + " differ from rank 0's" : name + " is " + value + " here and " + rankZero + " on rank 0";
        }
    }

    /**
     * Fails on every rank unless all ranks run the same training: rank 0's facts are sent to all, each rank compares
     * its own, and the ranks sum whether any differs.
     *
     * @param facts  this rank's values
     * @param device where the exchange's tensors live
     * @throws IllegalArgumentException on every rank when one differs, naming what on that rank
     */
    void requireSameRun(List<Fact> facts, Device device) {
        requireAsRankZero(facts, device, "cannot train with rank 0", "train with other settings or data than rank 0",
                "every rank must build its trainer from the same model, adapter settings, data and TrainingConfig",
                IllegalArgumentException::new);
    }

    /**
     * Fails on every rank unless every replica's trainable weights equal rank 0's, bit for bit: the ranks take the
     * same update from the same sums, so replicas part only when ranks compute differently (another kind of device,
     * other library versions, a collective whose sums are not the same everywhere).
     *
     * @param parameters this replica's trainable parameters
     * @param step       the steps taken, for the message
     * @param device     where the exchange's tensors live
     * @throws IllegalStateException on every rank when a replica differs
     */
    void requireEqualReplicas(List<Tensor> parameters, int step, Device device) {
        Fingerprint weights = new Fingerprint();
        for (Tensor p : parameters) {
            float[] values = p.toFloatArray();
            long[] bits = new long[values.length];
            for (int i = 0; i < values.length; i++) {
                bits[i] = Float.floatToRawIntBits(values[i]);
            }
            weights.add(bits);
        }
        requireAsRankZero(List.of(Fact.digest("its trainable weights", weights.value())), device,
                "parted from rank 0 after step " + step, "parted from rank 0 after step " + step,
                "the ranks computed different updates: run every rank on the same kind of device with the same library "
                        + "versions (with NCCL, set NCCL_ALGO=Ring), and resume from the last checkpoint",
                IllegalStateException::new);
    }

    /**
     * Sends rank 0's facts to every rank, compares them with this rank's, and sums over the ranks whether any
     * differs: then every rank fails, this one naming its differences.
     */
    private void requireAsRankZero(List<Fact> facts, Device device, String mismatch, String othersMismatch,
                                   String advice, Function<String, RuntimeException> failure) {
        try (var scope = TensorScope.open()) {
            long[] values = facts.stream().mapToLong(Fact::value).toArray();
            Tensor first = Tensor.ofLongs(device, values, Shape.of(values.length));
            collective.broadcast(List.of(first), 0);
            long[] rankZero = first.toLongArray();
            List<String> diffs = new ArrayList<>();
            for (int i = 0; i < values.length; i++) {
                if (values[i] != rankZero[i]) {
                    diffs.add(facts.get(i).difference(rankZero[i]));
                }
            }
            Tensor differing = Tensor.of(device, scope, new float[] {diffs.isEmpty() ? 0 : 1}, Shape.of(1));
            collective.allReduceSum(List.of(differing));
            int ranksDiffering = (int) differing.toFloatArray()[0];
            if (!diffs.isEmpty()) {
                throw failure.apply("rank " + rank() + " of " + worldSize() + " " + mismatch + ": "
                        + String.join(", ", diffs) + ". " + Character.toUpperCase(advice.charAt(0)) + advice.substring(1));
            }
            if (ranksDiffering > 0) {
                throw failure.apply(ranksDiffering + " other rank(s) of " + worldSize() + " " + othersMismatch
                        + " (their exceptions say which): " + advice);
            }
        }
    }

    /** Gives every rank rank 0's values of the trainable parameters, so the replicas start equal. */
    void startFromRankZero(List<Tensor> parameters) {
        collective.broadcast(parameters, 0);
    }

    /**
     * Sums, over the ranks and in place, the parameters' gradients and the step's {@code totals} (on the parameters'
     * device: the losses and metric sums), with the host values {@code counts} (tokens, a stop request) appended.
     * A parameter that no rank's passes reached is left without a gradient, as on one rank.
     *
     * @return the summed totals followed by the summed counts, in the current scope
     */
    Tensor sumStep(List<Tensor> parameters, Tensor totals, float[] counts) {
        Device device = totals.device();
        float[] hostValues = new float[counts.length + parameters.size()];
        System.arraycopy(counts, 0, hostValues, 0, counts.length);
        List<Tensor> gradients = new ArrayList<>();
        boolean lent = false;
        for (int k = 0; k < parameters.size(); k++) {
            Tensor p = parameters.get(k);
            if (p.grad() == null) {
                lent = true;
                p.setGrad(lentGradients.computeIfAbsent(p,
                        q -> Tensor.zeros(q.scope(), q.device(), DType.F32, q.shape())));
            } else {
                hostValues[counts.length + k] = 1;
            }
            gradients.add(p.grad());
        }
        Tensor shared = Concat.cat(0, totals.reshape((int) totals.numel()),
                Tensor.of(device, TensorScope.current(), hostValues, Shape.of(hostValues.length)));
        gradients.add(shared);
        collective.allReduceSum(gradients);
        if (lent) { // a read only while gradients are first made: later steps zero them and keep them
            float[] reached = shared.slice(0, (int) totals.numel() + counts.length, (int) shared.numel()).toFloatArray();
            for (int k = 0; k < parameters.size(); k++) {
                if (reached[k] == 0) { // still zeros: the lent tensor is lent again next time
                    parameters.get(k).setGrad(null);
                }
            }
        }
        return shared.slice(0, 0, (int) totals.numel() + counts.length);
    }

    /** The first of this rank's block of an evaluation's {@code batches}. */
    int firstEvalBatch(int batches) {
        return firstEvalBatch(batches, rank());
    }

    /** The first of rank {@code rank}'s block of an evaluation's {@code batches} ({@code batches} for one past the last). */
    int firstEvalBatch(int batches, int rank) {
        return (int) ((long) batches * rank / worldSize());
    }

    /** Waits for every rank (after rank 0 wrote a checkpoint the others will name). */
    void barrier() {
        collective.barrier();
    }

    /** Leaves the group after a failure, so that the other ranks fail now instead of waiting for this one. */
    void leave() {
        collective.close();
    }
}
