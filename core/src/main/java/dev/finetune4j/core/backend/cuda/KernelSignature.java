package dev.finetune4j.core.backend.cuda;

import java.util.List;
import java.util.stream.Collectors;

/**
 * The C parameter list of one {@code extern "C" __global__} kernel, as {@link KernelSignatures} parsed it from
 * its source.
 *
 * @param kernel the kernel's name
 * @param params its parameters in order
 */
record KernelSignature(String kernel, List<Param> params) {

    /**
     * One parameter.
     *
     * @param declaration the C declaration, e.g. {@code const float* x}
     * @param type what it is at the ABI level
     */
    record Param(String declaration, KernelArgType type) {
    }

    /**
     * Checks that a launch passes exactly these parameters' kinds and sizes, in order.
     *
     * @throws IllegalArgumentException naming the kernel, the expected and the actual parameter lists
     */
    void check(String family, List<KernelArgType> args) {
        boolean same = args.size() == params.size();
        for (int i = 0; same && i < args.size(); i++) {
            same = args.get(i).equals(params.get(i).type());
        }
        if (!same) {
            throw new IllegalArgumentException("launch of " + family + ".cu's " + kernel + " does not match its C"
                    + " signature (a mismatch corrupts memory or crashes on the GPU); the kernel takes ("
                    + params.stream().map(p -> p.declaration() + ": " + p.type()).collect(Collectors.joining(", "))
                    + ") but the launch passes (" + args.stream().map(KernelArgType::toString)
                    .collect(Collectors.joining(", ")) + "); fix the KernelArgs of this launch");
        }
    }
}
