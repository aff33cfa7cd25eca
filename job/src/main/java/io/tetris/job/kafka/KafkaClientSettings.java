package io.tetris.job.kafka;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * How to reach a Kafka cluster: bootstrap servers plus pass-through client properties (typically
 * {@code security.protocol}, {@code sasl.*}, {@code ssl.*}), from {@code key=value} strings and/or
 * a properties file, as {@code kafka-console-producer --command-config} users expect.
 *
 * <p>The pass-through properties usually hold credentials, and settings get logged; so {@link
 * #toString()} and {@link #describe()} mask the value of every key {@link #isSecret} considers a
 * secret. The raw values only leave this object through the {@link Properties} handed to Kafka
 * clients.
 *
 * <p>The property methods set what this project relies on after the pass-through ones, so a user
 * property cannot break it: byte-array (de)serializers everywhere, {@code read_committed} consumers
 * (the results topic is transactional) without auto-commit.
 *
 * <p>Immutable and serializable (Flink ships it inside sources and sinks).
 */
public final class KafkaClientSettings implements java.io.Serializable {

    private static final long serialVersionUID = 1L;

    /** What {@link #describe()} prints instead of a secret value; its length tells nothing. */
    public static final String MASK = "******";

    /** Fragments that make any key a secret wherever they appear in it. */
    private static final List<String> SECRET_FRAGMENTS =
            List.of("password", "secret", "jaas", "passphrase", "credential", "user.info");

    private static final Pattern SEGMENT_SEPARATOR = Pattern.compile("[._-]");

    private final String bootstrapServers;
    private final TreeMap<String, String> properties;

    private KafkaClientSettings(String bootstrapServers, Map<String, String> properties) {
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            throw new IllegalArgumentException(
                    "bootstrap servers are required (host:port[,host:port...])");
        }
        this.bootstrapServers = bootstrapServers.strip();
        this.properties = new TreeMap<>(properties);
        this.properties.remove(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
    }

    /** Settings with bootstrap servers only (a PLAINTEXT cluster such as the embedded one). */
    public static KafkaClientSettings of(String bootstrapServers) {
        return new KafkaClientSettings(bootstrapServers, Map.of());
    }

    /**
     * Settings from the command line.
     *
     * @param bootstrapServers {@code host:port[,...]}, or {@code null} to take {@code
     *     bootstrap.servers} from the file or the entries
     * @param propertiesFile a Java properties file of client settings, or {@code null}
     * @param entries {@code key=value} strings; they override the file
     * @throws IllegalArgumentException for an entry without {@code =}, an unreadable file, or no
     *     bootstrap servers anywhere
     */
    public static KafkaClientSettings parse(
            String bootstrapServers, Path propertiesFile, List<String> entries) {
        Map<String, String> merged = new TreeMap<>();
        if (propertiesFile != null) {
            merged.putAll(readFile(propertiesFile));
        }
        merged.putAll(parseEntries(entries == null ? List.of() : entries));
        String bootstrap = bootstrapServers;
        if (bootstrap == null || bootstrap.isBlank()) {
            bootstrap = merged.get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        }
        return new KafkaClientSettings(bootstrap, merged);
    }

    /** Parses {@code key=value} strings; the value may itself contain {@code =}. */
    static Map<String, String> parseEntries(List<String> entries) {
        Map<String, String> parsed = new TreeMap<>();
        int index = 0;
        for (String entry : entries) {
            index++;
            int eq = entry == null ? -1 : entry.indexOf('=');
            if (eq <= 0 || entry.substring(0, eq).isBlank()) {
                // Never echo the entry: it may be a secret pasted without its key.
                throw new IllegalArgumentException(
                        "Kafka property entry #" + index + " is not of the form key=value");
            }
            parsed.put(entry.substring(0, eq).strip(), entry.substring(eq + 1).strip());
        }
        return parsed;
    }

    private static Map<String, String> readFile(Path file) {
        Properties loaded = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            loaded.load(reader);
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "cannot read the Kafka properties file " + file + ": " + e.getMessage(), e);
        }
        Map<String, String> map = new TreeMap<>();
        for (String key : loaded.stringPropertyNames()) {
            map.put(key.strip(), loaded.getProperty(key).strip());
        }
        return map;
    }

    /** A copy with one more pass-through property (replacing an earlier value). */
    public KafkaClientSettings withProperty(String key, String value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        Map<String, String> copy = new TreeMap<>(properties);
        copy.put(key, value);
        return new KafkaClientSettings(bootstrapServers, copy);
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** The pass-through properties, unmodifiable, without {@code bootstrap.servers}. */
    public Map<String, String> properties() {
        return Collections.unmodifiableMap(properties);
    }

    /**
     * Whether the value of {@code key} must not be printed. A key is a secret when it contains
     * {@code password}, {@code secret}, {@code jaas}, {@code passphrase}, {@code credential} or
     * {@code user.info} anywhere, or when its last segment (split at '.', '_', '-') ends in {@code
     * key} or {@code token}: that masks {@code ssl.key.password}, {@code ssl.keystore.key}, {@code
     * sasl.jaas.config}, {@code basic.auth.user.info}, {@code api.key}, {@code access.token}, and
     * leaves {@code key.serializer}, {@code ssl.keystore.location}, {@code
     * ssl.keymanager.algorithm} or {@code sasl.oauthbearer.token.endpoint.url} readable. Case does
     * not matter.
     */
    public static boolean isSecret(String key) {
        String lower = key.toLowerCase(Locale.ROOT);
        for (String fragment : SECRET_FRAGMENTS) {
            if (lower.contains(fragment)) {
                return true;
            }
        }
        String[] segments = SEGMENT_SEPARATOR.split(lower);
        String last = segments.length == 0 ? lower : segments[segments.length - 1];
        return last.endsWith("key") || last.endsWith("token");
    }

    /**
     * One line for logs and the console: bootstrap servers and every property, secret values
     * replaced by {@link #MASK}.
     */
    public String describe() {
        if (properties.isEmpty()) {
            return "bootstrap.servers=" + bootstrapServers;
        }
        return "bootstrap.servers="
                + bootstrapServers
                + ", "
                + properties.entrySet().stream()
                        .map(e -> e.getKey() + "=" + (isSecret(e.getKey()) ? MASK : e.getValue()))
                        .collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return "KafkaClientSettings{" + describe() + "}";
    }

    /** Bootstrap servers plus the pass-through properties, for any Kafka client. */
    public Properties commonProperties() {
        Properties props = new Properties();
        props.putAll(properties);
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        return props;
    }

    /**
     * A byte-array producer: idempotent with {@code acks=all} unless the pass-through properties
     * say otherwise.
     */
    public Properties producerProperties() {
        Properties props = commonProperties();
        props.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
        props.putIfAbsent(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        // Requests and token events are latency-bound, few and small: send each at once rather
        // than wait Kafka's default 5 ms for a batch to fill.
        props.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "0");
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        return props;
    }

    /**
     * A byte-array {@code read_committed} consumer without auto-commit.
     *
     * @param groupId the consumer group, or {@code null} for a consumer that only assigns
     *     partitions itself
     */
    public Properties consumerProperties(String groupId) {
        Properties props = commonProperties();
        props.remove(ConsumerConfig.GROUP_ID_CONFIG);
        if (groupId != null) {
            props.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        }
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class.getName());
        props.put(
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class.getName());
        return props;
    }

    /** An admin client. */
    public Properties adminProperties() {
        Properties props = commonProperties();
        props.putIfAbsent(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "30000");
        return props;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KafkaClientSettings other
                && bootstrapServers.equals(other.bootstrapServers)
                && properties.equals(other.properties);
    }

    @Override
    public int hashCode() {
        return Objects.hash(bootstrapServers, properties);
    }
}
