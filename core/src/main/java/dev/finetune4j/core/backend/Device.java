package dev.finetune4j.core.backend;

import dev.finetune4j.core.backend.cpu.CpuBackend;
import dev.finetune4j.core.backend.meta.MetaBackend;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where a tensor's storage lives and whose {@link Backend} computes on it: {@code cpu}, {@code cuda:0}, ...
 * Devices other than the CPU come from {@link BackendProvider}s found through {@link ServiceLoader}.
 *
 * <pre>{@code
 * Device d = Device.auto();          // cuda:0 when a CUDA backend can run here, else the CPU (and one log line why)
 * Backend be = d.backend();
 * }</pre>
 *
 * @param type  the device type ({@code "cpu"}, {@code "cuda"}, ...)
 * @param index the device number within its type (0 for the CPU)
 */
public record Device(String type, int index) {
    private static final Logger LOG = LoggerFactory.getLogger(Device.class);
    private static final Device CPU = new Device("cpu", 0);
    private static final Device META = new Device("meta", 0);
    private static final Map<Device, Backend> BACKENDS = new ConcurrentHashMap<>();

    /**
     * Checks that the type is not blank, the index is not negative, and that {@code cpu} and {@code meta}, of which
     * there is one each, have index 0.
     */
    public Device {
        if (type == null || type.isBlank() || index < 0) {
            throw new IllegalArgumentException("a device needs a type and an index >= 0, got " + type + ":" + index);
        }
        if ((type.equals("cpu") || type.equals("meta")) && index != 0) {
            // NOTE: without this, cpu:1 would look for a provider of 'cpu' devices and name a missing module
            throw new IllegalArgumentException("there is one " + type + " device, " + type + ":0, not " + type + ":" + index
                    + "; use Device." + type + "()");
        }
    }

    /**
     * The host: the pure-Java backend.
     *
     * @return the CPU device
     */
    public static Device cpu() {
        return CPU;
    }

    /**
     * Shapes without values: where a model is built before its weights are loaded ({@link MetaBackend}).
     *
     * @return the meta device
     */
    public static Device meta() {
        return META;
    }

    /**
     * NVIDIA GPU number {@code index}.
     *
     * @param index the GPU's number, {@code >= 0}
     * @return the device {@code cuda:index}
     */
    public static Device cuda(int index) {
        return new Device("cuda", index);
    }

    /**
     * {@code cuda:0} when a CUDA backend is on the class path and can run here, else the CPU. Decided once per
     * process, with one log line saying which and why.
     *
     * @return the chosen device
     */
    public static Device auto() {
        return AutoChoice.DEVICE;
    }

    /** The probe behind {@link #auto()}, run on first use. */
    private static final class AutoChoice {
        static final Device DEVICE = probe();

        private static Device probe() {
            Device gpu = cuda(0);
            Optional<String> reason = provider("cuda").map(p -> p.unavailableReason(0).orElse(null))
                    .or(() -> Optional.of("no CUDA backend on the class path"));
            if (reason.isEmpty()) {
                LOG.info("device: {} ({})", gpu, gpu.backend().deviceName());
                return gpu;
            }
            LOG.info("device: cpu ({})", reason.get());
            return CPU;
        }
    }

    /**
     * Parses {@code "cpu"}, {@code "cuda"} (device 0), {@code "cuda:1"} or {@code "auto"}.
     *
     * @param text the device's name
     * @return the device
     * @throws IllegalArgumentException naming the accepted forms
     */
    public static Device parse(String text) {
        String s = text == null ? "" : text.trim();
        if (s.equals("auto")) {
            return auto();
        }
        int colon = s.indexOf(':');
        String type = colon < 0 ? s : s.substring(0, colon);
        if (!type.matches("[a-z][a-z0-9_]*")) {
            throw new IllegalArgumentException("cannot read device '" + text + "': use cpu, cuda, cuda:N or auto");
        }
        int index;
        try {
            index = colon < 0 ? 0 : Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("cannot read device '" + text + "': the index after ':' must be a number; use cpu, cuda, cuda:N or auto");
        }
        return new Device(type, index);
    }

    /**
     * Whether this is the host.
     *
     * @return true for {@code cpu}
     */
    public boolean isCpu() {
        return this.equals(CPU);
    }

    /**
     * The backend of this device, started on first use.
     *
     * @return the backend
     * @throws IllegalStateException when no provider serves this device type or the device cannot be used here
     */
    public Backend backend() {
        if (isCpu()) {
            return CpuBackend.instance();
        }
        if (equals(META)) {
            return MetaBackend.instance();
        }
        return BACKENDS.computeIfAbsent(this, d -> {
            BackendProvider p = provider(type).orElseThrow(() -> new IllegalStateException("no backend for device "
                    + d + " on the class path; use Device.cpu() or add the module that provides '" + type + "'"));
            p.unavailableReason(index).ifPresent(why -> {
                throw new IllegalStateException("device " + d + " cannot be used: " + why);
            });
            return p.open(index);
        });
    }

    /**
     * Allocated and peak tensor bytes on this device (zero for a device not used yet).
     *
     * @return the memory statistics
     */
    public MemoryStats memory() {
        Backend be = isCpu() ? CpuBackend.instance() : BACKENDS.get(this);
        return be == null ? new MemoryStats(0, 0) : be.memory();
    }

    /**
     * Host transfers and driver allocations this device's backend has made so far ({@link DeviceCounters#NONE} for
     * a device not used yet and for the CPU): snapshots around a training step show whether it did hidden host work.
     *
     * @return the running totals
     */
    public DeviceCounters counters() {
        Backend be = isCpu() ? CpuBackend.instance() : BACKENDS.get(this);
        return be == null ? DeviceCounters.NONE : be.counters();
    }

    private static Optional<BackendProvider> provider(String type) {
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            if (p.deviceType().equals(type)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return isCpu() ? "cpu" : type + ":" + index;
    }
}
