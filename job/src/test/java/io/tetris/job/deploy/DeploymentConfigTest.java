package io.tetris.job.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.tetris.config.TetrisConfig;
import io.tetris.job.cli.Main;
import io.tetris.job.kafka.TopicNames;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The deployment files (Dockerfile, docker-compose.yml, k8s/) agree with the job: entry class,
 * arguments the command line accepts, topic names, metrics port, model paths, valid settings.
 */
class DeploymentConfigTest {

    private static final Path ROOT = root();
    private static final String MODELS_IN_IMAGE = "/opt/flink/usrlib/models";

    @Test
    void composeRunsTheJobWithArgumentsItAcceptsAndCreatesItsTopics() throws Exception {
        JsonNode compose = new YAMLMapper().readTree(ROOT.resolve("docker-compose.yml").toFile());
        JsonNode services = compose.get("services");
        assertThat(services.fieldNames())
                .toIterable()
                .contains("kafka", "topics", "jobmanager", "taskmanager", "prometheus");

        List<String> command = strings(services.get("jobmanager").get("command"));
        assertThat(command.subList(0, 3))
                .containsExactly("standalone-job", "--job-classname", Main.class.getName());
        List<String> jobArgs = command.subList(3, command.size());
        assertAccepted(jobArgs);
        assertThat(valueAfter(jobArgs, "--models")).isEqualTo(MODELS_IN_IMAGE);
        assertThat(topicArgs(jobArgs)).isEqualTo(TopicNames.defaults());

        String init = services.get("topics").get("command").get(0).asText();
        for (String topic : TopicNames.defaults().all()) {
            assertThat(init).contains(topic);
        }
        assertThat(valueAfter(jobArgs, "--bootstrap-servers")).isEqualTo("kafka:9092");
        assertThat(
                        services.get("kafka")
                                .get("environment")
                                .get("KAFKA_ADVERTISED_LISTENERS")
                                .asText())
                .contains("PLAINTEXT://kafka:9092");

        // Both Flink services merge the shared x-flink-config block into their environment.
        for (String service : List.of("jobmanager", "taskmanager")) {
            assertThat(services.get(service).get("environment").has("<<")).as(service).isTrue();
        }
        Properties flink = new Properties();
        flink.load(
                new StringReader(
                        compose.get("x-flink-config")
                                .get("FLINK_PROPERTIES")
                                .asText()
                                .replace(": ", "=")));
        String metricsPort = flink.getProperty("metrics.reporter.prom.port");
        assertThat(Files.readString(ROOT.resolve("deploy/prometheus.yml")))
                .contains("jobmanager:" + metricsPort)
                .contains("taskmanager:" + metricsPort);
        assertThat(flink.getProperty("classloader.parent-first-patterns.additional"))
                .contains("ai.onnxruntime.");
        assertThat(strings(services.get("taskmanager").get("command")))
                .containsExactly("taskmanager");
    }

    @Test
    void theImageHoldsTheJarAndTheModelsWhereTheDeploymentsLook() throws Exception {
        for (String file : List.of("Dockerfile", "Dockerfile.gpu")) {
            String dockerfile = Files.readString(ROOT.resolve(file));
            assertThat(dockerfile).contains("flink:2.2.1-java17");
            assertThat(dockerfile).contains("/opt/flink/usrlib/tetris.jar");
            assertThat(dockerfile).contains("COPY models " + MODELS_IN_IMAGE);
        }
        assertThat(Files.readString(ROOT.resolve("Dockerfile.gpu"))).contains("-Pgpu,dist");
    }

