/**
 * Kafka wiring of the job: topic names, client settings (with secrets kept out of logs), the Flink
 * source and sinks with their (de)serialization schemas, an in-process KRaft broker for the demo
 * and the tests, and {@link io.tetris.job.kafka.GenerationClient}, the client side of the topics
 * used by the {@code generate} and {@code demo} commands.
 *
 * <p>Values on every topic are Avro single-object encoded ({@link
 * io.tetris.schemas.SingleObjectCodec}); keys are the request id as UTF-8, so all records of one
 * request land in the same partition, in order.
 */
package io.tetris.job.kafka;
