package dev.finetune4j.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * A response of server-sent events as OpenAI streams them: each event one {@code data: <json>} line and a blank
 * line, flushed at once, and {@code data: [DONE]} at the end. Writing to a client that went away throws
 * {@link UncheckedIOException}, which ends the handler (and so cancels its generation).
 */
final class SseStream implements AutoCloseable {
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

    private final ObjectMapper json;
    private final OutputStream out;

    SseStream(ServerResponse response, ObjectMapper json) {
        this.json = json;
        response.header(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        response.header(HeaderNames.CACHE_CONTROL, "no-cache");
        this.out = response.outputStream();
    }

    /** Sends one event. */
    void send(JsonNode event) {
        try {
            write(("data: " + json.writeValueAsString(event) + "\n\n").getBytes(StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize an event: " + e.getMessage(), e);
        }
    }

    /** Sends the {@code [DONE]} marker that tells the client the stream is complete. */
    void done() {
        write(DONE);
    }

    private void write(byte[] bytes) {
        try {
            out.write(bytes);
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("the client closed the event stream: " + e.getMessage(), e);
        }
    }

    /** Ends the response. */
    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException("the client closed the event stream: " + e.getMessage(), e);
        }
    }
}
