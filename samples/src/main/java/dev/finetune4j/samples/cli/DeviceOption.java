package dev.finetune4j.samples.cli;

import dev.finetune4j.core.backend.Device;
import picocli.CommandLine.ITypeConverter;

/**
 * {@code --device cpu|cuda:N|auto} as given. A command calls {@link #resolve} first when it runs: that parses the
 * text with {@link Device#parse} and starts the device's backend, so that an unknown device, or one this machine does
 * not have, is a bad-input error before any file is read, naming the accepted forms and why the device cannot be used.
 * Parsing the command line resolves nothing: {@code auto} probes for a GPU and logs its choice, which {@code --help}
 * (where picocli still converts the default value) must not print.
 *
 * @param text the option's value, e.g. {@code auto}
 */
public record DeviceOption(String text) {
    /** The option's description, shared by the commands that take it. */
    public static final String DESCRIPTION = "cpu, cuda:N or auto (a GPU when one can be used here, else the CPU; "
            + "default: ${DEFAULT-VALUE}).";

    /**
     * The device named by {@link #text}, with its backend started.
     *
     * @return the device
     * @throws BadInputException when the text names no device or the device cannot be used here
     */
    public Device resolve() {
        try {
            Device device = Device.parse(text);
            device.backend();
            return device;
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new BadInputException("--device " + text + ": " + e.getMessage() + "; use --device cpu, cuda:N or auto",
                    e);
        }
    }

    /** Reads {@code --device} for picocli, keeping the text for {@link #resolve}. */
    public static final class Converter implements ITypeConverter<DeviceOption> {
        /** A converter for picocli. */
        public Converter() {
        }

        @Override
        public DeviceOption convert(String text) {
            return new DeviceOption(text);
        }
    }
}
