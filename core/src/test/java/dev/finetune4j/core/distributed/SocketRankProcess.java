package dev.finetune4j.core.distributed;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.List;
import java.util.StringJoiner;

/**
 * A rank in a JVM of its own, for {@link SocketCollectiveTest}: joins the group its environment describes, sums
 * {@code SocketCollectiveTest.values(100 * rank, n)} (the seeds of the test's other ranks; {@code n} is the
 * argument) with the others, and prints the sums' bits on a line starting with {@code SUMS}.
 */
final class SocketRankProcess {

    private SocketRankProcess() {
    }

    public static void main(String[] args) {
        int n = Integer.parseInt(args[0]);
        try (TensorScope scope = TensorScope.open(); SocketCollective group = SocketCollective.fromEnvironment()) {
            Tensor t = Tensor.of(scope, SocketCollectiveTest.values(100 * group.rank(), n), n);
            group.allReduceSum(List.of(t));
            StringJoiner bits = new StringJoiner(",", "SUMS ", "");
            for (float f : t.toFloatArray()) {
                bits.add(Integer.toHexString(Float.floatToRawIntBits(f)));
            }
            System.out.println(bits);
        }
    }
}
