package dev.finetune4j.spark;

import dev.finetune4j.data.format.BadLine;
import dev.finetune4j.data.pipeline.InputReport;
import dev.finetune4j.data.pipeline.StepCounter;
import dev.finetune4j.data.record.Record;
import org.apache.spark.sql.Encoder;
import org.apache.spark.sql.catalyst.encoders.AgnosticEncoders;
import org.apache.spark.sql.catalyst.encoders.Codec;
import scala.Function0;
import scala.reflect.ClassTag$;

import java.io.Serializable;

/**
 * Encoders that carry a run's objects as one binary column written by {@link Bytes}, a few bytes of framing around
 * the text, instead of {@code Encoders.javaSerialization} (a new object stream per row with the class descriptors
 * of the record, its maps and its source), which took a quarter of the executors' time and most of the shuffle
 * bytes. They are built like Spark's own Java-serialization and Kryo encoders: a transforming encoder over a
 * binary column with a codec.
 */
final class BinaryEncoders {
    /** {@link Record}s. */
    static final Encoder<Record> RECORD = of(Record.class, RecordBytes::write, RecordBytes::read);
    /** {@link ReadItem}s. */
    static final Encoder<ReadItem> READ_ITEM = of(ReadItem.class, BinaryEncoders::writeItem, BinaryEncoders::readItem);
    /** {@link Flow}s. */
    static final Encoder<Flow> FLOW = of(Flow.class, BinaryEncoders::writeFlow, BinaryEncoders::readFlow);

    private BinaryEncoders() {
    }

    /**
     * Writes one value.
     *
     * @param <T> the value's type
     */
    interface Writer<T> extends Serializable {
        void write(Bytes.Out out, T value);
    }

    /**
     * Reads back what a {@link Writer} wrote.
     *
     * @param <T> the value's type
     */
    interface Reader<T> extends Serializable {
        T read(Bytes.In in);
    }

    static <T> Encoder<T> of(Class<T> type, Writer<T> writer, Reader<T> reader) {
        Function0<Codec<? super T, byte[]>> codec = (Function0<Codec<? super T, byte[]>> & Serializable)
                () -> new BytesCodec<>(writer, reader);
        return new AgnosticEncoders.TransformingEncoder<>(ClassTag$.MODULE$.apply(type),
                AgnosticEncoders.BinaryEncoder$.MODULE$, codec, false);
    }

    private record BytesCodec<T>(Writer<T> writer, Reader<T> reader) implements Codec<T, byte[]> {
        @Override
        public byte[] encode(T value) {
            Bytes.Out out = new Bytes.Out();
            writer.write(out, value);
            return out.toByteArray();
        }

        @Override
        public T decode(byte[] bytes) {
            return reader.read(new Bytes.In(bytes));
        }
    }

    static void writeItem(Bytes.Out out, ReadItem item) {
        out.writeVarLong(item.input());
        out.writeLong(item.order());
        if (item.record() != null) {
            out.writeByte(0);
            RecordBytes.write(out, item.record());
        } else if (item.bad() != null) {
            BadLine b = item.bad();
            out.writeByte(b.raw() == null ? 1 : 2);
            out.writeString(b.file());
            out.writeVarLong(b.line());
            out.writeString(b.reason());
            if (b.raw() != null) {
                out.writeString(b.raw());
            }
        } else {
            InputReport r = item.report();
            out.writeByte(3);
            out.writeString(r.file());
            out.writeString(r.sha256());
            out.writeVarLong(r.bytes());
            out.writeVarLong(r.records());
            out.writeVarLong(r.quarantined());
        }
    }

    static ReadItem readItem(Bytes.In in) {
        int input = (int) in.readVarLong();
        long order = in.readLong();
        int kind = in.readByte();
        return switch (kind) {
            case 0 -> new ReadItem(input, order, RecordBytes.read(in), null, null);
            case 1, 2 -> new ReadItem(input, order, null, new BadLine(in.readString(), in.readVarLong(),
                    in.readString(), kind == 2 ? in.readString() : null), null);
            default -> new ReadItem(input, order, null, null, new InputReport(in.readString(), in.readString(),
                    in.readVarLong(), in.readVarLong(), in.readVarLong()));
        };
    }

    private static void writeFlow(Bytes.Out out, Flow flow) {
        out.writeLong(flow.order());
        if (flow.record() != null) {
            out.writeByte(0);
            RecordBytes.write(out, flow.record());
        } else {
            // NOTE: once per partition, so Java serialization (which also carries each counter's step) costs nothing
            out.writeByte(1);
            out.writeSerialized(flow.counters());
        }
    }

    private static Flow readFlow(Bytes.In in) {
        long order = in.readLong();
        return in.readByte() == 0 ? new Flow(order, RecordBytes.read(in), null)
                : new Flow(order, null, (StepCounter[]) in.readSerialized());
    }
}
