package io.tetris.job.gateway;

import io.tetris.job.kafka.GenerationClient;
import io.tetris.job.kafka.KafkaClientSettings;
import io.tetris.job.kafka.ResponseListener;
import io.tetris.job.kafka.TopicNames;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.common.config.ConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's {@link GenerationClient}, opened once the Kafka cluster answers and the job's four
 * topics exist, and tried again every second until then.
 *
 * <p>Services started together (compose, Kubernetes, a script) start in any order: a gateway that
 * starts before {@code serve --create-topics} has made the topics, or before the broker is up, must
 * wait for them rather than exit. While it waits, {@link #client} is {@code null}, {@link
 * #waitingFor} says for what, and a log line says the same at once and every {@link #LOG_EVERY}.
 * All four topics must exist, the requests topic too: a send to a missing topic would either block
 * for the producer's {@code max.block.ms} or let the broker auto-create it with the wrong partition
 * count.
 */
final class KafkaConnection implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaConnection.class);

    static final Duration RETRY_EVERY = Duration.ofSeconds(1);
    static final Duration LOG_EVERY = Duration.ofSeconds(10);

    /** Each try's limit for the cluster's answer, so an unreachable broker is reported soon. */
    private static final Duration TRY_TIMEOUT = Duration.ofSeconds(5);

    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);

    private final KafkaClientSettings settings;
    private final TopicNames topics;
    private final ResponseListener listener;
    private final Thread retrier;

    /** Guarded by {@code this} together with {@link #closed}, so a late open is never leaked. */
    private volatile GenerationClient client;

    private volatile String waitingFor;
    private boolean closed;

    // Used by the first try's thread, then only by the retrier, which starts after it.
    private Admin admin;
    private String lastLogged;
    private long lastLoggedNanos;
    private long waitingSinceNanos;

    KafkaConnection(KafkaClientSettings settings, TopicNames topics, ResponseListener listener) {
        this.settings = settings;
        this.topics = topics;
        this.listener = listener;
        this.waitingFor = "a first connection to Kafka at " + settings.bootstrapServers();
        this.retrier = new Thread(this::retryUntilOpen, "gateway-kafka-connect");
        this.retrier.setDaemon(true);
    }

    /**
     * Tries to open the client now, so that a gateway whose topics exist serves as soon as it
     * starts; if that fails, keeps trying on a thread of its own.
     *
     * @throws IllegalArgumentException if the Kafka settings are wrong: no wait would help
     */
    void connect() {
        waitingSinceNanos = System.nanoTime();
        if (!tryOpen()) {
            retrier.start();
        }
    }

    /** The client, or {@code null} while waiting for Kafka or the topics. */
    GenerationClient client() {
        return client;
    }

    /** What the gateway waits for, for 503 answers and the health check. */
    String waitingFor() {
        return waitingFor;
    }

    private void retryUntilOpen() {
        try {
            while (!isClosed()) {
                Thread.sleep(RETRY_EVERY.toMillis());
                try {
                    if (isClosed() || tryOpen()) {
                        return;
                    }
                } catch (IllegalArgumentException e) {
                    // The first try accepted these settings; keep waiting and keep saying why.
                    waiting("usable Kafka settings (" + e.getMessage() + ")");
                }
            }
        } catch (InterruptedException e) {
            // close() stops the wait.
        } finally {
            closeAdmin();
        }
    }

    /**
     * One try: true once the client is open.
     *
     * @throws IllegalArgumentException if the Kafka settings are wrong, which no wait mends
     */
    private boolean tryOpen() {
        List<String> missing;
        try {
            missing = missingTopics();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            requireUsableSettings(e);
            waiting("Kafka at " + settings.bootstrapServers() + " to answer (" + reason(e) + ")");
            return false;
        }
        if (!missing.isEmpty()) {
            waiting(
                    "Kafka topics "
                            + String.join(", ", missing)
                            + " on "
                            + settings.bootstrapServers()
                            + " (`tetris serve --create-topics` creates them)");
            return false;
        }
        GenerationClient opened;
        try {
            opened = GenerationClient.openScoped(settings, topics, listener);
        } catch (RuntimeException e) {
            requireUsableSettings(e);
            // The topics were listed a moment ago; their metadata may still be on its way.
            waiting("the Kafka topics " + topics.all() + " to be readable (" + reason(e) + ")");
            return false;
        }
        synchronized (this) {
            if (closed) {
                opened.close();
                return false;
            }
            client = opened;
        }
        closeAdmin();
        if (lastLogged != null) {
            LOG.info(
                    "gateway connected to Kafka at {} with topics {} after {} s of waiting;"
                            + " serving completions",
                    settings.bootstrapServers(),
                    topics.all(),
                    TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - waitingSinceNanos));
        }
        return true;
    }

    private List<String> missingTopics()
            throws InterruptedException, ExecutionException, TimeoutException {
        if (admin == null) {
            admin = Admin.create(settings.adminProperties());
        }
        // The call's own timeout too, so calls to a broker that does not answer do not pile up.
        Set<String> existing =
                admin.listTopics(new ListTopicsOptions().timeoutMs((int) TRY_TIMEOUT.toMillis()))
                        .names()
                        .get(TRY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        List<String> missing = new ArrayList<>();
        for (String topic : topics.all()) {
            if (!existing.contains(topic)) {
                missing.add(topic);
            }
        }
        return missing;
    }

    /**
     * Throws for a wrong setting (a {@link ConfigException} anywhere in the chain), except a
     * bootstrap name that does not resolve yet: in Kubernetes or compose the broker's name may
     * appear only when the broker does, so that is waited out like an unreachable broker.
     */
    private static void requireUsableSettings(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ConfigException config
                    && !String.valueOf(config.getMessage()).contains("resolvable")) {
                throw new IllegalArgumentException(
                        "unusable Kafka settings: " + config.getMessage(), failure);
            }
        }
    }

    /** The innermost cause: Kafka wraps the telling one ("No resolvable bootstrap urls"). */
    private static String reason(Throwable e) {
        Throwable cause = e;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        if (cause instanceof TimeoutException
                || cause instanceof org.apache.kafka.common.errors.TimeoutException) {
            return "no answer in time";
        }
        return cause.getClass().getSimpleName() + ": " + cause.getMessage();
    }

    /** Records what is missing; logs it at once, when it changes, and every {@link #LOG_EVERY}. */
    private void waiting(String what) {
        if (isClosed()) {
            return; // an interrupted try, not something to report
        }
        waitingFor = what;
        long now = System.nanoTime();
        if (!what.equals(lastLogged) || now - lastLoggedNanos >= LOG_EVERY.toNanos()) {
            LOG.warn(
                    "gateway waiting for {}; completions are answered 503 NOT_READY until then,"
                            + " checking again every {} s",
                    what,
                    RETRY_EVERY.toSeconds());
            lastLogged = what;
            lastLoggedNanos = now;
        }
    }

    private synchronized boolean isClosed() {
        return closed;
    }

    private void closeAdmin() {
        if (admin != null) {
            admin.close(Duration.ZERO);
            admin = null;
        }
    }

    /** Stops waiting and closes the client if it was opened. */
    @Override
    public void close() {
        GenerationClient open;
        synchronized (this) {
            closed = true;
            open = client;
        }
        if (retrier.isAlive()) {
            retrier.interrupt();
            try {
                retrier.join(CLOSE_TIMEOUT.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } else {
            closeAdmin();
        }
        if (open != null) {
            open.close();
        }
    }
}
