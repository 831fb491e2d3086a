package dev.finetune4j.core.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Map;

import static dev.finetune4j.core.backend.cuda.NativeFunctions.INT;
import static dev.finetune4j.core.backend.cuda.NativeFunctions.LONG;
import static dev.finetune4j.core.backend.cuda.NativeFunctions.PTR;

/**
 * The NCCL calls finetune4j uses ({@code libnccl.so.2}): communicators made from a unique id, all-reduce and
 * broadcast queued on a CUDA stream, group calls, and the communicator's asynchronous error. Each failed
 * {@code ncclResult_t} becomes a {@link CudaException} naming the call and NCCL's error name and string.
 * Communicators are {@link MemorySegment} addresses; device buffers are {@code long} addresses.
 */
final class Nccl {
    /** The sonames finetune4j loads: NCCL 2's ABI, which pip's {@code nvidia-nccl-cu12/13} and libnccl2 ship. */
    static final List<String> SONAMES = List.of("libnccl.so.2");
    /** NCCL_UNIQUE_ID_BYTES: the size of an {@code ncclUniqueId}, which is passed by value. */
    static final int UNIQUE_ID_BYTES = 128;
    /** ncclResult_t. */
    static final int SUCCESS = 0;
    static final int IN_PROGRESS = 7;
    /** ncclDataType_t. */
    static final int UINT8 = 1;
    static final int FLOAT32 = 7;
    /** ncclRedOp_t. */
    static final int SUM = 0;

