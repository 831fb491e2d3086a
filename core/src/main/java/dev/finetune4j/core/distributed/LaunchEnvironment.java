package dev.finetune4j.core.distributed;

import java.time.Duration;
import java.util.Map;

/**
 * Reads a rank's {@link SocketCollective.Options} from the variables a launcher sets, with torchrun's names, so a
 * scheduler that launches PyTorch jobs launches finetune4j's: {@code RANK}, {@code WORLD_SIZE}, {@code MASTER_ADDR},
 * {@code MASTER_PORT}, each overridden by the same name prefixed with {@code FINETUNE4J_}; then
 * {@code FINETUNE4J_DIST_TOKEN} (the job token, default none) and {@code FINETUNE4J_DIST_TIMEOUT} (whole seconds,
 * both timeouts, default 1800).
 */
final class LaunchEnvironment {
    static final String PREFIX = "FINETUNE4J_";
    static final String TOKEN = "FINETUNE4J_DIST_TOKEN";
    static final String TIMEOUT = "FINETUNE4J_DIST_TIMEOUT";

    private LaunchEnvironment() {
    }

    static SocketCollective.Options options(Map<String, String> environment) {
        Variable rank = Variable.of(environment, "RANK");
        Variable worldSize = Variable.of(environment, "WORLD_SIZE");
        Variable host = Variable.of(environment, "MASTER_ADDR");
        Variable port = Variable.of(environment, "MASTER_PORT");
        int size = worldSize.wholeNumber(1, SocketCollective.Options.MAX_WORLD_SIZE);
        int r = rank.wholeNumber(0, Integer.MAX_VALUE);
        if (r >= size) {
            throw new IllegalArgumentException(rank.name + "=" + r + " is not below " + worldSize.name + "=" + size
                    + ": the ranks of a world of " + size + " are 0 to " + (size - 1));
        }
        String address = host.text();
        int rendezvousPort = port.wholeNumber(1, 65535);
        Duration timeout = environment.containsKey(TIMEOUT)
                ? Duration.ofSeconds(new Variable(TIMEOUT, environment.get(TIMEOUT)).wholeNumber(1, Integer.MAX_VALUE))
                : SocketCollective.Options.DEFAULT_TIMEOUT;
        return new SocketCollective.Options(r, size, address, rendezvousPort, timeout, timeout,
                environment.getOrDefault(TOKEN, ""));
    }

    /** A variable as the launcher set it: the {@code FINETUNE4J_} one when set, else torchrun's. */
    private record Variable(String name, String value) {

        static Variable of(Map<String, String> environment, String torchrunName) {
            String ours = PREFIX + torchrunName;
            if (environment.containsKey(ours)) {
                return new Variable(ours, environment.get(ours));
            }
            if (!environment.containsKey(torchrunName)) {
                throw new IllegalArgumentException(torchrunName + " is not set: a distributed run needs it (or "
                        + ours + "), e.g. " + torchrunName + "=" + example(torchrunName) + "; torchrun and most "
                        + "schedulers set RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT");
            }
            return new Variable(torchrunName, environment.get(torchrunName));
        }

        int wholeNumber(int min, int max) {
            int parsed;
            try {
                parsed = Integer.parseInt(value.strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(name + " is '" + value + "', not a whole number: e.g. " + name
                        + "=" + example(name), e);
            }
            if (parsed < min || parsed > max) {
                throw new IllegalArgumentException(name + " is " + parsed + ", outside " + min + " to " + max
                        + ": e.g. " + name + "=" + example(name));
            }
            return parsed;
        }

        String text() {
            if (value.isBlank()) {
                throw new IllegalArgumentException(name + " is empty: give rank 0's host name or address, e.g. "
                        + name + "=" + example(name));
            }
            return value.strip();
        }

        /** A typical value of a variable, its {@code FINETUNE4J_} override included. */
        private static String example(String name) {
            return switch (name.startsWith(PREFIX) && !name.equals(TIMEOUT) ? name.substring(PREFIX.length()) : name) {
                case "RANK" -> "0";
                case "WORLD_SIZE" -> "4";
                case "MASTER_ADDR" -> "10.0.0.1";
                case "MASTER_PORT" -> "29500";
                default -> "1800";
            };
        }
    }
}
