package io.tetris.job.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TopicNamesTest {

    @Test
    void defaultsAreTheDocumentedNames() {
        TopicNames names = TopicNames.defaults();

        assertThat(names.all())
                .containsExactly(
                        "tetris.requests", "tetris.tokens", "tetris.results", "tetris.errors");
        assertThat(names.responses())
                .containsExactly("tetris.tokens", "tetris.results", "tetris.errors");
    }

    @Test
    void prefixNamesAllFourTopics() {
        assertThat(TopicNames.withPrefix("staging").all())
                .containsExactly(
                        "staging.requests", "staging.tokens", "staging.results", "staging.errors");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "  "})
    void rejectsBlankNames(String blank) {
        assertThatThrownBy(() -> new TopicNames("a", "b", blank, "d"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("results topic name must not be blank");
        assertThatThrownBy(() -> new TopicNames(null, "b", "c", "d"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("requests");
    }

    @Test
    void rejectsASharedName() {
        assertThatThrownBy(() -> new TopicNames("in", "out", "out", "err"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("distinct")
                .hasMessageContaining("'out'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"has space", "slash/topic", "ünicode", ".", ".."})
    void rejectsIllegalKafkaNames(String illegal) {
        assertThatThrownBy(() -> new TopicNames("a", illegal, "c", "d"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tokens topic name");
    }

    @Test
    void rejectsNamesLongerThanKafkaAllows() {
        String tooLong = "t".repeat(250);
        assertThatThrownBy(() -> new TopicNames("a", "b", "c", tooLong))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("errors topic name");
        assertThat(new TopicNames("a", "b", "c", "t".repeat(249)).errors()).hasSize(249);
    }
}