    /** ncclResult_t's names by value, for messages (a newer library's unknown code is reported by number). */
    private static final List<String> RESULT_NAMES = List.of("ncclSuccess", "ncclUnhandledCudaError",
            "ncclSystemError", "ncclInternalError", "ncclInvalidArgument", "ncclInvalidUsage", "ncclRemoteError",
            "ncclInProgress", "ncclTimeout");
    /** {@code typedef struct { char internal[128]; } ncclUniqueId;} */
    static final StructLayout UNIQUE_ID = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(UNIQUE_ID_BYTES, ValueLayout.JAVA_BYTE).withName("internal"));

    private final MethodHandle getVersion, getUniqueId, commInitRank, commDestroy, commAbort, commGetAsyncError,
            allReduce, broadcast, groupStart, groupEnd, errorString;

    Nccl(SymbolLookup libnccl) {
        this(new NativeFunctions(libnccl, "libnccl"));
    }

    /** The binding through {@code f}'s handles (a test's stand-ins where there is no GPU). */
    Nccl(NativeFunctions f) {
        getVersion = f.status("ncclGetVersion", PTR);
        getUniqueId = f.status("ncclGetUniqueId", PTR);
        commInitRank = f.status("ncclCommInitRank", PTR, INT, UNIQUE_ID, INT);
        commDestroy = f.status("ncclCommDestroy", PTR);
        commAbort = f.status("ncclCommAbort", PTR);
        commGetAsyncError = f.status("ncclCommGetAsyncError", PTR, PTR);
        allReduce = f.status("ncclAllReduce", PTR, PTR, LONG, INT, INT, PTR, PTR);
        broadcast = f.status("ncclBroadcast", PTR, PTR, LONG, INT, INT, PTR, PTR);
        groupStart = f.status("ncclGroupStart");
        groupEnd = f.status("ncclGroupEnd");
        errorString = f.handle("ncclGetErrorString", FunctionDescriptor.of(PTR, INT));
    }

    /**
     * Loads NCCL where {@link LibraryFinder} looks (by soname, the CUDA and pip {@code nvidia/nccl/lib} folders,
     * {@code FINETUNE4J_CUDA_LIBS}), into {@code arena}.
     *
     * @throws LibraryFinder.NotFound listing the places tried
     */
    static Nccl load(Map<String, String> env, Arena arena) throws LibraryFinder.NotFound {
        return new Nccl(LibraryFinder.load("NCCL", SONAMES, LibraryFinder.usualFolders(env), env.get(LibraryFinder.ENV),
                arena));
    }

    /** The loaded library's version, {@code "2.28.5"}, for messages. */
    String version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            check("ncclGetVersion", CudaDriver.call(getVersion, out));
            return versionName(out.get(INT, 0));
        }
    }

    /**
     * NCCL_VERSION_CODE as major.minor.patch: {@code X*10000 + Y*100 + Z} since 2.9, {@code X*1000 + Y*100 + Z}
     * before (nccl.h's NCCL_VERSION macro).
     */
    static String versionName(int code) {
        int major = code >= 10000 ? code / 10000 : code / 1000;
        int minor = code >= 10000 ? code % 10000 / 100 : code % 1000 / 100;
        return major + "." + minor + "." + code % 100;
    }

    /** A new unique id, made once by one rank and handed to every rank for {@link #commInitRank}. */
    byte[] uniqueId() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment id = a.allocate(UNIQUE_ID);
            check("ncclGetUniqueId", CudaDriver.call(getUniqueId, id));
            return id.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /**
     * Joins communicator {@code id} as {@code rank} of {@code ranks}, on the device of the calling thread's current
     * context; blocks until every rank has joined.
     */
    MemorySegment commInitRank(int ranks, byte[] id, int rank) {
        if (id.length != UNIQUE_ID_BYTES) {
            throw new IllegalArgumentException("an NCCL unique id has " + UNIQUE_ID_BYTES + " bytes, not " + id.length);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            MemorySegment idValue = a.allocate(UNIQUE_ID).copyFrom(MemorySegment.ofArray(id));
            check("ncclCommInitRank(rank " + rank + " of " + ranks + ")",
                    CudaDriver.call(commInitRank, out, ranks, idValue, rank));
            return out.get(PTR, 0);
        }
    }

    /** Frees the communicator once its queued operations are done. */
    void commDestroy(MemorySegment comm) {
        check("ncclCommDestroy", CudaDriver.call(commDestroy, comm));
    }

    /** Frees the communicator and stops its operations still running on the device. */
    void commAbort(MemorySegment comm) {
        check("ncclCommAbort", CudaDriver.call(commAbort, comm));
    }

    /** The communicator's asynchronous error: {@link #SUCCESS} while it is healthy. */
    int asyncError(MemorySegment comm) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            check("ncclCommGetAsyncError", CudaDriver.call(commGetAsyncError, comm, out));
            return out.get(INT, 0);
        }
    }

    /** Queues the in-place sum over the ranks of {@code count} values of {@code datatype} at {@code buffer}. */
    void allReduceSumInPlace(long buffer, long count, int datatype, MemorySegment comm, MemorySegment stream) {
        MemorySegment b = MemorySegment.ofAddress(buffer);
        int status = CudaDriver.call(allReduce, b, b, count, datatype, SUM, comm, stream);
        if (status != SUCCESS) {
            check("ncclAllReduce(" + count + " values of ncclDataType_t " + datatype + ")", status);
        }
    }

    /** Queues the in-place copy of rank {@code root}'s {@code bytes} bytes at {@code buffer} to every rank. */
    void broadcastInPlace(long buffer, long bytes, int root, MemorySegment comm, MemorySegment stream) {
        MemorySegment b = MemorySegment.ofAddress(buffer);
        int status = CudaDriver.call(broadcast, b, b, bytes, UINT8, root, comm, stream);
        if (status != SUCCESS) {
            check("ncclBroadcast(" + bytes + " bytes from rank " + root + ")", status);
        }
    }

    /** Starts a group: the operations up to {@link #groupEnd} are launched together. */
    void groupStart() {
        check("ncclGroupStart", CudaDriver.call(groupStart));
    }

    void groupEnd() {
        check("ncclGroupEnd", CudaDriver.call(groupEnd));
    }

    /**
     * The message of an asynchronous error {@link #asyncError} reported: {@code "an operation of the communicator
     * failed: ncclRemoteError (remote process exited or there was a network error, code 6)"}.
     */
    String describeAsync(int status) {
        return CudaException.describe("an operation of the communicator", status, name(status), text(status));
    }

    /** Throws a {@link CudaException} naming {@code what} and NCCL's error unless {@code status} is success. */
    private void check(String what, int status) {
        if (status != SUCCESS) {
            throw new CudaException(CudaException.describe(what, status, name(status), text(status)), status);
        }
    }

    private static String name(int status) {
        return status >= 0 && status < RESULT_NAMES.size() ? RESULT_NAMES.get(status) : null;
    }

    private String text(int status) {
        try {
            MemorySegment s = (MemorySegment) errorString.invokeExact(status);
            return s.equals(MemorySegment.NULL) ? null : s.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            return null;
        }
    }
}
