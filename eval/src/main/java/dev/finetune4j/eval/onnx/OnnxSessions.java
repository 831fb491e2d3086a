package dev.finetune4j.eval.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Opens ONNX Runtime sessions and feeds them token batches; the only class of eval that chooses an
 * execution provider. The CUDA provider is tried first unless the CPU is forced: it loads when the
 * {@code com.microsoft.onnxruntime:onnxruntime_gpu} artifact, its CUDA libraries and a GPU are present; otherwise
 * the model runs on the CPU. One log line per session says which provider runs it and, for the CPU, why.
 * Stateless and thread-safe.
 */
final class OnnxSessions {
    private static final Logger LOG = LoggerFactory.getLogger(OnnxSessions.class);

    private OnnxSessions() {
    }

    /** A session with the provider it runs on. */
    record Opened(OrtSession session, ExecutionProvider provider) {
    }

    static Opened open(Path model, boolean tryCuda, int deviceId) {
        if (!Files.isRegularFile(model)) {
            throw new IllegalArgumentException("no ONNX model at " + model.toAbsolutePath());
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        String why = "the CPU was asked for (cuda(false))";
        if (tryCuda) {
            // NOTE: the CPU artifact fails in addCUDA; the GPU artifact without a usable GPU may fail only when the
            // session is created, so both steps count as "CUDA did not load".
            try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                options.addCUDA(deviceId);
                OrtSession session = env.createSession(model.toString(), options);
                LOG.info("ONNX Runtime: CUDA execution provider on device {} for {}", deviceId, model.getFileName());
                return new Opened(session, ExecutionProvider.CUDA);
            } catch (OrtException | UnsatisfiedLinkError | IllegalArgumentException e) {
                why = "the CUDA execution provider did not load: " + e.getMessage() + "; " + cudaAdvice(
                        OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA));
            }
        }
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            OrtSession session = env.createSession(model.toString(), options);
            LOG.info("ONNX Runtime: CPU execution provider for {} ({})", model.getFileName(), why);
            return new Opened(session, ExecutionProvider.CPU);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime cannot load " + model + ": " + e.getMessage(), e);
        }
    }

    /**
     * What to do when the CUDA provider did not load: with the CPU artifact, change the artifact; with the GPU
     * artifact (its native library has the provider), supply the CUDA libraries it links against.
     */
    private static String cudaAdvice(boolean artifactHasCuda) {
        return artifactHasCuda
                ? "the onnxruntime_gpu artifact is on the class path, so its CUDA 12 and cuDNN 9 libraries were not"
                        + " found or no GPU is usable: put their folders on LD_LIBRARY_PATH (ONNX Runtime's own log"
                        + " names the library it could not open)"
                : "the class path has the CPU artifact (onnxruntime), which has no CUDA provider: for the GPU use"
                        + " com.microsoft.onnxruntime:onnxruntime_gpu, with CUDA 12 and cuDNN 9 libraries";
    }

    /** Reads what a model needs from one run's outputs. */
    @FunctionalInterface
    interface ResultReader<T> {
        T read(OrtSession.Result result) throws OrtException;
    }

    /**
     * Runs {@code session} on one batch of token ids and returns what {@code reader} takes from the outputs;
     * the input tensors and the result are closed afterwards, whatever happens.
     *
     * @param what the batch's items in the error message, e.g. "sequences" or "texts"
     * @throws IllegalStateException when ONNX Runtime fails
     */
    static <T> T run(OrtSession session, long[][] ids, long[][] mask, String what, ResultReader<T> reader) {
        Map<String, OnnxTensor> in = null;
        try {
            in = inputs(session, ids, mask);
            try (OrtSession.Result result = session.run(in)) {
                return reader.read(result);
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed on a batch of " + ids.length + " " + what + ": " + e.getMessage(), e);
        } finally {
            if (in != null) {
                in.values().forEach(OnnxTensor::close);
            }
        }
    }

    /** Closes a session, turning ONNX Runtime's checked exception into an unchecked one. */
    static void close(OrtSession session) {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException("cannot close the ONNX session: " + e.getMessage(), e);
        }
    }

    /**
     * The session's inputs for a batch: {@code input_ids}, {@code attention_mask} (all ones when null) and,
     * if the model has it, {@code token_type_ids} (zeros). The caller closes the tensors.
     */
    private static Map<String, OnnxTensor> inputs(OrtSession session, long[][] ids, long[][] mask) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> in = new HashMap<>();
        for (String name : session.getInputNames()) {
            long[][] value = switch (name) {
                case "input_ids" -> ids;
                case "attention_mask" -> mask != null ? mask : filled(ids, 1);
                case "token_type_ids" -> filled(ids, 0);
                default -> throw new IllegalArgumentException("unsupported ONNX input '" + name
                        + "'; expected input_ids, attention_mask and optionally token_type_ids");
            };
            in.put(name, OnnxTensor.createTensor(env, value));
        }
        return in;
    }

    private static long[][] filled(long[][] like, long value) {
        long[][] out = new long[like.length][];
        for (int i = 0; i < like.length; i++) {
            out[i] = new long[like[i].length];
            java.util.Arrays.fill(out[i], value);
        }
        return out;
    }
}
