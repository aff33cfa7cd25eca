package io.tetris.job.docs;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.operators.config.TetrisOptions;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.configuration.ConfigOption;
import org.junit.jupiter.api.Test;

/**
 * The README's configuration table states each option's default by hand; the {@link TetrisOptions}
 * are the source. Where a row lists plain values (one per option it names), they must be the
 * options' defaults.
 */
class ReadmeOptionsTest {

    private static final Pattern OPTION = Pattern.compile("`(tetris\\.[a-z0-9.-]+)`");

    @Test
    void theConfigurationTableStatesTheOptionsDefaults() throws Exception {
        Map<String, Object> defaults = new HashMap<>();
        for (Field f : TetrisOptions.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.get(null) instanceof ConfigOption<?> o) {
                if (o.hasDefaultValue()) {
                    defaults.put(o.key(), o.defaultValue());
                }
            }
        }
        String readme = Files.readString(Path.of("..", "README.md"), StandardCharsets.UTF_8);
        String table = readme.substring(readme.indexOf("## Configuration"));
        table = table.substring(0, table.indexOf("\n## "));
        List<String> checked = new ArrayList<>();
        List<String> wrong = new ArrayList<>();
        for (String row : table.split("\n")) {
            String[] cells = row.split("(?<!\\\\)\\|");
            if (cells.length < 4 || !cells[1].contains("`tetris.")) {
                continue;
            }
            List<String> keys = new ArrayList<>();
            Matcher m = OPTION.matcher(cells[1]);
            while (m.find()) {
                keys.add(m.group(1));
            }
            String[] values = cells[2].trim().split(",\\s*");
            if (values.length != keys.size()) {
                continue; // a described default, not a list of values
            }
            for (int i = 0; i < keys.size(); i++) {
                String value = values[i].replace("`", "").trim();
                Object expected = defaults.get(keys.get(i));
                if (expected == null || !value.matches("[A-Za-z0-9.+-]+")) {
                    continue; // no default in code, or one described in words
                }
                checked.add(keys.get(i));
                if (!same(expected, value)) {
                    wrong.add(keys.get(i) + ": README says " + value + ", code " + expected);
                }
            }
        }
        assertThat(wrong).as("README defaults that are not the code's").isEmpty();
        // Not vacuous: the policy, batching and model options are in plain values.
        assertThat(checked)
                .contains(
                        "tetris.policy",
                        "tetris.k",
                        "tetris.extra",
                        "tetris.dsd.max-k",
                        "tetris.batch.max-running",
                        "tetris.model.max-context");
    }

    private static boolean same(Object expected, String value) {
        if (value.equalsIgnoreCase("none")) {
            return expected instanceof java.util.Collection<?> c
                    ? c.isEmpty()
                    : String.valueOf(expected).isEmpty();
        }
        if (expected instanceof Number n) {
            try {
                return Double.parseDouble(value) == n.doubleValue();
            } catch (NumberFormatException e) {
                return false;
            }
        }
        return String.valueOf(expected).equalsIgnoreCase(value);
    }
}
