package io.tetris.job.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchReportTest {

    private static final double NAN = Double.NaN;

    private static final List<BenchRow> ROWS =
            List.of(
                    row("none", 0, 0, 1, 90.4, NAN),
                    row("fixed", 2, 0, 1, 120.1, 0.70, 0.85, 0.70),
                    row("fixed", 3, 0, 1, 150.2, 0.62, 0.82, 0.61, 0.44),
                    row("dsd", 0, 0, 1, 140.9, 0.80, 0.91, 0.83, 0.66, NAN),
                    row("tetris", 3, 2, 1, 145.5, 0.69, 0.94, 0.79, 0.68, 0.52, 0.38),
                    row("tetris-adaptive", 0, 2, 1, 139.0, 0.74, 0.92, 0.78, 0.64, NAN, 0.31),
                    row("none", 0, 0, 8, 400.4, NAN),
                    row("fixed", 2, 0, 8, 700.1, 0.70, 0.85, 0.70),
                    row("fixed", 3, 0, 8, 812.34, 0.61, 0.80, 0.60, 0.45),
                    row("dsd", 0, 0, 8, 905.0, 0.83, 0.90, 0.85, 0.70, NAN),
                    row("tetris", 3, 2, 8, 1234.56, 0.71234, 0.95, 0.80, 0.70, 0.55, 0.40),
                    row("tetris-adaptive", 0, 2, 8, 1100.0, 0.75, 0.93, 0.79, 0.66, NAN, 0.30));

    @TempDir Path directory;

    @Test
    void csvHasOneLinePerRowAndAcceptanceColumnsUpToTheLongestWindow() throws IOException {
        BenchReport.write(ROWS, "Bench", "note", directory);

        List<String> lines = Files.readAllLines(directory.resolve("results.csv"));
        assertThat(lines).hasSize(1 + ROWS.size());
        String[] header = lines.get(0).split(",", -1);
        assertThat(header).hasSize(25 + 5);
        assertThat(header[6]).isEqualTo("tokens_per_second");
        assertThat(header[15]).isEqualTo("verification_success_rate");
        assertThat(header[18]).isEqualTo("model_ms_per_round");
        assertThat(header[19]).isEqualTo("host_ms_per_round");
        assertThat(Arrays.copyOfRange(header, 20, 25))
                .containsExactly(
                        "decode_tokens_per_second",
                        "prefill_ms_per_round",
                        "draft_ms_per_round",
                        "verify_ms_per_round",
                        "other_ms_per_round");
        assertThat(Arrays.copyOfRange(header, 25, 30))
                .containsExactly(
                        "acceptance_pos1",
                        "acceptance_pos2",
                        "acceptance_pos3",
                        "acceptance_pos4",
                        "acceptance_pos5");
        for (String line : lines) {
            assertThat(line.split(",", -1)).as(line).hasSize(header.length);
        }

        String[] tetris = line(lines, "tetris,tetris k=3 e=2,3,2,8,");
        assertThat(tetris[6]).isEqualTo("1234.6");
        assertThat(tetris[15]).isEqualTo("0.7123");
        assertThat(tetris[18]).isEqualTo("12.500");
        assertThat(tetris[19]).isEqualTo("1.250");
        assertThat(Arrays.copyOfRange(tetris, 20, 25))
                .containsExactly("1543.2", "0.500", "2.000", "10.000", "1.250");
        assertThat(Arrays.copyOfRange(tetris, 25, 30))
                .containsExactly("0.9500", "0.8000", "0.7000", "0.5500", "0.4000");

        // A NaN position and the positions past a row's window are both empty cells.
        String[] dsd = line(lines, "dsd,dsd,0,0,8,");
        assertThat(Arrays.copyOfRange(dsd, 25, 30))
                .containsExactly("0.9000", "0.8500", "0.7000", "", "");
        String[] none = line(lines, "none,none,0,0,1,");
        assertThat(none[15]).isEmpty();
        assertThat(Arrays.copyOfRange(none, 25, 30)).containsOnly("");
    }

    @Test
    void markdownHasOneSectionPerBatchWithTheBestRowsInBold() {
        String markdown = BenchReport.markdown(ROWS, "Tetris on a laptop", "Machine: 8 cores.");

        assertThat(markdown).startsWith("# Tetris on a laptop\n\nMachine: 8 cores.\n");
        int batch1 = markdown.indexOf("\n## Running batch 1\n");
        int batch8 = markdown.indexOf("\n## Running batch 8\n");
        int acceptance = markdown.indexOf("\n## Acceptance by draft position\n");
        assertThat(batch1).isPositive().isLessThan(batch8);
        assertThat(batch8).isLessThan(acceptance);

        List<String> section8 = tableLines(markdown.substring(batch8, acceptance));
        assertThat(section8).hasSize(2 + 6);
        // Fastest first, and bold.
        assertThat(section8.get(2)).startsWith("| **tetris k=3 e=2** | **1234.6** | **");
        // Highest VSR (dsd) is bold as well; the others are not.
        assertThat(section8)
                .contains(
                        "| **dsd** | **905.0** | **895.0–915.0** | **1131.3** | **1.50** |"
                                + " **1000** | **800** | **664** | **83.0%** | **2.20** |"
                                + " **90.0%** | **12.50** | **1.25** | **0.50 / 2.00 / 10.00 /"
                                + " 1.25** |");
        assertThat(section8.get(3)).startsWith("| tetris-adaptive | 1100.0 |");
        assertThat(section8.stream().filter(l -> l.contains("**"))).hasSize(2);

        List<String> section1 = tableLines(markdown.substring(batch1, batch8));
        assertThat(section1.get(2)).startsWith("| **fixed k=3** | **150.2** |");
        assertThat(section1)
                .contains(
                        "| none | 90.4 | 80.4–100.4 | 113.0 | 1.50 | 0 | 0 | 0 | – | – | – | 12.50"
                                + " | 1.25 | 0.50 / 2.00 / 10.00 / 1.25 |");

        String positions = markdown.substring(acceptance);
        assertThat(positions)
                .contains("\n### Running batch 1\n")
                .contains("\n### Running batch 8\n")
                .contains("| label | pos 1 | pos 2 | pos 3 | pos 4 | pos 5 |\n")
                .contains("| fixed k=2 | 85.0% | 70.0% | – | – | – |\n")
                .contains("| dsd | 90.0% | 85.0% | 70.0% | – | – |\n")
                .contains("| tetris-adaptive | 93.0% | 79.0% | 66.0% | – | 30.0% |\n")
                .doesNotContain("| none |")
                .contains("![throughput](throughput.png)")
                .contains("![acceptance by position](acceptance.png)");
    }

    @Test
    void chartsArePngsOfTheExpectedSizeWithTheFamiliesDrawn() throws IOException {
        BenchReport.write(ROWS, "Bench", "note", directory.resolve("nested"));

        for (String name : List.of("throughput.png", "acceptance.png")) {
            Path file = directory.resolve("nested").resolve(name);
            assertThat(file).exists();
            assertThat(Files.size(file)).as(name).isPositive();
            BufferedImage image = ImageIO.read(file.toFile());
            assertThat(image).as(name).isNotNull();
            assertThat(image.getWidth()).as(name).isEqualTo(1000);
            assertThat(image.getHeight()).as(name).isEqualTo(600);
        }

        BufferedImage throughput =
                ImageIO.read(directory.resolve("nested/throughput.png").toFile());
        for (String family :
                List.of("none", "fixed (best k)", "dsd", "tetris (best k,e)", "tetris-adaptive")) {
            assertThat(pixelsOf(throughput, BenchCharts.colour(family)))
                    .as(family)
                    .isGreaterThan(200);
        }
        // No speculation, no acceptance: the none family has no line in the acceptance chart.
        BufferedImage acceptance =
                ImageIO.read(directory.resolve("nested/acceptance.png").toFile());
        assertThat(pixelsOf(acceptance, BenchCharts.colour("tetris (best k,e)")))
                .isGreaterThan(200);
        assertThat(pixelsOf(acceptance, BenchCharts.colour("none"))).isZero();
        assertThat(Files.readString(directory.resolve("nested/results.md"), StandardCharsets.UTF_8))
                .isEqualTo(BenchReport.markdown(ROWS, "Bench", "note"));
    }

    private static BenchRow row(
            String policy,
            int k,
            int extra,
            int batch,
            double tokensPerSecond,
            double verificationSuccessRate,
            double... acceptance) {
        boolean speculates = acceptance.length > 0;
        return new BenchRow(
                policy,
                k,
                extra,
                batch,
                3,
                tokensPerSecond,
                tokensPerSecond - 10,
                tokensPerSecond + 10,
                1500,
                1000,
                speculates ? 1000 : 0,
                speculates ? 800 : 0,
                speculates ? Math.round(800 * verificationSuccessRate) : 0,
                verificationSuccessRate,
                speculates ? 2.2 : NAN,
                speculates ? 0.9 : NAN,
                12.5,
                1.25,
                tokensPerSecond * 1.25,
                new io.tetris.measure.RunResult.PhaseMillis(0.5, 2.0, 10.0, 1.25),
                acceptance);
    }

    private static String[] line(List<String> lines, String prefix) {
        List<String> matching = lines.stream().filter(l -> l.startsWith(prefix)).toList();
        assertThat(matching).as(prefix).hasSize(1);
        return matching.get(0).split(",", -1);
    }

    private static List<String> tableLines(String section) {
        return section.lines().filter(l -> l.startsWith("|")).toList();
    }

    private static int pixelsOf(BufferedImage image, Color colour) {
        int count = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                if ((image.getRGB(x, y) & 0xFFFFFF) == (colour.getRGB() & 0xFFFFFF)) {
                    count++;
                }
            }
        }
        return count;
    }
}
