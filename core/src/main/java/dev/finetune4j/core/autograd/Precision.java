package dev.finetune4j.core.autograd;

/**
 * The number formats of a forward pass, chosen per thread: {@code try (var p = Precision.BF16_MIXED.use()) {
 * model.forward(...) }}. Trainers set it from their configuration; {@link #F32} is the default and computes
 * exactly what it computed before this option existed.
 *
 * <p>It lives with the autograd ops because they honour it: each op decides at its output whether the value is
 * an activation in bf16 or a float32 value, and casts the operands of its products before handing them to the
 * backend. The backend kernels themselves stay dtype-driven.
 *
 * <p>Under {@link #BF16_MIXED}, the boundaries (the same on every device, so that the CPU is the reference a GPU
 * backend is checked against):
 * <ul>
 *   <li><b>Rounded to bf16 at the output</b>: linear and batched matrix products, low-rank (LoRA) updates and
 *       their rank-r intermediate, embedding lookups, RMSNorm and LayerNorm, rotary embeddings, attention, and the
 *       activations (SiLU, GELU, ..., SwiGLU).</li>
 *   <li><b>Operands cast to bf16</b>: every float32 operand of a product (inputs, weights, biases, LoRA's A and
 *       B), the weight and bias of a norm, and attention's q, k and v. The cast is a new tensor: a parameter is
 *       never rounded in place, so trainable weights keep their float32 master values, and their gradients flow
 *       back to those masters in float32. A weight's cast serves one product and is freed after it (the backward
 *       casts again). An NF4 weight (QLoRA) multiplies as bf16 values, as bitsandbytes does for its bf16 compute
 *       dtype: the product dequantizes it a block of rows at a time and rounds the block to bf16 beside its bf16
 *       operand. Operands already stored as bf16 or f16 (a checkpoint's frozen weights) are read as they are.</li>
 *   <li><b>Float32</b>: accumulation inside every kernel; elementwise arithmetic and broadcasting (the residual
 *       stream, as Megatron-LM's {@code fp32_residual_connection}), reductions, softmax and log-softmax,
 *       cross-entropy and the losses, dropout, concatenation; the gradients of the backward pass (of activations
 *       and of parameters), except the gradients SwiGLU and rotary embeddings hand back for their inputs (bf16
 *       activations), which they write as bf16, as PyTorch keeps the gradient of a bf16 activation: in a decoder
 *       only the gate, up, q and k projections' products read them, and those round them anyway; optimizer state
 *       and updates.</li>
 *   <li><b>The backward's products</b> (the input and weight gradients of linear and batched products, of LoRA
 *       updates and of the chunked output head) read the incoming gradient rounded to bf16, as PyTorch's autocast
 *       backward multiplies bf16 gradients, with float32 accumulation and float32 results: on a GPU a product with a
 *       float32 operand would not run on the tensor cores. Bias gradients sum the float32 gradient.</li>
 * </ul>
 * Rounding is round-to-nearest-even ({@link dev.finetune4j.core.tensor.DTypeConversions#floatToBf16}).
 *
 * <p>The rounded activations are stored as bf16 tensors on every device, and the float32 result each op computed
 * them from is freed at once: a kernel widens a bf16 input to float32, which is exact, so the numbers are those of
 * float32 tensors holding bf16 values, at half the memory. The casts of float32 operands are bf16 tensors too. A
 * frozen float32 weight is rounded at each use; load the model with {@code LoadOptions.dtype(BF16)} to keep frozen
 * weights in bf16 once.
 */
public enum Precision {
    /** Everything in float32 (the default). */
    F32,
    /** bf16 activations and products with float32 accumulation, float32 master weights, gradients and optimizer. */
    BF16_MIXED;

    private static final ThreadLocal<Precision> CURRENT = ThreadLocal.withInitial(() -> F32);
    /** The innermost open {@link Scope} of each thread, so that a scope closed out of turn is refused. */
    private static final ThreadLocal<Scope> INNERMOST = new ThreadLocal<>();

    /**
     * The precision of ops on this thread.
     *
     * @return the precision set by the innermost open {@link #use()}, else {@link #F32}
     */
    public static Precision current() {
        return CURRENT.get();
    }

    /**
     * Makes this the precision of ops on this thread until the returned handle is closed; nests. Close the handles
     * on the same thread, innermost first (try-with-resources does both).
     *
     * @return the handle that restores the previous precision when closed
     */
    public Scope use() {
        Scope scope = new Scope(CURRENT.get(), INNERMOST.get());
        INNERMOST.set(scope);
        CURRENT.set(this);
        return scope;
    }

    /**
     * Handle returned by {@link #use()}; closing it restores the precision that was current before. Not thread-safe:
     * it belongs to the thread that opened it.
     */
    public static final class Scope implements AutoCloseable {
        private final Precision previous;
        private final Scope outer;
        private final Thread owner = Thread.currentThread();
        private boolean closed;

        private Scope(Precision previous, Scope outer) {
            this.previous = previous;
            this.outer = outer;
        }

        /**
         * Restores the precision that was current when this handle was made; a second close does nothing.
         *
         * @throws IllegalStateException when called from another thread than the one that opened it (the precision is
         *                               per thread: that thread's would stay set), or while a handle opened after this
         *                               one is still open (restoring now would leave the wrong precision after both
         *                               are closed)
         */
        @Override
        public void close() {
            if (closed) {
                return;
            }
            if (Thread.currentThread() != owner) {
                throw new IllegalStateException("a Precision scope must be closed by the thread that opened it ('"
                        + owner.getName() + "'), not by '" + Thread.currentThread().getName() + "'");
            }
            if (INNERMOST.get() != this) {
                throw new IllegalStateException("Precision scopes must be closed innermost first: one opened after this "
                        + "one (for " + CURRENT.get() + ") is still open; use try-with-resources");
            }
            closed = true;
            INNERMOST.set(outer);
            CURRENT.set(previous);
        }
    }
}
