package dev.finetune4j.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** An exported classifier in one ONNX Runtime session, fed as Optimum's ORTModelForSequenceClassification feeds it. */
final class OrtClassifier implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    OrtClassifier(Path modelFile) throws OrtException {
        this.session = env.createSession(modelFile.toString(), new OrtSession.SessionOptions());
    }

    /** The graph's input names, in its order. */
    List<String> inputNames() throws OrtException {
        return session.getInputInfo().keySet().stream().toList();
    }

    /** Logits [batch][labels]; {@code tokenTypes} is fed only where the graph takes token_type_ids. */
    float[][] logits(long[][] ids, long[][] mask, long[][] tokenTypes) throws OrtException {
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put("input_ids", OnnxTensor.createTensor(env, ids));
            inputs.put("attention_mask", OnnxTensor.createTensor(env, mask));
            if (session.getInputNames().contains(EncoderGraph.TOKEN_TYPE_IDS)) {
                inputs.put(EncoderGraph.TOKEN_TYPE_IDS, OnnxTensor.createTensor(env, tokenTypes));
            }
            try (OrtSession.Result result = session.run(inputs)) {
                return (float[][]) result.get("logits").orElseThrow().getValue();
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
