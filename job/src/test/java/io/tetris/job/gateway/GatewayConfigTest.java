package io.tetris.job.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class GatewayConfigTest {

    @Test
    void acceptsSensibleSettings() {
        GatewayConfig config =
                new GatewayConfig(
                        " 0.0.0.0 ", 8000, "tetris", Duration.ofSeconds(30), 10, 16, 1024);
        assertThat(config.host()).isEqualTo("0.0.0.0");
        assertThat(config.withMaxInFlight(3).maxInFlight()).isEqualTo(3);
        assertThat(GatewayConfig.of(0, "m", Duration.ofSeconds(1)).port()).isZero();
    }

    @Test
    void refusesBadSettingsNamingTheOption() {
        assertInvalid(" ", 8000, "m", Duration.ofSeconds(1), 1, 16, 1024, "--host");
        assertInvalid(
                "h",
                70000,
                "m",
                Duration.ofSeconds(1),
                1,
                16,
                1024,
                "--port must be in 0..65535, got 70000");
        assertInvalid("h", 80, " m", Duration.ofSeconds(1), 1, 16, 1024, "--served-model-name");
        assertInvalid("h", 80, "", Duration.ofSeconds(1), 1, 16, 1024, "--served-model-name");
        assertInvalid(
                "h", 80, "m", Duration.ZERO, 1, 16, 1024, "--request-timeout must be positive");
        assertInvalid(
                "h",
                80,
                "m",
                Duration.ofSeconds(1),
                0,
                16,
                1024,
                "--max-in-flight must be at least 1");
        assertInvalid("h", 80, "m", Duration.ofSeconds(1), 1, 0, 1024, "--default-max-tokens");
        assertInvalid("h", 80, "m", Duration.ofSeconds(1), 1, 16, 10, "--max-body-bytes");
    }

    private static void assertInvalid(
            String host,
            int port,
            String model,
            Duration timeout,
            int maxInFlight,
            int maxTokens,
            int maxBody,
            String message) {
        assertThatThrownBy(
                        () ->
                                new GatewayConfig(
                                        host,
                                        port,
                                        model,
                                        timeout,
                                        maxInFlight,
                                        maxTokens,
                                        maxBody))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message);
    }
}