    @Test
    void kubernetesManifestsAgreeWithTheJob() throws Exception {
        JsonNode deployment = yaml("k8s/flink-deployment.yaml").get(0);
        assertThat(deployment.get("kind").asText()).isEqualTo("FlinkDeployment");
        JsonNode spec = deployment.get("spec");
        JsonNode job = spec.get("job");
        assertThat(job.get("entryClass").asText()).isEqualTo(Main.class.getName());
        assertThat(job.get("jarURI").asText()).isEqualTo("local:///opt/flink/usrlib/tetris.jar");
        assertThat(job.get("upgradeMode").asText()).isEqualTo("savepoint");
        List<String> args = strings(job.get("args"));
        assertAccepted(args);
        assertThat(valueAfter(args, "--models")).isEqualTo(MODELS_IN_IMAGE);
        assertThat(spec.get("flinkConfiguration").get("execution.checkpointing.dir").asText())
                .isNotBlank();
        assertThat(
                        spec.get("flinkConfiguration")
                                .get("execution.checkpointing.savepoint-dir")
                                .asText())
                .isNotBlank();
        assertThat(
                        spec.get("flinkConfiguration")
                                .get("metrics.reporter.prom.factory.class")
                                .asText())
                .contains("Prometheus");
        JsonNode tmContainer =
                spec.get("taskManager").get("podTemplate").get("spec").get("containers").get(0);
        assertThat(tmContainer.get("name").asText()).isEqualTo("flink-main-container");
        assertThat(tmContainer.get("resources").get("limits").get("nvidia.com/gpu").asInt())
                .isEqualTo(1);
        assertThat(Integer.parseInt(valueAfter(args, "--replicas")))
                .isEqualTo(job.get("parallelism").asInt());

        Set<String> topics = new HashSet<>();
        for (JsonNode topic : yaml("k8s/kafka-topics.yaml")) {
            assertThat(topic.get("kind").asText()).isEqualTo("KafkaTopic");
            assertThat(topic.get("metadata").get("labels").get("strimzi.io/cluster").asText())
                    .isEqualTo("tetris-kafka");
            topics.add(topic.get("metadata").get("name").asText());
        }
        assertThat(topics).containsExactlyInAnyOrderElementsOf(topicArgs(args).all());

        JsonNode configMap = yaml("k8s/configmap.yaml").get(0);
        String mount =
                spec.get("podTemplate")
                        .get("spec")
                        .get("containers")
                        .get(0)
                        .get("volumeMounts")
                        .get(0)
                        .get("mountPath")
                        .asText();
        assertThat(valueAfter(args, "--settings")).isEqualTo(mount + "/tetris.properties");
        assertThat(valueAfter(args, "--kafka-config")).isEqualTo(mount + "/kafka.properties");
        Properties settings = new Properties();
        settings.load(new StringReader(configMap.get("data").get("tetris.properties").asText()));
        Configuration conf = new Configuration();
        settings.stringPropertyNames().forEach(k -> conf.setString(k, settings.getProperty(k)));
        assertThat(settings.stringPropertyNames()).allMatch(k -> k.startsWith("tetris."));
        TetrisConfig config = TetrisConfig.from(conf); // throws listing any invalid setting
        assertThat(config.batch().maxRunning()).isEqualTo(64);
        Properties kafka = new Properties();
        kafka.load(new StringReader(configMap.get("data").get("kafka.properties").asText()));
        assertThat(kafka.getProperty("bootstrap.servers"))
                .startsWith("tetris-kafka-kafka-bootstrap");
        assertThat(Files.readString(ROOT.resolve("k8s/README.md"))).contains("kubectl apply");
    }

    private static void assertAccepted(List<String> args) {
        // Throws a ParameterException naming any option the command line does not know.
        new CommandLine(Main.class).parseArgs(args.toArray(new String[0]));
    }

    private static TopicNames topicArgs(List<String> args) {
        return new TopicNames(
                valueAfter(args, "--requests-topic"),
                valueAfter(args, "--tokens-topic"),
                valueAfter(args, "--results-topic"),
                valueAfter(args, "--errors-topic"));
    }

    private static String valueAfter(List<String> args, String option) {
        int i = args.indexOf(option);
        assertThat(i).as(option).isNotNegative();
        return args.get(i + 1);
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        if (array.isTextual()) {
            out.add(array.asText());
        } else {
            array.forEach(n -> out.add(n.asText()));
        }
        return out;
    }

    private static List<JsonNode> yaml(String file) throws Exception {
        ObjectReader reader = new ObjectMapper(new YAMLFactory()).readerFor(JsonNode.class);
        List<JsonNode> docs = new ArrayList<>();
        try (var it = reader.readValues(ROOT.resolve(file).toFile())) {
            while (it.hasNext()) {
                docs.add((JsonNode) it.next());
            }
        }
        return docs;
    }

    private static Path root() {
        Path dir = Paths.get("").toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("docker-compose.yml"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("no docker-compose.yml above the working directory");
        }
        return dir;
    }
}
