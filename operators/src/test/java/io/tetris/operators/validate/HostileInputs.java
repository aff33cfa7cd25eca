package io.tetris.operators.validate;

import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.GenerationRequest;
import io.tetris.schemas.SingleObjectCodec;
import io.tetris.schemas.TokenEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A table of hostile request values, each with the error code it must produce. The limits assume
 * {@link #MAX_PAYLOAD_BYTES}, 8 stop strings of at most 64 characters, request ids of at most
 * {@link #MAX_REQUEST_ID_LENGTH} characters, a 512-token context and at most 4096 new tokens. A
 * case without an id must produce an error without one.
 */
public final class HostileInputs {

    public static final int MAX_PAYLOAD_BYTES = 4096;

    /** The default of {@code tetris.limits.max-request-id-length}. */
    public static final int MAX_REQUEST_ID_LENGTH = 256;

    /** One bad value, its id (or null when the value carries none) and the expected code. */
    public record Case(String name, byte[] value, String requestId, ErrorCode code) {}

    private HostileInputs() {}

    public static List<Case> all() {
        List<Case> cases = new ArrayList<>();
        byte[] good = SingleObjectCodec.REQUEST.encode(request("avro-ok").build());
        cases.add(
                new Case(
                        "truncated avro",
                        Arrays.copyOf(good, good.length / 2),
                        null,
                        ErrorCode.TRUNCATED));
        cases.add(new Case("empty payload", new byte[0], null, ErrorCode.EMPTY_PAYLOAD));
        cases.add(new Case("random bytes", random(64), null, ErrorCode.UNKNOWN_FORMAT));
        cases.add(
                new Case(
                        "wrong schema fingerprint",
                        SingleObjectCodec.TOKEN_EVENT.encode(
                                TokenEvent.newBuilder().setRequestId("t").setSeq(0).build()),
                        null,
                        ErrorCode.UNKNOWN_SCHEMA));
        cases.add(
                json(
                        "malformed json",
                        "{\"request_id\":\"mj\",\"prompt\":",
                        "mj",
                        ErrorCode.MALFORMED_JSON));
        cases.add(json("json array", "[1, 2, 3]", null, ErrorCode.UNKNOWN_FORMAT));
        cases.add(
                json(
                        "wrong type",
                        "{\"request_id\":\"wt\",\"prompt\":\"x\",\"max_new_tokens\":\"ten\"}",
                        "wt",
                        ErrorCode.MALFORMED_JSON));
        cases.add(
                json(
                        "unknown field",
                        "{\"request_id\":\"uf\",\"prompt\":\"x\",\"temprature\":1}",
                        "uf",
                        ErrorCode.MALFORMED_JSON));
        cases.add(
                json(
                        "oversized json",
                        "{\"request_id\":\"big\",\"prompt\":\""
                                + "a".repeat(MAX_PAYLOAD_BYTES)
                                + "\"}",
                        null,
                        ErrorCode.PAYLOAD_TOO_LARGE));
        cases.add(
                json(
                        "missing request_id",
                        "{\"prompt\":\"hi\"}",
                        null,
                        ErrorCode.MISSING_REQUEST_ID));
        cases.add(
                json(
                        "empty request_id",
                        "{\"request_id\":\"\",\"prompt\":\"hi\"}",
                        null,
                        ErrorCode.MISSING_REQUEST_ID));
        cases.add(
                json(
                        "empty prompt",
                        "{\"request_id\":\"ep\",\"prompt\":\"\"}",
                        "ep",
                        ErrorCode.EMPTY_PROMPT));
        cases.add(
                json(
                        "prompt over the context",
                        "{\"request_id\":\"long\",\"prompt\":\"" + "b".repeat(500) + "\"}",
                        "long",
                        ErrorCode.PROMPT_TOO_LONG));
        cases.add(
                json(
                        "negative max_new_tokens",
                        "{\"request_id\":\"nm\",\"prompt\":\"x\",\"max_new_tokens\":-5}",
                        "nm",
                        ErrorCode.INVALID_MAX_NEW_TOKENS));
        cases.add(
                json(
                        "huge max_new_tokens",
                        "{\"request_id\":\"hm\",\"prompt\":\"x\",\"max_new_tokens\":1000000}",
                        "hm",
                        ErrorCode.INVALID_MAX_NEW_TOKENS));
        cases.add(
                new Case(
                        "NaN temperature",
                        SingleObjectCodec.REQUEST.encode(
                                request("nan").setTemperature(Float.NaN).build()),
                        "nan",
                        ErrorCode.INVALID_TEMPERATURE));
        cases.add(
                json(
                        "negative temperature",
                        "{\"request_id\":\"nt\",\"prompt\":\"x\",\"temperature\":-0.5}",
                        "nt",
                        ErrorCode.INVALID_TEMPERATURE));
        cases.add(
                json(
                        "top_p zero",
                        "{\"request_id\":\"p0\",\"prompt\":\"x\",\"top_p\":0}",
                        "p0",
                        ErrorCode.INVALID_TOP_P));
        cases.add(
                json(
                        "top_p above one",
                        "{\"request_id\":\"p2\",\"prompt\":\"x\",\"top_p\":1.5}",
                        "p2",
                        ErrorCode.INVALID_TOP_P));
        cases.add(
                json(
                        "negative top_k",
                        "{\"request_id\":\"k\",\"prompt\":\"x\",\"top_k\":-1}",
                        "k",
                        ErrorCode.INVALID_TOP_K));
        cases.add(
                json(
                        "max_draft_tokens below -1",
                        "{\"request_id\":\"md\",\"prompt\":\"x\",\"max_draft_tokens\":-2}",
                        "md",
                        ErrorCode.INVALID_MAX_DRAFT_TOKENS));
        cases.add(
                json(
                        "zero priority",
                        "{\"request_id\":\"pr\",\"prompt\":\"x\",\"priority\":0}",
                        "pr",
                        ErrorCode.INVALID_PRIORITY));
        cases.add(
                new Case(
                        "NaN priority",
                        SingleObjectCodec.REQUEST.encode(
                                request("nanp").setPriority(Double.NaN).build()),
                        "nanp",
                        ErrorCode.INVALID_PRIORITY));
        byte[] invalidUtf8 =
                "{\"request_id\":\"u8\",\"prompt\":\"ab__\"}".getBytes(StandardCharsets.UTF_8);
        int at = new String(invalidUtf8, StandardCharsets.UTF_8).indexOf("__");
        invalidUtf8[at] = (byte) 0xFF;
        invalidUtf8[at + 1] = (byte) 0xFE;
        cases.add(new Case("invalid utf-8", invalidUtf8, "u8", ErrorCode.INVALID_UTF8));
        cases.add(
                json(
                        "control characters",
                        "{\"request_id\":\"cc\",\"prompt\":\"bell \\u0007 here\"}",
                        "cc",
                        ErrorCode.CONTROL_CHARACTERS));
        StringBuilder stops = new StringBuilder();
        for (int i = 0; i < 20; i++) {
            stops.append(i == 0 ? "" : ",").append("\"s").append(i).append('"');
        }
        cases.add(
                json(
                        "oversized stop list",
                        "{\"request_id\":\"st\",\"prompt\":\"x\",\"stop\":[" + stops + "]}",
                        "st",
                        ErrorCode.TOO_MANY_STOP_STRINGS));
        cases.add(
                json(
                        "invalid prompt token id",
                        "{\"request_id\":\"ti\",\"prompt_token_ids\":[65,300]}",
                        "ti",
                        ErrorCode.INVALID_TOKEN_ID));
        cases.add(
                json(
                        "null request_id",
                        "{\"request_id\":null,\"prompt\":\"hi\"}",
                        null,
                        ErrorCode.MISSING_REQUEST_ID));
        cases.add(
                json(
                        "request_id over the length limit",
                        "{\"request_id\":\"" + "i".repeat(MAX_REQUEST_ID_LENGTH + 1) + "\"}",
                        null,
                        ErrorCode.REQUEST_ID_TOO_LONG));
        cases.add(
                json(
                        "empty stop string",
                        "{\"request_id\":\"es\",\"prompt\":\"x\",\"stop\":[\"\"]}",
                        "es",
                        ErrorCode.INVALID_STOP_STRING));
        cases.add(
                json(
                        "stop string over the length limit",
                        "{\"request_id\":\"ls\",\"prompt\":\"x\",\"stop\":[\"."
                                + "s".repeat(64)
                                + "\"]}",
                        "ls",
                        ErrorCode.INVALID_STOP_STRING));
        byte[] rawNul =
                "{\"request_id\":\"nul\",\"prompt\":\"a#b\"}".getBytes(StandardCharsets.UTF_8);
        rawNul[new String(rawNul, StandardCharsets.UTF_8).indexOf('#')] = 0;
        cases.add(new Case("raw NUL after the id", rawNul, "nul", ErrorCode.MALFORMED_JSON));
        cases.add(
                json(
                        "duplicate key after the id",
                        "{\"request_id\":\"dk\",\"prompt\":\"x\",\"prompt\":\"y\"}",
                        "dk",
                        ErrorCode.MALFORMED_JSON));
        cases.add(
                json(
                        "unpaired surrogate in request_id",
                        "{\"request_id\":\"ls\\ud800\",\"prompt\":\"x\"}",
                        null,
                        ErrorCode.INVALID_UTF8));
        return cases;
    }

    private static GenerationRequest.Builder request(String id) {
        return GenerationRequest.newBuilder()
                .setRequestId(id)
                .setPrompt("hello")
                .setMaxNewTokens(4);
    }

    private static Case json(String name, String json, String id, ErrorCode code) {
        return new Case(name, json.getBytes(StandardCharsets.UTF_8), id, code);
    }

    private static byte[] random(int n) {
        byte[] bytes = new byte[n];
        new SplittableRandom(5).nextBytes(bytes);
        bytes[0] = 'x'; // neither '{' nor the Avro magic
        return bytes;
    }
}
