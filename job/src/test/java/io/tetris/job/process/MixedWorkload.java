package io.tetris.job.process;

import io.tetris.job.kafka.KafkaClientSettings;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/** The requests the process-level tests send: half greedy, half seeded sampling, mixed lengths. */
final class MixedWorkload {

    private static final String[] PROMPTS = {
        "The quick brown fox", "A computer is", "Hello, world", "In the beginning",
        "Never trust a", "Hacker culture", "Once upon a time", "What is the"
    };

    private MixedWorkload() {}

    /** JSON requests {@code <prefix><from>} to {@code <prefix><to - 1>}, by id, in order. */
    static Map<String, String> requests(String prefix, int from, int to) {
        return requests(prefix, from, to, 1);
    }

    /** The same requests, each asking {@code lengthFactor} times as many tokens. */
    static Map<String, String> requests(String prefix, int from, int to, int lengthFactor) {
        Map<String, String> requests = new LinkedHashMap<>();
        for (int i = from; i < to; i++) {
            String id = prefix + i;
            String sampling =
                    i % 2 == 0 ? "" : ",\"temperature\":0.8,\"top_k\":40,\"seed\":" + (7 * i);
            requests.put(
                    id,
                    "{\"request_id\":\""
                            + id
                            + "\",\"prompt\":\""
                            + PROMPTS[i % PROMPTS.length]
                            + "\",\"max_new_tokens\":"
                            + (40 + (i % 4) * 16) * lengthFactor
                            + sampling
                            + "}");
        }
        return requests;
    }

    /** Sends the requests to {@code topic}, keyed by id, and waits until Kafka has them. */
    static void send(KafkaClientSettings kafka, String topic, Map<String, String> requests) {
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(kafka.producerProperties())) {
            requests.forEach(
                    (id, json) ->
                            producer.send(
                                    new ProducerRecord<>(
                                            topic,
                                            id.getBytes(StandardCharsets.UTF_8),
                                            json.getBytes(StandardCharsets.UTF_8))));
            producer.flush();
        }
    }
}
