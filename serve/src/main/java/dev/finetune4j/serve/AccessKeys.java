package dev.finetune4j.serve;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The optional bearer keys of the server: an API key for {@code /v1/*} and {@code /metrics}, and an admin key for
 * {@code /admin/*}. The
 * admin routes take the admin key when one is set, else the API key (so one key guards everything and a second one
 * keeps API clients out of the admin routes); a route whose key is not set is open. {@code /health} is always open.
 * Keys are kept only as SHA-256 digests and compared with {@link MessageDigest#isEqual}, so the comparison takes the
 * same time whatever the presented key is (its length included).
 */
final class AccessKeys {
    /** Which key a route takes. */
    enum Scope {
        /** The OpenAI routes under {@code /v1}. */
        API,
        /** The adapter routes under {@code /admin}. */
        ADMIN
    }

    private static final String BEARER = "Bearer ";

    private final byte[] apiKey;
    private final byte[] adminKey;

    /**
     * @param apiKey   the key of {@code /v1/*}, or null for none
     * @param adminKey the key of {@code /admin/*}, or null to take the API key there
     * @throws IllegalArgumentException when a key is empty or blank, or has characters a header cannot carry
     */
    AccessKeys(String apiKey, String adminKey) {
        this.apiKey = apiKey == null ? null : digest(checked(apiKey, "apiKey"));
        this.adminKey = adminKey == null ? this.apiKey : digest(checked(adminKey, "adminKey"));
    }

    /**
     * Lets a request to a route of {@code scope} through when it presents the route's key as
     * {@code Authorization: Bearer <key>}, or when the route has none.
     *
     * @throws ApiException 401 ({@code WWW-Authenticate: Bearer} set on {@code response}) when the key is missing or wrong
     */
    void check(ServerRequest request, ServerResponse response, Scope scope) {
        byte[] expected = scope == Scope.API ? apiKey : adminKey;
        if (expected == null) {
            return;
        }
        String header = request.headers().first(HeaderNames.AUTHORIZATION).orElse(null);
        String what = scope == Scope.API ? "the server's API key" : "the server's admin key";
        if (header == null || !header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            response.header(HeaderNames.WWW_AUTHENTICATE, "Bearer");
            throw ApiException.unauthorized("this route needs " + what + ": send the header 'Authorization: Bearer <key>' "
                    + "(OpenAI clients send their api key that way)");
        }
        if (!MessageDigest.isEqual(expected, digest(header.substring(BEARER.length()).strip()))) {
            response.header(HeaderNames.WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"");
            throw ApiException.unauthorized("the key sent in the Authorization header is not " + what
                    + (scope == Scope.ADMIN ? " (the admin routes take the admin key when one is set)" : ""));
        }
    }

    private static String checked(String key, String name) {
        if (key.isBlank()) {
            throw new IllegalArgumentException(name + " must not be blank; leave it unset for open routes");
        }
        if (!key.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException(name + " must be printable ASCII without spaces, as an HTTP header carries it");
        }
        return key;
    }

    private static byte[] digest(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
        }
    }
}
