package dev.finetune4j.samples.cli;

import dev.finetune4j.core.backend.Device;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Reads {@code --device cpu|cuda:N|auto} with {@link Device#parse} and starts the device's backend at once, so that
 * an unknown device, or one this machine does not have, is a bad-input error before any file is read, naming the
 * accepted forms and why the device cannot be used.
 */
public final class DeviceOption implements ITypeConverter<Device> {
    /** The option's description, shared by the commands that take it. */
    public static final String DESCRIPTION = "cpu, cuda:N or auto (a GPU when one can be used here, else the CPU; "
            + "default: ${DEFAULT-VALUE}).";

    /** A converter for picocli. */
    public DeviceOption() {
    }

    /**
     * The device named by {@code text}, with its backend started.
     *
     * @param text {@code cpu}, {@code cuda}, {@code cuda:N} or {@code auto}
     * @return the device
     * @throws TypeConversionException when the text names no device or the device cannot be used here
     */
    @Override
    public Device convert(String text) {
        try {
            Device device = Device.parse(text);
            device.backend();
            return device;
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new TypeConversionException(e.getMessage() + "; use --device cpu, cuda:N or auto");
        }
    }
}
