package dev.finetune4j.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * A response of server-sent events as OpenAI streams them: each event one {@code data: <json>} line and a blank
 * line, flushed at once, and {@code data: [DONE]} at the end. Writing to a client that went away throws
 * {@link UncheckedIOException}, whether the socket reported it as an {@link IOException} or Helidon as its
 * {@link CloseConnectionException}, so the handler has one signal to end on (and so cancel its generation).
 */
final class SseStream implements AutoCloseable {
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

    private final ObjectMapper json;
    private final OutputStream out;

    SseStream(OutputStream out, ObjectMapper json) {
        this.out = out;
        this.json = json;
    }

    /** Starts the event stream of {@code response}: its headers, then its body stream. */
    static SseStream open(ServerResponse response, ObjectMapper json) {
        response.header(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        response.header(HeaderNames.CACHE_CONTROL, "no-cache");
        return new SseStream(response.outputStream(), json);
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
        } catch (IOException | CloseConnectionException e) {
            throw clientGone(e);
        }
    }

    private static UncheckedIOException clientGone(Exception e) {
        return new UncheckedIOException("the client closed the event stream: " + e.getMessage(),
                e instanceof IOException io ? io : new IOException(e));
    }

    /** Ends the response. */
    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException | CloseConnectionException e) {
            throw clientGone(e);
        }
    }
}
