package dev.finetune4j.serve;

import io.helidon.webserver.ServerConnectionException;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The event stream's wire format, and one signal for a client that went away. */
class SseStreamTest {

    @Test
    void eachEventIsOneDataLineAndABlankLineThenDone() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        SseStream sse = new SseStream(bytes, OpenAiJson.MAPPER);
        sse.send(OpenAiJson.MAPPER.createObjectNode().put("text", "é\n"));
        sse.done();
        assertEquals("data: {\"text\":\"é\\n\"}\n\ndata: [DONE]\n\n", bytes.toString(StandardCharsets.UTF_8));
    }

    /**
     * Helidon reports a broken pipe as its own unchecked exception; before it was translated, the load test's
     * clients that hung up made the handler log an error and try to send an error response into the open stream.
     */
    @Test
    void aConnectionHelidonClosedIsReportedLikeAnIoError() {
        OutputStream broken = new OutputStream() {
            @Override
            public void write(int b) {
                throw new ServerConnectionException("Failed to write chunked response data", new IOException("Broken pipe"));
            }
        };
        SseStream sse = new SseStream(broken, OpenAiJson.MAPPER);
        assertThrows(UncheckedIOException.class, sse::done);
        assertThrows(UncheckedIOException.class, () -> sse.send(OpenAiJson.MAPPER.createObjectNode()));
    }
}
