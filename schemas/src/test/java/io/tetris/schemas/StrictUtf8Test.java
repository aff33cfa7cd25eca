package io.tetris.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StrictUtf8Test {

    @Test
    void acceptsWellFormedTextOfEveryLength() {
        byte[] text = Samples.utf8("a é € 🚀 \u07FF \uFFFD \uD83D\uDE80");

        assertThat(StrictUtf8.firstInvalid(text, 0, text.length)).isEqualTo(-1);
    }

    @Test
    void rejectsOverlongSurrogateTooLargeStrayAndIncompleteSequences() {
        assertThat(invalidAt(0xC0, 0x80)).isZero(); // overlong NUL
        assertThat(invalidAt(0xE0, 0x80, 0x80)).isZero(); // overlong 3-byte
        assertThat(invalidAt(0xF0, 0x80, 0x80, 0x80)).isZero(); // overlong 4-byte
        assertThat(invalidAt(0xED, 0xA0, 0x80)).isZero(); // U+D800
        assertThat(invalidAt(0xF4, 0x90, 0x80, 0x80)).isZero(); // U+110000
        assertThat(invalidAt(0x41, 0x80)).isEqualTo(1); // stray continuation
        assertThat(invalidAt(0x41, 0xE2, 0x82)).isEqualTo(1); // cut in the middle
        assertThat(invalidAt(0xFF)).isZero();
    }

    @Test
    void agreesWithTheJdksStrictDecoderOnRandomBytes() {
        Random random = new Random(42L);
        for (int i = 0; i < 50_000; i++) {
            byte[] bytes = new byte[random.nextInt(8)];
            for (int k = 0; k < bytes.length; k++) {
                // Bias towards multi-byte lead and continuation bytes.
                bytes[k] =
                        (byte)
                                (random.nextBoolean()
                                        ? 0x80 + random.nextInt(0x80)
                                        : random.nextInt(256));
            }
            assertThat(StrictUtf8.firstInvalid(bytes, 0, bytes.length) < 0)
                    .as("%s", java.util.Arrays.toString(bytes))
                    .isEqualTo(jdkAccepts(bytes));
        }
    }

    @Test
    void findsUnpairedSurrogates() {
        assertThat(StrictUtf8.firstUnpairedSurrogate("ok \uD83D\uDE80")).isEqualTo(-1);
        assertThat(StrictUtf8.firstUnpairedSurrogate("ab\uD800")).isEqualTo(2);
        assertThat(StrictUtf8.firstUnpairedSurrogate("\uDC00x")).isZero();
        assertThat(StrictUtf8.firstUnpairedSurrogate("\uD800x")).isZero();
    }

    private static int invalidAt(int... unsigned) {
        byte[] bytes = new byte[unsigned.length];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) unsigned[i];
        }
        return StrictUtf8.firstInvalid(bytes, 0, bytes.length);
    }

    private static boolean jdkAccepts(byte[] bytes) {
        try {
            StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }
}
