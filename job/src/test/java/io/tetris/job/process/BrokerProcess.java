package io.tetris.job.process;

import io.tetris.job.kafka.EmbeddedKafka;
import io.tetris.job.kafka.KafkaClientSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.Uuid;

/**
 * A single-node KRaft Kafka broker as its own OS process ({@code kafka.Kafka} after {@code
 * StorageTool format}), on a fixed port and log directory, so it can be killed with SIGKILL and
 * started again with its data.
 */
final class BrokerProcess implements AutoCloseable {

    private final Path dir;
    private final Path properties;
    private final int port;
    private ChildJvm jvm;

    private BrokerProcess(Path dir, int port) {
        this.dir = dir;
        this.properties = dir.resolve("server.properties");
        this.port = port;
    }

    /** Formats a fresh log directory under {@code dir} and starts the broker. */
    static BrokerProcess start(Path dir) throws Exception {
        BrokerProcess broker = new BrokerProcess(dir, freePort());
        int controllerPort = freePort();
        Files.createDirectories(dir);
        Files.writeString(
                broker.properties,
                String.join(
                                "\n",
                                "process.roles=broker,controller",
                                "node.id=1",
                                "controller.quorum.voters=1@localhost:" + controllerPort,
                                "listeners=PLAINTEXT://localhost:"
                                        + broker.port
                                        + ",CONTROLLER://localhost:"
                                        + controllerPort,
                                "advertised.listeners=PLAINTEXT://localhost:" + broker.port,
                                "controller.listener.names=CONTROLLER",
                                "inter.broker.listener.name=PLAINTEXT",
                                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                                "log.dirs=" + dir.resolve("logs"),
                                "")
                        + singleNodeSettings(),
                StandardCharsets.UTF_8);
        try (ChildJvm format =
                ChildJvm.start(
                        dir.resolve("broker.log"),
                        "256m",
                        "kafka.tools.StorageTool",
                        List.of(
                                "format",
                                "-t",
                                Uuid.randomUuid().toString(),
                                "-c",
                                broker.properties.toString()))) {
            if (format.awaitExit(Duration.ofMinutes(1)) != 0) {
                throw new IllegalStateException("cannot format the broker; " + format.tail());
            }
        }
        broker.startProcess();
        return broker;
    }

    /** The same single-node settings as the in-process broker, as properties lines. */
    private static String singleNodeSettings() {
        StringBuilder lines = new StringBuilder();
        EmbeddedKafka.SINGLE_NODE_CONFIG.forEach(
                (key, value) -> lines.append(key).append('=').append(value).append('\n'));
        return lines.toString();
    }

    /** Starts the broker process again on the same port and data after a kill. */
    void restart() throws Exception {
        startProcess();
    }

    private void startProcess() throws Exception {
        jvm =
                ChildJvm.start(
                        dir.resolve("broker.log"),
                        "512m",
                        "kafka.Kafka",
                        List.of(properties.toString()));
        awaitReady(Duration.ofMinutes(1));
    }

    /** SIGKILL of the broker process. */
    void kill() throws InterruptedException {
        jvm.kill();
    }

    KafkaClientSettings settings() {
        return KafkaClientSettings.of("localhost:" + port);
    }

    private void awaitReady(Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            if (!jvm.isAlive()) {
                throw new IllegalStateException("the broker exited; " + jvm.tail());
            }
            try (Admin admin = Admin.create(settings().adminProperties())) {
                admin.describeCluster().nodes().get(5, java.util.concurrent.TimeUnit.SECONDS);
                return;
            } catch (Exception e) {
                last = e;
                Thread.sleep(300);
            }
        }
        throw new IllegalStateException("the broker did not start; " + jvm.tail(), last);
    }

    /** A port nothing listens on now (for the test's own processes). */
    static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (jvm != null) {
            jvm.close();
        }
    }
}
