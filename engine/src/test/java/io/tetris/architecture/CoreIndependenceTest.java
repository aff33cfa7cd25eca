package io.tetris.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The speculative decoding core must stay free of Flink and of the model runtime, so it can be
 * tested directly and reused by the benchmark and the simulator.
 */
class CoreIndependenceTest {

    private static final JavaClasses CORE =
            new ClassFileImporter()
                    .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                    .importPackages("io.tetris.core", "io.tetris.policy");

    @Test
    void coreHasNoFlinkDjlOrOnnxRuntimeDependencies() {
        noClasses()
                .that()
                .resideInAnyPackage("io.tetris.core..", "io.tetris.policy..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "org.apache.flink..", "ai.djl..", "ai.onnxruntime..", "org.apache.kafka..")
                .because(
                        "the core (maths) and the policies (and their online learners) are tested"
                                + " without Flink or models")
                .check(CORE);
    }

    @Test
    void engineHasNoFlinkDependencies() {
        noClasses()
                .that()
                .resideInAPackage("io.tetris.engine..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("org.apache.flink..", "org.apache.kafka..")
                .because("the decode round runs the same in Flink, the benchmark and the tests")
                .check(
                        new ClassFileImporter()
                                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                                .importPackages("io.tetris.engine"));
    }

    @Test
    void coreIsNotEmpty() {
        // Guards against the rule above passing vacuously after a package rename.
        org.assertj.core.api.Assertions.assertThat(CORE.containPackage("io.tetris.core")).isTrue();
        org.assertj.core.api.Assertions.assertThat(CORE.containPackage("io.tetris.policy"))
                .isTrue();
        org.assertj.core.api.Assertions.assertThat(CORE.size()).isGreaterThan(10);
    }
}
