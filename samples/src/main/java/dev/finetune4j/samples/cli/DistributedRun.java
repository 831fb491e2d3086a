package dev.finetune4j.samples.cli;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.cuda.NcclCollective;
import dev.finetune4j.core.distributed.Collective;
import dev.finetune4j.core.distributed.SocketCollective;

import java.io.PrintWriter;
import java.util.Map;
import java.util.Optional;

/**
 * {@code train --distributed}: this process as one rank of a data-parallel run of processes, started as torchrun
 * starts them ({@code RANK}, {@code WORLD_SIZE}, {@code MASTER_ADDR}, {@code MASTER_PORT}, {@code LOCAL_RANK}). The
 * ranks meet over TCP ({@link SocketCollective}); on GPUs with NCCL installed they then sum on the devices
 * ({@link NcclCollective}), the sockets having carried NCCL's id.
 */
final class DistributedRun {
    private DistributedRun() {
    }

    /**
     * The device of this rank: {@code --device auto} on a GPU machine is {@code cuda:$LOCAL_RANK}, one GPU per process
     * of a machine; any other choice stands.
     */
    static Device device(DeviceOption option, Device resolved, Map<String, String> environment) {
        if (!option.text().equals("auto") || resolved.isCpu()) {
            return resolved;
        }
        String localRank = environment.get("LOCAL_RANK");
        if (localRank == null) {
            throw new BadInputException("--distributed with --device auto on a GPU machine takes the GPU numbered by "
                    + "LOCAL_RANK (torchrun sets it: 0 to the processes per machine - 1), which is not set; set it, or "
                    + "pass --device cuda:N");
        }
        try {
            return new DeviceOption("cuda:" + Integer.parseInt(localRank.trim())).resolve();
        } catch (NumberFormatException e) {
            throw new BadInputException("LOCAL_RANK is '" + localRank + "', not a GPU number such as 0", e);
        }
    }

    /**
     * Joins the run the environment describes, waiting for every rank (up to {@code FINETUNE4J_DIST_TIMEOUT}).
     *
     * @throws BadInputException when a variable is missing or malformed
     */
    static SocketCollective join(Map<String, String> environment) {
        SocketCollective.Options options;
        try {
            options = SocketCollective.Options.fromEnvironment(environment);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--distributed: " + e.getMessage(), e);
        }
        return SocketCollective.connect(options);
    }

    /**
     * NCCL's communicator of the same ranks when {@code device} is a GPU and NCCL loads, else empty (the sockets sum
     * through host memory); {@code out} hears which.
     */
    static Optional<NcclCollective> onDevice(SocketCollective sockets, Device device, PrintWriter out) {
        String rank = "rank " + sockets.rank() + " of " + sockets.worldSize();
        Optional<String> noNccl = device.isCpu() ? Optional.of("the CPU has no NCCL") : NcclCollective.unavailableReason();
        if (noNccl.isPresent()) {
            out.println(rank + ", gradients summed over TCP through host memory (" + noNccl.get() + ")");
            return Optional.empty();
        }
        out.println(rank + ", gradients summed on the GPUs with NCCL");
        return Optional.of(NcclCollective.create(device, sockets));
    }
}
