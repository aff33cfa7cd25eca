package io.tetris.job.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tetris.job.kafka.KafkaClientSettings;
import io.tetris.job.kafka.KafkaTopics;
import io.tetris.job.kafka.SharedKafka;
import io.tetris.job.kafka.TopicNames;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * A gateway started before the job's topics exist, or before its broker answers, serves HTTP at
 * once and waits: completions are 503 {@code NOT_READY} naming what it waits for, with {@code
 * Retry-After}, and {@code /health} is 503, until Kafka and the topics are there.
 */
class GatewayWaitsForKafkaITCase {

    private static final String MODEL = "waiting-model";
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    void missingTopicsAre503UntilTheyExistThenRequestsGoToKafka() throws Exception {
        TopicNames topics = TopicNames.withPrefix("gateway-wait-" + UUID.randomUUID());
        try (Gateway gateway =
                Gateway.start(
                        GatewayConfig.of(0, MODEL, Duration.ofMillis(1500)),
                        SharedKafka.settings(),
                        topics)) {
            assertThat(gateway.ready()).isFalse();
            HttpResponse<String> waiting = complete(gateway);
            assertThat(waiting.statusCode()).isEqualTo(503);
            assertThat(waiting.headers().firstValue("Retry-After")).hasValue("1");
            JsonNode error = MAPPER.readTree(waiting.body()).get("error");
            assertThat(error.get("code").asText()).isEqualTo(ApiError.NOT_READY);
            assertThat(error.get("message").asText())
                    .contains(topics.requests(), topics.tokens(), topics.results());
            HttpResponse<String> health = get(gateway, "/health");
            assertThat(health.statusCode()).isEqualTo(503);
            assertThat(health.body()).contains("waiting for Kafka topics", topics.errors());
            assertThat(get(gateway, "/v1/models").statusCode()).isEqualTo(200);

            KafkaTopics.ensureExist(
                    SharedKafka.settings(), topics, 1, (short) 1, Duration.ofSeconds(30));
            GatewayITCase.awaitTrue(gateway::ready);
            assertThat(get(gateway, "/health").statusCode()).isEqualTo(200);
            // No job serves these topics: the request is sent and times out, it is not refused.
            HttpResponse<String> sent = complete(gateway);
            assertThat(sent.statusCode()).isEqualTo(504);
            // Counted just after the answer is written, so maybe not yet when the client has it;
            // as a timeout, also over HTTP/2 (this client's), whose stream closes with the answer.
            GatewayITCase.awaitTrue(() -> gateway.stats().timedOut() == 1);
        }
    }

    @Test
    void anUnreachableBrokerIs503NamingItAndCloseStopsTheWait() throws Exception {
        String bootstrap = "localhost:" + freePort();
        try (Gateway gateway =
                Gateway.start(
                        GatewayConfig.of(0, MODEL, Duration.ofSeconds(5)),
                        KafkaClientSettings.of(bootstrap),
                        TopicNames.withPrefix("gateway-nobroker"))) {
            HttpResponse<String> waiting = complete(gateway);
            assertThat(waiting.statusCode()).isEqualTo(503);
            JsonNode error = MAPPER.readTree(waiting.body()).get("error");
            assertThat(error.get("code").asText()).isEqualTo(ApiError.NOT_READY);
            assertThat(error.get("message").asText()).contains("Kafka at " + bootstrap);
            assertThat(get(gateway, "/health").statusCode()).isEqualTo(503);
            assertThat(gateway.stats().inFlight()).isZero();
        }
        assertThat(
                        Thread.getAllStackTraces().keySet().stream()
                                .filter(t -> t.getName().equals("gateway-kafka-connect"))
                                .filter(Thread::isAlive))
                .as("the thread that waits for Kafka ends with the gateway")
                .isEmpty();
    }

    private static HttpResponse<String> complete(Gateway gateway) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create(gateway.baseUrl() + "/completions"))
                        .header("Content-Type", "application/json")
                        .POST(
                                HttpRequest.BodyPublishers.ofString(
                                        "{\"model\": \"" + MODEL + "\", \"prompt\": \"Hi\"}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(Gateway gateway, String path) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.port() + path))
                        .GET()
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
