package dev.finetune4j.core.optim;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The L2 norms of many tensors, each computed on its device into one element of a per-device vector that is
 * copied to the host once (not once per tensor: a device read waits for the device). A norm is NaN or infinite
 * exactly when the tensor holds a NaN or an infinity (the squares are summed in double), which makes this the
 * finiteness check of a whole parameter set too.
 */
public final class TensorNorms {
    private TensorNorms() {
    }

    /**
     * {@code ||t||_2} of each tensor (summed in double, rounded to float32), in the order given.
     *
     * @param tensors contiguous F32 tensors, on any devices
     * @return one norm per tensor
     */
    public static float[] l2(List<Tensor> tensors) {
        Map<Device, List<Integer>> byDevice = new LinkedHashMap<>();
        for (int k = 0; k < tensors.size(); k++) {
            byDevice.computeIfAbsent(tensors.get(k).device(), d -> new ArrayList<>()).add(k);
        }
        float[] norms = new float[tensors.size()];
        try (var scope = TensorScope.open()) {
            for (Map.Entry<Device, List<Integer>> e : byDevice.entrySet()) {
                List<Integer> indices = e.getValue();
                float[] host = l2Vector(e.getKey(), indices.stream().map(tensors::get).toList()).toFloatArray();
                for (int j = 0; j < indices.size(); j++) {
                    norms[indices.get(j)] = host[j];
                }
            }
        }
        return norms;
    }

    /**
     * {@code ||t||_2} of each tensor as one vector on {@code device}, in the current scope, without reading it: for
     * callers that read it together with other values in one transfer.
     *
     * @param device where every tensor lives
     * @param tensors contiguous F32 tensors on {@code device}
     * @return the norms, (tensors.size())
     * @throws IllegalArgumentException when a tensor is on another device
     */
    public static Tensor l2Vector(Device device, List<Tensor> tensors) {
        Tensor out = Tensor.zeros(device, Shape.of(tensors.size()));
        for (int j = 0; j < tensors.size(); j++) {
            Tensor t = tensors.get(j);
            if (!t.device().equals(device)) {
                throw new IllegalArgumentException("norm vector on " + device + ": tensor " + j + " is on " + t.device()
                        + "; use l2(tensors), which groups tensors by device");
            }
        }
        device.backend().reductions().norms(tensors, out);
        return out;
    }
}
