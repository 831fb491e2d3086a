package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.KernelProfile;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The device time of each piece of work queued on one stream while profiling: a CUDA event is recorded just before
 * and just after each kernel, product, copy or memset, so that the time between the two is the work's own (an event
 * completes when the stream reaches it; time the device waited for the host falls before the first). Events are kept
 * for the next profile and destroyed on {@link #close()}. While not profiling, {@link #before()} is one volatile read.
 */
final class KernelTimer implements AutoCloseable {
    private final CudaDriver driver;
    private final CudaContext context;
    private final List<MemorySegment> pool = new ArrayList<>();
    private final List<Timed> timed = new ArrayList<>();
    private CudaEvents events;
    private int recorded;
    private volatile boolean running;

    /** One piece of work: the indexes of the events around it, and what it was. */
    private record Timed(int before, int after, Supplier<String> label) {
    }

    KernelTimer(CudaDriver driver, CudaContext context) {
        this.driver = driver;
        this.context = context;
    }

    /** Starts a profile; its first event marks the start of the wall time. */
    synchronized void start() {
        if (running) {
            throw new IllegalStateException("profiling has already started on this device; stop it first");
        }
        if (events == null) {
            events = driver.events();
        }
        timed.clear();
        recorded = 0;
        record();
        running = true;
    }

    /**
     * Marks the start of a piece of work about to be queued.
     *
     * @return the mark to hand to {@link #after}, or -1 when not profiling
     */
    int before() {
        return running ? mark() : -1;
    }

    /** Marks the end of the work queued since {@code before}, which {@code label} names (asked only when stopping). */
    void after(int before, Supplier<String> label) {
        if (before >= 0) {
            end(before, label);
        }
    }

    private synchronized int mark() {
        return running ? record() : -1;
    }

    private synchronized void end(int before, Supplier<String> label) {
        if (running) {
            timed.add(new Timed(before, record(), label));
        }
    }

    /** Waits for the work queued so far and sums each label's time. */
    synchronized KernelProfile stop() {
        if (!running) {
            throw new IllegalStateException("profiling has not started on this device; call startProfiling first");
        }
        running = false;
        int end = record();
        events.synchronize(pool.get(end));
        Map<String, double[]> byLabel = new LinkedHashMap<>();
        for (Timed t : timed) {
            double[] callsAndMs = byLabel.computeIfAbsent(t.label().get(), k -> new double[2]);
            callsAndMs[0]++;
            callsAndMs[1] += events.elapsedMs(pool.get(t.before()), pool.get(t.after()));
        }
        List<KernelProfile.Entry> entries = new ArrayList<>();
        byLabel.forEach((name, v) -> entries.add(new KernelProfile.Entry(name, (long) v[0], v[1])));
        KernelProfile profile = new KernelProfile(events.elapsedMs(pool.getFirst(), pool.get(end)), entries);
        timed.clear();
        return profile;
    }

    /** Records the next event of the pool (made when the pool runs out) on the stream. */
    private int record() {
        if (recorded == pool.size()) {
            context.enter();
            pool.add(events.create());
        }
        MemorySegment event = pool.get(recorded);
        events.record(event, context.stream());
        return recorded++;
    }

    @Override
    public synchronized void close() {
        running = false;
        if (events != null && !pool.isEmpty()) {
            context.enter();
            pool.forEach(events::destroy);
        }
        pool.clear();
    }
}
