package io.tetris.job.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.tetris.job.cli.Main;
import io.tetris.job.kafka.TopicNames;
import io.tetris.operators.config.TetrisConfig;
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
    void composeProvisionsAGrafanaDashboardOverTheJobsServingMetrics() throws Exception {
        JsonNode compose = new YAMLMapper().readTree(ROOT.resolve("docker-compose.yml").toFile());
        JsonNode grafana = compose.get("services").get("grafana");
        assertThat(grafana).as("grafana service").isNotNull();
        List<String> mounts = new ArrayList<>();
        grafana.get("volumes").forEach(v -> mounts.add(v.asText()));
        assertThat(mounts)
                .contains(
                        "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro",
                        "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro");
        JsonNode datasources =
                new YAMLMapper()
                        .readTree(
                                ROOT.resolve(
                                                "deploy/grafana/provisioning/datasources/prometheus.yml")
                                        .toFile());
        assertThat(datasources.get("datasources").get(0).get("url").asText())
                .isEqualTo("http://prometheus:9090");
        assertThat(compose.get("services").has("prometheus")).isTrue();
        JsonNode providers =
                new YAMLMapper()
                        .readTree(
                                ROOT.resolve("deploy/grafana/provisioning/dashboards/tetris.yml")
                                        .toFile());
        assertThat(providers.get("providers").get(0).get("options").get("path").asText())
                .isEqualTo("/var/lib/grafana/dashboards");

        // Every metric the dashboard queries is one the job exports, and every serving metric
        // the job exports has a panel.
        JsonNode dashboard =
                new ObjectMapper()
                        .readTree(ROOT.resolve("deploy/grafana/dashboards/tetris.json").toFile());
        Set<String> queried = new HashSet<>();
        java.util.regex.Pattern metric =
                java.util.regex.Pattern.compile("flink_taskmanager_job_task_operator_(\\w+)");
        for (JsonNode panel : dashboard.get("panels")) {
            for (JsonNode target : panel.get("targets")) {
                java.util.regex.Matcher m = metric.matcher(target.get("expr").asText());
                while (m.find()) {
                    queried.add(m.group(1));
                }
            }
        }
        assertThat(queried)
                .containsExactlyInAnyOrderElementsOf(io.tetris.operators.loop.ServingMetrics.NAMES);

        // Latency quantiles come from the bucket series, summed over every TaskManager before
        // the quantile is taken; a summary's quantiles (quantile="...") cannot be added up.
        java.util.regex.Pattern clusterQuantile =
                java.util.regex.Pattern.compile(
                        "histogram_quantile\\((0\\.\\d+), sum by \\(le\\) \\(rate\\("
                                + "flink_taskmanager_job_task_operator_(\\w+)\\[1m\\]\\)\\)\\)");
        for (String latency : io.tetris.operators.loop.ServingMetrics.LATENCIES) {
            String buckets = io.tetris.operators.loop.ServingMetrics.bucketSeries(latency);
            List<String> quantiles = new ArrayList<>();
            for (JsonNode panel : dashboard.get("panels")) {
                for (JsonNode target : panel.get("targets")) {
                    String expr = target.get("expr").asText();
                    assertThat(expr).doesNotContain("quantile=");
                    if (expr.contains(buckets)) {
                        java.util.regex.Matcher m = clusterQuantile.matcher(expr);
                        assertThat(m.matches()).as(expr).isTrue();
                        assertThat(m.group(2)).isEqualTo(buckets);
                        quantiles.add(m.group(1));
                    }
                }
            }
            assertThat(quantiles).as(latency).containsExactly("0.5", "0.95", "0.99");
        }
        // Filtered, the reporter would turn le="+Inf" into "_Inf", and histogram_quantile
        // would return NaN for want of a +Inf bucket.
        assertThat(
                        flinkProperties(compose)
                                .getProperty("metrics.reporter.prom.filterLabelValueCharacters"))
                .isEqualTo("false");
        assertThat(
                        yaml("k8s/flink-deployment.yaml")
                                .get(0)
                                .at("/spec/flinkConfiguration")
                                .get("metrics.reporter.prom.filterLabelValueCharacters")
                                .asText())
                .isEqualTo("false");
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

    @Test
    void theImagesPutTheNativeLibrariesInFlinksLibAndTheDeploymentsLoadThemParentFirst()
            throws Exception {
        String rootPom = Files.readString(ROOT.resolve("pom.xml"));
        java.util.regex.Matcher module =
                java.util.regex.Pattern.compile("<module>([^<]+)</module>").matcher(rootPom);
        for (String file : List.of("Dockerfile", "Dockerfile.gpu")) {
            String dockerfile = Files.readString(ROOT.resolve(file));
            assertThat(dockerfile)
                    .as(file)
                    .contains("COPY --from=build /src/job/target/flink-lib/ /opt/flink/lib/")
                    .contains("'pendingCommittables'");
            module.reset();
            while (module.find()) {
                // The build stage needs every module of the reactor, or Maven stops at once.
                String m = module.group(1);
                assertThat(dockerfile)
                        .as(file + " copies module " + m)
                        .containsAnyOf("COPY " + m + " " + m, "COPY " + m + "/pom.xml " + m);
            }
        }
        JsonNode compose = new YAMLMapper().readTree(ROOT.resolve("docker-compose.yml").toFile());
        JsonNode k8s = yaml("k8s/flink-deployment.yaml").get(0).at("/spec/flinkConfiguration");
        for (String patterns :
                List.of(
                        flinkProperties(compose)
                                .getProperty("classloader.parent-first-patterns.additional"),
                        k8s.get("classloader.parent-first-patterns.additional").asText())) {
            assertThat(List.of(patterns.split(";"))).contains("ai.djl.", "ai.onnxruntime.");
        }
    }

    @Test
    void composeKeepsCheckpointsInAVolumeThatOutlivesTheContainersAndResumes() throws Exception {
        JsonNode compose = new YAMLMapper().readTree(ROOT.resolve("docker-compose.yml").toFile());
        JsonNode services = compose.get("services");
        assertThat(compose.get("volumes").has("tetris-state")).isTrue();
        String mount = null;
        for (String service : List.of("jobmanager", "taskmanager")) {
            List<String> volumes = strings(services.get(service).get("volumes"));
            String state =
                    volumes.stream()
                            .filter(v -> v.startsWith("tetris-state:"))
                            .findFirst()
                            .orElseThrow(() -> new AssertionError(service + " mounts no state"));
            mount = state.substring("tetris-state:".length());
            assertThat(services.get(service).get("restart").asText())
                    .as(service)
                    .isEqualTo("unless-stopped");
        }
        List<String> args = strings(services.get("jobmanager").get("command"));
        String stateDir = valueAfter(args, "--state-dir");
        assertThat(java.net.URI.create(stateDir).getPath()).startsWith(mount);
        assertThat(args).as("resumes from the newest checkpoint").doesNotContain("--fresh-start");
        Properties flink = flinkProperties(compose);
        for (String key :
                List.of("execution.checkpointing.dir", "execution.checkpointing.savepoint-dir")) {
            assertThat(java.net.URI.create(flink.getProperty(key)).getPath())
                    .as(key)
                    .startsWith(mount)
                    .doesNotStartWith("/tmp");
        }
        assertThat(flink.getProperty("execution.checkpointing.externalized-checkpoint-retention"))
                .isEqualTo("RETAIN_ON_CANCELLATION");
        assertThat(services.get("kafka").get("environment").get("KAFKA_LOG_DIRS").asText())
                .isEqualTo(strings(services.get("kafka").get("volumes")).get(0).split(":", 2)[1]);
    }

    @Test
    void kubernetesHasHighAvailabilityAndLetsTheOperatorRestore() throws Exception {
        JsonNode spec = yaml("k8s/flink-deployment.yaml").get(0).get("spec");
        JsonNode flink = spec.get("flinkConfiguration");
        assertThat(flink.get("high-availability.type").asText()).isEqualTo("kubernetes");
        assertThat(java.net.URI.create(flink.get("high-availability.storageDir").asText()))
                .satisfies(u -> assertThat(u.getScheme()).isNotIn(null, "file"));
        List<String> args = strings(spec.get("job").get("args"));
        assertThat(java.net.URI.create(valueAfter(args, "--state-dir")).getScheme())
                .isNotIn(null, "file");
        // Kubernetes HA and the operator's savepoints restore the job; serve must not pick one.
        assertThat(args).contains("--fresh-start");
    }

    @Test
    void everyStorageUriHasItsFileSystemPluginInTheImage() throws Exception {
        JsonNode compose = new YAMLMapper().readTree(ROOT.resolve("docker-compose.yml").toFile());
        List<String> composeUris = storageUris(flinkProperties(compose));
        composeUris.add(
                valueAfter(strings(compose.at("/services/jobmanager/command")), "--state-dir"));
        assertThat(compose.at("/services/jobmanager/build").asText()).isEqualTo(".");
        assertThat(missingPlugins(composeUris, Files.readString(ROOT.resolve("Dockerfile"))))
                .isEmpty();

        JsonNode spec = yaml("k8s/flink-deployment.yaml").get(0).get("spec");
        Properties k8s = new Properties();
        spec.get("flinkConfiguration")
                .fields()
                .forEachRemaining(e -> k8s.setProperty(e.getKey(), e.getValue().asText()));
        List<String> k8sUris = storageUris(k8s);
        k8sUris.add(valueAfter(strings(spec.get("job").get("args")), "--state-dir"));
        assertThat(k8sUris).anyMatch(u -> u.startsWith("s3://")).hasSizeGreaterThan(3);
        String image = spec.get("image").asText();
        String dockerfile = image.endsWith(":gpu") ? "Dockerfile.gpu" : "Dockerfile";
        assertThat(missingPlugins(k8sUris, Files.readString(ROOT.resolve(dockerfile)))).isEmpty();
    }

    @Test
    void thePluginCheckFailsForASchemeWhoseFileSystemTheImageLacks() {
        String plain = "FROM flink:2.2.1-java17\n";
        String presto =
                plain
                        + "RUN mkdir -p /opt/flink/plugins/s3-fs-presto \\\n"
                        + "    && cp /opt/flink/opt/flink-s3-fs-presto-*.jar"
                        + " /opt/flink/plugins/s3-fs-presto/\n";
        assertThat(missingPlugins(List.of("s3://bucket/checkpoints"), plain))
                .singleElement()
                .asString()
                .contains("s3://bucket/checkpoints")
                .contains("flink-s3-fs-presto");
        assertThat(missingPlugins(List.of("s3://bucket/checkpoints", "s3p://b/x"), presto))
                .isEmpty();
        assertThat(missingPlugins(List.of("s3a://bucket/x", "gs://bucket/x"), presto)).hasSize(2);
        assertThat(missingPlugins(List.of("hdfs://nn/x"), presto)).hasSize(1);
        assertThat(
                        missingPlugins(
                                List.of("gs://bucket/x"),
                                plain
                                        + "ENV ENABLE_BUILT_IN_PLUGINS=flink-gs-fs-hadoop-2.2.1.jar\n"))
                .isEmpty();
        assertThat(missingPlugins(List.of("file:///opt/flink/state", "/data/x"), plain)).isEmpty();
    }

    /** File system schemes that need a plugin, and the Flink plugin jars that provide each. */
    private static final java.util.Map<String, List<String>> PLUGIN_SCHEMES =
            java.util.Map.of(
                    "s3", List.of("flink-s3-fs-presto", "flink-s3-fs-hadoop"),
                    "s3p", List.of("flink-s3-fs-presto"),
                    "s3a", List.of("flink-s3-fs-hadoop"),
                    "gs", List.of("flink-gs-fs-hadoop"),
                    "abfs", List.of("flink-azure-fs-hadoop"),
                    "abfss", List.of("flink-azure-fs-hadoop"),
                    "wasb", List.of("flink-azure-fs-hadoop"),
                    "wasbs", List.of("flink-azure-fs-hadoop"),
                    "oss", List.of("flink-oss-fs-hadoop"));

    /**
     * The storage URIs whose scheme the image cannot serve: {@code file} is built in; every other
     * scheme needs one of its plugin jars placed under {@code /opt/flink/plugins/} by the
     * Dockerfile (or listed in {@code ENABLE_BUILT_IN_PLUGINS}).
     */
    static List<String> missingPlugins(List<String> uris, String dockerfile) {
        Set<String> enabled = new HashSet<>();
        java.util.regex.Pattern jar = java.util.regex.Pattern.compile("flink-[a-z0-9]+-fs-[a-z]+");
        for (String instruction : dockerfile.replace("\\\n", " ").split("\n")) {
            if (instruction.contains("/opt/flink/plugins/")
                    || instruction.contains("ENABLE_BUILT_IN_PLUGINS")) {
                java.util.regex.Matcher m = jar.matcher(instruction);
                while (m.find()) {
                    enabled.add(m.group());
                }
            }
        }
        List<String> problems = new ArrayList<>();
        for (String uri : uris) {
            String scheme = java.net.URI.create(uri).getScheme();
            if (scheme == null || scheme.equals("file")) {
                continue;
            }
            List<String> plugins = PLUGIN_SCHEMES.getOrDefault(scheme, List.of());
            if (plugins.stream().noneMatch(enabled::contains)) {
                problems.add(
                        uri
                                + ": scheme '"
                                + scheme
                                + "' needs "
                                + (plugins.isEmpty()
                                        ? "a file system this image does not provide"
                                        : "one of " + plugins + " under /opt/flink/plugins/")
                                + " in the image");
            }
        }
        return problems;
    }

    /** The checkpoint, savepoint and HA storage locations among Flink settings. */
    private static List<String> storageUris(Properties flink) {
        List<String> uris = new ArrayList<>();
        for (String key :
                List.of(
                        "execution.checkpointing.dir",
                        "execution.checkpointing.savepoint-dir",
                        "high-availability.storageDir")) {
            if (flink.getProperty(key) != null) {
                uris.add(flink.getProperty(key));
            }
        }
        return uris;
    }

    private static Properties flinkProperties(JsonNode compose) throws Exception {
        Properties flink = new Properties();
        flink.load(
                new StringReader(
                        compose.get("x-flink-config")
                                .get("FLINK_PROPERTIES")
                                .asText()
                                .replace(": ", "=")));
        return flink;
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
