package io.tetris.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import org.junit.jupiter.api.Test;

class RateTableTest {

    @Test
    void aRateIsShrunkTowardsThePriorByItsPseudoObservations() {
        RateTable t = new RateTable(3, 16);
        assertThat(t.rate(7, 0.6)).isEqualTo(0.6);
        t.count(7, true);
        t.count(7, false);
        t.count(7, true);
        // (2 + 3 x 0.6) / (3 + 3)
        assertThat(t.rate(7, 0.6)).isCloseTo(3.8 / 6, within(1e-12));
    }

    @Test
    void keepsTheKeysUsedMostRecently() {
        RateTable t = new RateTable(1, 2);
        t.count(1, true);
        t.count(2, true);
        t.rate(1, 0.5); // 1 is now more recent than 2
        t.count(3, true);
        assertThat(t.rate(1, 0.5)).isEqualTo(0.75);
        assertThat(t.rate(2, 0.5)).isEqualTo(0.5); // forgotten
        assertThat(t.rate(3, 0.5)).isEqualTo(0.75);
    }

    @Test
    void readsBackWhatItWrote() throws Exception {
        RateTable t = new RateTable(3, 16);
        t.count(-1L << 32 | 5, false);
        t.count(42, true);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        t.write(new DataOutputStream(bytes));
        RateTable back = new RateTable(3, 16);
        back.count(9, true);
        back.read(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
        assertThat(back.rate(42, 0.5)).isEqualTo(t.rate(42, 0.5));
        assertThat(back.rate(-1L << 32 | 5, 0.5)).isEqualTo(t.rate(-1L << 32 | 5, 0.5));
        assertThat(back.rate(9, 0.5)).isEqualTo(0.5);
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        back.write(new DataOutputStream(again));
        assertThat(again.toByteArray()).isEqualTo(bytes.toByteArray());
    }
}
