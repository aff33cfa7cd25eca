package io.tetris.job.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.SingleObjectCodec;
import io.tetris.schemas.TokenEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.util.Collector;
import org.apache.flink.util.InstantiationUtil;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

class KafkaSerializationTest {

    @Test
    void tokenEventsAreKeyedByRequestIdAndDecodeBack() throws Exception {
        TokenEvent event = Records.token("req-ü", 3, true);
        // Shipped to task managers by Java serialization: the copy must work as well.
        AvroRecordSerializer<TokenEvent> serializer =
                InstantiationUtil.clone(KafkaIo.tokenEvents("t.tokens"));

        ProducerRecord<byte[], byte[]> record = serializer.serialize(event, null, 42L);

        assertThat(record.topic()).isEqualTo("t.tokens");
        assertThat(record.partition()).isNull();
        assertThat(record.timestamp())
                .as("written at the producer's time, not the stream's")
                .isNull();
        assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo("req-ü");
        assertThat(SingleObjectCodec.TOKEN_EVENT.decode(record.value()).toOptional())
                .contains(event);
    }

    @Test
    void resultsAreKeyedByRequestIdAndDecodeBack() throws Exception {
        GenerationResult result = Records.result("req-7", "hello");
        AvroRecordSerializer<GenerationResult> serializer =
                InstantiationUtil.clone(KafkaIo.results("t.results"));

        ProducerRecord<byte[], byte[]> record = serializer.serialize(result, null, null);

        assertThat(record.topic()).isEqualTo("t.results");
        assertThat(record.timestamp()).isNull();
        assertThat(record.key()).isEqualTo("req-7".getBytes(StandardCharsets.UTF_8));
        assertThat(SingleObjectCodec.RESULT.decode(record.value()).toOptional()).contains(result);
    }

    @Test
    void errorsWithoutRequestIdHaveNoKey() throws Exception {
        GenerationError known = Records.error("req-9", ErrorCode.EMPTY_PROMPT, null);
        GenerationError anonymous =
                Records.error(null, ErrorCode.UNKNOWN_FORMAT, new byte[] {1, 2, 3});
        AvroRecordSerializer<GenerationError> serializer =
                InstantiationUtil.clone(KafkaIo.errors("t.errors"));

        ProducerRecord<byte[], byte[]> keyed = serializer.serialize(known, null, null);
        ProducerRecord<byte[], byte[]> unkeyed = serializer.serialize(anonymous, null, null);

        assertThat(keyed.key()).isEqualTo("req-9".getBytes(StandardCharsets.UTF_8));
        assertThat(unkeyed.key()).isNull();
        assertThat(SingleObjectCodec.ERROR.decode(unkeyed.value()).toOptional())
                .contains(anonymous);
    }

    @Test
    void deserializerPassesAnyBytesThrough() throws Exception {
        RawRecordDeserializer deserializer = InstantiationUtil.clone(new RawRecordDeserializer());
        List<RawRecord> out = new ArrayList<>();
        Collector<RawRecord> collector =
                new Collector<>() {
                    @Override
                    public void collect(RawRecord record) {
                        out.add(record);
                    }

                    @Override
                    public void close() {}
                };
        byte[] garbage = {(byte) 0xC3, 0x01, 0x7F};

        deserializer.deserialize(
                new ConsumerRecord<>(
                        "t.requests", 2, 17L, "k".getBytes(StandardCharsets.UTF_8), garbage),
                collector);
        deserializer.deserialize(new ConsumerRecord<>("t.requests", 0, 18L, null, null), collector);

        assertThat(out).hasSize(2);
        RawRecord first = out.get(0);
        assertThat(first.topic).isEqualTo("t.requests");
        assertThat(first.partition).isEqualTo(2);
        assertThat(first.offset).isEqualTo(17L);
        assertThat(first.keyAsString()).isEqualTo("k");
        assertThat(first.value).isEqualTo(garbage);
        assertThat(first.position()).isEqualTo("t.requests-2@17");
        assertThat(first.toString()).contains("3 bytes").doesNotContain("127");
        assertThat(out.get(1).key).isNull();
        assertThat(out.get(1).value).isNull();
        assertThat(out.get(1).keyAsString()).isNull();
    }

    @Test
    void rawRecordIsAFlinkPojoSerializedWithoutKryo() throws Exception {
        TypeInformation<RawRecord> type = new RawRecordDeserializer().getProducedType();
        SerializerConfigImpl config = new SerializerConfigImpl();
        config.setGenericTypes(false); // any Kryo fallback would throw here

        TypeSerializer<RawRecord> serializer = type.createSerializer(config);
        RawRecord withNulls = new RawRecord("t.requests", 1, 5L, 99L, null, null);
        RawRecord full =
                new RawRecord("t.requests", 0, 6L, 100L, new byte[] {1}, new byte[] {2, 3});

        assertThat(type).isInstanceOf(PojoTypeInfo.class);
        assertThat(roundTrip(serializer, withNulls)).isEqualTo(withNulls);
        assertThat(roundTrip(serializer, full)).isEqualTo(full).hasSameHashCodeAs(full);
    }

    private static RawRecord roundTrip(TypeSerializer<RawRecord> serializer, RawRecord record)
            throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        serializer.serialize(record, out);
        return serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
    }
}
