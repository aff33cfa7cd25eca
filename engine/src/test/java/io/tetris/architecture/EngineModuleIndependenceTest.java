package io.tetris.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.Location;
import io.tetris.engine.RequestValidator;
import java.net.URISyntaxException;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Every class of the engine module (its own compiled classes, whatever package they are in) stays
 * free of Flink and of the layers above it: schemas ← engine ← operators ← job.
 */
class EngineModuleIndependenceTest {

    private static final JavaClasses ENGINE = importEngineModule();

    private static JavaClasses importEngineModule() {
        try {
            // The engine's main output (target/classes or the jar), not the whole classpath.
            Location main =
                    Location.of(
                            RequestValidator.class
                                    .getProtectionDomain()
                                    .getCodeSource()
                                    .getLocation()
                                    .toURI());
            return new ClassFileImporter().importLocations(Set.of(main));
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void engineDependsOnNeitherFlinkNorTheLayersAboveIt() {
        noClasses()
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "org.apache.flink..",
                        "io.tetris.operators..",
                        "io.tetris.operators.config..",
                        "io.tetris.job..")
                .because("the engine runs the same in Flink, the bench, the simulator and tests")
                .check(ENGINE);
    }

    @Test
    void theRuleSeesTheWholeEngine() {
        // Guards against the rule above passing vacuously on an empty import.
        for (String pkg : new String[] {"io.tetris.core", "io.tetris.model", "io.tetris.engine"}) {
            assertThat(ENGINE.containPackage(pkg)).as(pkg).isTrue();
        }
        assertThat(ENGINE.containPackage("io.tetris.measure")).isTrue();
        assertThat(ENGINE.size()).isGreaterThan(50);
        assertThat(ENGINE.stream().noneMatch(c -> c.getName().endsWith("Test"))).isTrue();
    }
}
