package io.tetris.job.kafka;

import io.tetris.schemas.Decoded;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationRequest;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.SingleObjectCodec;
import io.tetris.schemas.TokenEvent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client side of the job's topics, for {@code ./tetris generate} and the demo: sends requests
 * and delivers the answers to a {@link ResponseListener}.
 *
 * <p><b>Where reading starts.</b> {@link #open} assigns every partition of the tokens, results and
 * errors topics, seeks to their ends and resolves those positions before it returns, that is before
 * anything can be sent. So no answer to a request sent through this client can be missed, and
 * nothing from earlier runs leaks in. No consumer group is involved: nothing to rebalance, nothing
 * committed.
 *
 * <p><b>Delivery.</b> Results are read {@code read_committed}, so only results of committed
 * transactions arrive. Token events are at-least-once on the topic; the client drops a (request_id,
 * seq) it has seen and holds back an event until its predecessors arrived, so the listener gets
 * each request's events exactly once and in order. The listener sees the answers to every request
 * on the topics, not only to this client's; {@link #awaitAll} waits for specific ids.
 *
 * <p>Results and token events travel on different topics: a request's result may reach the listener
 * before its last token events. The result holds the complete text.
 *
 * <p><b>Scoped clients.</b> A client from {@link #open} keeps a little state for every request it
 * sees on the topics, its own and everyone else's, for as long as it lives: fine for a command that
 * runs a few requests, a leak for a long-running server. A client from {@link #openScoped} only
 * attends to the requests it sent: each {@link #send} starts watching the id, records of ids it
 * does not watch are skipped before any state is kept, and {@link #forget} drops all state of an id
 * and stops delivering its records.
 *
 * <p>Thread-safe; listener methods run on one reader thread.
 */
public final class GenerationClient implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(GenerationClient.class);

    private static final Duration METADATA_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(200);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);
    private static final int MAX_IDS_IN_MESSAGE = 20;

    private final TopicNames topics;
    private final ResponseListener listener;
    private final KafkaProducer<byte[], byte[]> producer;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Thread reader;

    /** Guarded by itself; taken before {@link #outcomes} where both are needed. */
    private final TokenSequencer sequencer = new TokenSequencer();

    /**
     * The ids a scoped client attends to, {@code null} for a client that attends to every request.
     * Changed under the {@link #sequencer} and {@link #outcomes} locks, so that no state of an id
     * is created after {@link #forget} dropped it.
     */
    private final Set<String> watched;

    /** Values sent per request id, to attribute errors whose request id the job could not read. */
    private final SentValues sent = new SentValues();

    /** Guarded by itself; waiters of {@link #awaitAll} wait on it. */
    private final Map<String, Outcome> outcomes = new LinkedHashMap<>();

    private volatile boolean closing;
    private volatile Throwable readerFailure;
    private volatile Throwable jobFailure;

    private GenerationClient(
            TopicNames topics,
            ResponseListener listener,
            KafkaProducer<byte[], byte[]> producer,
            KafkaConsumer<byte[], byte[]> consumer,
            boolean scoped) {
        this.topics = topics;
        this.watched = scoped ? ConcurrentHashMap.newKeySet() : null;
        this.listener = listener;
        this.producer = producer;
        this.consumer = consumer;
        this.reader = new Thread(this::readLoop, "tetris-client-reader");
        this.reader.setDaemon(true);
    }

    /**
     * Connects, positions the reader at the current end of the response topics and starts it.
     *
     * @throws IllegalStateException if a response topic does not exist or the cluster does not
     *     answer
     */
    public static GenerationClient open(
            KafkaClientSettings settings, TopicNames topics, ResponseListener listener) {
        return open(settings, topics, listener, false);
    }

    /**
     * Like {@link #open}, but the client only attends to the requests it sends, until {@link
     * #forget} (see the class comment): for long-running servers such as the gateway.
     */
    public static GenerationClient openScoped(
            KafkaClientSettings settings, TopicNames topics, ResponseListener listener) {
        return open(settings, topics, listener, true);
    }

    private static GenerationClient open(
            KafkaClientSettings settings,
            TopicNames topics,
            ResponseListener listener,
            boolean scoped) {
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(topics, "topics");
        Objects.requireNonNull(listener, "listener");
        String clientId = "tetris-client-" + UUID.randomUUID().toString().substring(0, 8);

        Properties consumerProps = settings.consumerProperties(null);
        consumerProps.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId + "-reader");
        consumerProps.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProps);
        KafkaProducer<byte[], byte[]> producer = null;
        try {
            positionAtEnd(consumer, topics, settings.bootstrapServers());
            Properties producerProps = settings.producerProperties();
            producerProps.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
            producer = new KafkaProducer<>(producerProps);
        } catch (RuntimeException e) {
            consumer.close(CloseOptions.timeout(Duration.ZERO));
            if (producer != null) {
                producer.close(Duration.ZERO);
            }
            throw e;
        }
        GenerationClient client =
                new GenerationClient(topics, listener, producer, consumer, scoped);
        client.reader.start();
        return client;
    }

    private static void positionAtEnd(
            KafkaConsumer<byte[], byte[]> consumer, TopicNames topics, String bootstrap) {
        List<TopicPartition> partitions = new ArrayList<>();
        for (String topic : topics.responses()) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, METADATA_TIMEOUT);
            if (infos == null || infos.isEmpty()) {
                throw new IllegalStateException(
                        "topic '"
                                + topic
                                + "' does not exist on the Kafka cluster at "
                                + bootstrap);
            }
            for (PartitionInfo info : infos) {
                partitions.add(new TopicPartition(info.topic(), info.partition()));
            }
        }
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        // seekToEnd is lazy; resolving the positions now pins them before anything is sent.
        for (TopicPartition partition : partitions) {
            consumer.position(partition, METADATA_TIMEOUT);
        }
    }

    // ------------------------------------------------------------------------------------------
    // sending
    // ------------------------------------------------------------------------------------------

    /**
     * Sends a request as Avro single-object encoding, keyed by its id, and waits for the broker's
     * acknowledgement.
     *
     * @throws IllegalStateException if the broker does not accept it
     */
    public RecordMetadata send(GenerationRequest request) {
        Objects.requireNonNull(request, "request");
        return await(sendAsync(request), request.getRequestId());
    }

    /**
     * Sends several requests and waits until all are acknowledged: faster than one {@link #send}
     * after the other, because the producer batches them.
     */
    public void sendAll(Collection<GenerationRequest> requests) {
        Map<String, Future<RecordMetadata>> futures = new LinkedHashMap<>();
        for (GenerationRequest request : requests) {
            futures.put(request.getRequestId(), sendAsync(request));
        }
        futures.forEach((id, future) -> await(future, id));
    }

    /**
     * Sends a request as a flat JSON object, the format {@code kcat} users send; the job validates
     * it like any other request.
     *
     * @param requestId the record key and the id under which an error without a readable id is
     *     reported; may be {@code null} (no key)
     */
    public RecordMetadata sendJson(String json, String requestId) {
        Objects.requireNonNull(json, "json");
        requireUtf8(json, "the JSON request");
        return await(
                sendRaw(requestId, json.getBytes(StandardCharsets.UTF_8)),
                requestId == null ? "(json without id)" : requestId);
    }

    private Future<RecordMetadata> sendAsync(GenerationRequest request) {
        requireUtf8(request.getPrompt(), "the prompt");
        for (String stop : request.getStop()) {
            requireUtf8(stop, "a stop string");
        }
        return sendRaw(request.getRequestId(), SingleObjectCodec.REQUEST.encode(request));
    }

    private Future<RecordMetadata> sendRaw(String requestId, byte[] value) {
        requireUtf8(requestId, "the request id");
        if (requestId != null) {
            if (watched != null) {
                watch(requestId);
            }
            sent.put(requestId, value);
        }
        byte[] key = requestId == null ? null : requestId.getBytes(StandardCharsets.UTF_8);
        return producer.send(new ProducerRecord<>(topics.requests(), key, value));
    }

    /**
     * Refuses text with an unpaired surrogate: Java would encode it as {@code ?}, so the job would
     * serve (and answer) a different request id or prompt than the caller asked for.
     *
     * @throws IllegalArgumentException naming {@code what}
     */
    private static void requireUtf8(String text, String what) {
        if (text != null && !StandardCharsets.UTF_8.newEncoder().canEncode(text)) {
            throw new IllegalArgumentException(
                    what
                            + " contains an unpaired UTF-16 surrogate, which has no UTF-8 form; it"
                            + " would reach the job as '?'");
        }
    }

    private RecordMetadata await(Future<RecordMetadata> future, String requestId) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while sending request " + requestId, e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(
                    "cannot send request "
                            + requestId
                            + " to "
                            + topics.requests()
                            + ": "
                            + e.getCause().getMessage(),
                    e.getCause());
        }
    }

    // ------------------------------------------------------------------------------------------
    // scope
    // ------------------------------------------------------------------------------------------

    private void watch(String requestId) {
        synchronized (sequencer) {
            synchronized (outcomes) {
                watched.add(requestId);
            }
        }
    }

    /**
     * Drops every piece of state kept for {@code requestId}; a scoped client also stops delivering
     * its records (an unscoped one would start a new token stream for it at the next event).
     * Idempotent.
     */
    public void forget(String requestId) {
        Objects.requireNonNull(requestId, "requestId");
        synchronized (sequencer) {
            synchronized (outcomes) {
                if (watched != null) {
                    watched.remove(requestId);
                }
                outcomes.remove(requestId);
            }
            sequencer.forget(requestId);
        }
        sent.forget(requestId);
    }

    /**
     * How many request ids this client keeps any state for (watched, sent values, token streams,
     * outcomes): what a long-running caller checks for leaks.
     */
    public int heldRequests() {
        Set<String> held = new HashSet<>(sent.requestIds());
        synchronized (sequencer) {
            synchronized (outcomes) {
                if (watched != null) {
                    held.addAll(watched);
                }
                held.addAll(outcomes.keySet());
            }
            held.addAll(sequencer.requestIds());
        }
        return held.size();
    }

    /** Whether the response reader is still running (it stops when closed or on a fatal error). */
    public boolean isReading() {
        return !closing && readerFailure == null && reader.isAlive();
    }

    private boolean attends(String requestId) {
        return watched == null || (requestId != null && watched.contains(requestId));
    }

    // ------------------------------------------------------------------------------------------
    // waiting
    // ------------------------------------------------------------------------------------------

    /**
     * Waits until each of {@code requestIds} has a result or an error (answers that arrived before
     * this call count).
     *
     * @return the outcome of each id, in the iteration order of {@code requestIds}
     * @throws TimeoutException if some ids have no outcome after {@code timeout}; the message lists
     *     them
     * @throws IllegalStateException if the reader failed (e.g. the cluster refused it)
     */
    public Map<String, Outcome> awaitAll(Set<String> requestIds, Duration timeout)
            throws InterruptedException, TimeoutException {
        Objects.requireNonNull(requestIds, "requestIds");
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (outcomes) {
            while (true) {
                if (closing) {
                    throw new IllegalStateException("the client is closed");
                }
                Set<String> missing = new TreeSet<>(requestIds);
                missing.removeAll(outcomes.keySet());
                if (missing.isEmpty()) {
                    // Outcomes already here stand, whatever happened to the job or reader since.
                    Map<String, Outcome> done = new LinkedHashMap<>();
                    requestIds.forEach(id -> done.put(id, outcomes.get(id)));
                    return done;
                }
                checkReader();
                long leftNanos = deadline - System.nanoTime();
                if (leftNanos <= 0) {
                    throw new TimeoutException(timeoutMessage(missing, requestIds.size(), timeout));
                }
                TimeUnit.NANOSECONDS.timedWait(outcomes, leftNanos);
            }
        }
    }

    /** The outcome of a request, if its result or error has arrived. */
    public Optional<Outcome> outcome(String requestId) {
        synchronized (outcomes) {
            return Optional.ofNullable(outcomes.get(requestId));
        }
    }

    /** The first message in the chain that is not a wrapper's (the task's own failure). */
    private static String reason(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            String type = t.getClass().getName();
            if (!type.startsWith("org.apache.flink.")
                    && !type.startsWith("java.util.concurrent.")) {
                return String.valueOf(t.getMessage());
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return String.valueOf(failure.getMessage());
    }

    private static String timeoutMessage(Set<String> missing, int total, Duration timeout) {
        String listed =
                missing.stream().limit(MAX_IDS_IN_MESSAGE).collect(Collectors.joining(", "));
        if (missing.size() > MAX_IDS_IN_MESSAGE) {
            listed += ", ... (" + (missing.size() - MAX_IDS_IN_MESSAGE) + " more)";
        }
        return "no result or error after "
                + timeout.toMillis()
                + " ms for "
                + missing.size()
                + " of "
                + total
                + " request(s): "
                + listed;
    }

    /**
     * Ends every wait, now and later, with {@code cause}: the job that would answer has failed, so
     * no more results will come (waiting out the timeout would only hide why).
     */
    public void jobFailed(Throwable cause) {
        synchronized (outcomes) {
            jobFailure = Objects.requireNonNull(cause, "cause");
            outcomes.notifyAll();
        }
    }

    private void checkReader() {
        Throwable failed = jobFailure;
        if (failed != null) {
            throw new IllegalStateException("the job failed: " + reason(failed), failed);
        }
        Throwable failure = readerFailure;
        if (failure != null) {
            throw new IllegalStateException(
                    "the response reader stopped: " + failure.getMessage(), failure);
        }
        if (closing) {
            throw new IllegalStateException("the client is closed");
        }
    }

    // ------------------------------------------------------------------------------------------
    // reading
    // ------------------------------------------------------------------------------------------

    private void readLoop() {
        try {
            while (!closing) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(POLL_TIMEOUT)) {
                    dispatch(record);
                }
            }
        } catch (WakeupException e) {
            if (!closing) {
                readerFailure = e;
            }
        } catch (RuntimeException | Error e) {
            LOG.error("response reader failed", e);
            readerFailure = e;
            if (e instanceof Error error) {
                throw error; // after the finally block has woken the waiters
            }
        } finally {
            try {
                consumer.close(CloseOptions.timeout(CLOSE_TIMEOUT));
            } catch (RuntimeException e) {
                LOG.warn("cannot close the response consumer cleanly", e);
            }
            synchronized (outcomes) {
                outcomes.notifyAll();
            }
        }
    }

    private void dispatch(ConsumerRecord<byte[], byte[]> record) {
        String topic = record.topic();
        if (topic.equals(topics.tokens())) {
            Decoded<TokenEvent> decoded = SingleObjectCodec.TOKEN_EVENT.decode(record.value());
            if (decoded instanceof Decoded.Ok<TokenEvent> ok) {
                List<TokenEvent> ready;
                synchronized (sequencer) {
                    if (!attends(ok.value().getRequestId())) {
                        return;
                    }
                    ready = sequencer.accept(ok.value());
                }
                for (TokenEvent event : ready) {
                    callListener(() -> listener.onToken(event));
                }
            } else {
                undecodable(record, decoded);
            }
        } else if (topic.equals(topics.results())) {
            Decoded<GenerationResult> decoded = SingleObjectCodec.RESULT.decode(record.value());
            if (decoded instanceof Decoded.Ok<GenerationResult> ok) {
                if (!attends(ok.value().getRequestId())) {
                    return;
                }
                // Listener first: when awaitAll returns, the listener has seen the answer.
                callListener(() -> listener.onResult(ok.value()));
                recordOutcome(new Outcome.Completed(ok.value()));
            } else {
                undecodable(record, decoded);
            }
        } else if (topic.equals(topics.errors())) {
            Decoded<GenerationError> decoded = SingleObjectCodec.ERROR.decode(record.value());
            if (decoded instanceof Decoded.Ok<GenerationError> ok) {
                GenerationError error = sent.attribute(ok.value(), record.key());
                if (!attends(error.getRequestId())) {
                    return;
                }
                callListener(() -> listener.onError(error));
                if (error.getRequestId() != null) {
                    recordOutcome(new Outcome.Failed(error));
                }
            } else {
                undecodable(record, decoded);
            }
        }
    }

    private void recordOutcome(Outcome outcome) {
        synchronized (outcomes) {
            if (!attends(outcome.requestId())) {
                return; // forgotten while the listener ran
            }
            outcomes.putIfAbsent(outcome.requestId(), outcome);
            outcomes.notifyAll();
        }
    }

    private void undecodable(ConsumerRecord<byte[], byte[]> record, Decoded<?> decoded) {
        decoded.asFailure()
                .ifPresent(
                        failure ->
                                callListener(
                                        () ->
                                                listener.onUndecodable(
                                                        record.topic(), record.offset(), failure)));
    }

    private static void callListener(Runnable callback) {
        try {
            callback.run();
        } catch (RuntimeException e) {
            LOG.warn("response listener threw; the client goes on", e);
        }
    }

    /** Stops the reader and closes both Kafka clients (flushing requests not yet sent). */
    @Override
    public void close() {
        if (closing) {
            return;
        }
        closing = true;
        try {
            consumer.wakeup();
        } catch (RuntimeException e) {
            // The reader already stopped and closed the consumer.
        }
        try {
            reader.join(CLOSE_TIMEOUT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.close(CLOSE_TIMEOUT);
        synchronized (outcomes) {
            outcomes.notifyAll();
        }
    }
}
