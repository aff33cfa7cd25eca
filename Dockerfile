# tetris-flink on the official Flink 2.2 image (Java 17): the job jar and the bundled models in
# usrlib, ready for application mode (standalone-job) or the Flink Kubernetes Operator.
#   docker build -t tetris-flink .
# The GPU variant is Dockerfile.gpu.

FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml ./
COPY deploy/cluster/pom.xml deploy/cluster/pom.xml
COPY schemas schemas
COPY engine engine
COPY operators operators
COPY job job
COPY models models
RUN mvn -B -ntp -Pdist -DskipTests -Dspotless.check.skip=true package -pl job -am

FROM flink:2.2.1-java17
COPY --from=build /src/job/target/tetris-job-*-dist.jar /opt/flink/usrlib/tetris.jar
# The native-code libraries (ONNX Runtime, DJL, its tokenizers, JNA, Gson) in Flink's lib/: the
# TaskManager's own class loader loads them once per process, so a restarted, cancelled and
# resubmitted or upgraded job finds them loaded (with classloader.parent-first-patterns.additional:
# ai.djl.;ai.onnxruntime. in the Flink configuration, as the deployments set it).
COPY --from=build /src/job/target/flink-lib/ /opt/flink/lib/
COPY models /opt/flink/usrlib/models
# File systems for checkpoint storage beyond file:// are plugins: s3:// (and s3p://) through Presto.
RUN mkdir -p /opt/flink/plugins/s3-fs-presto \
    && cp /opt/flink/opt/flink-s3-fs-presto-*.jar /opt/flink/plugins/s3-fs-presto/ \
    && mkdir -p /opt/flink/state && chown flink:flink /opt/flink/state
# Flink's committer re-registers its pendingCommittables gauge at every checkpoint and warns each
# time (harmless: the first gauge stays reported); keep that one warning out of the log.
RUN printf '%s\n' \
    'logger.metricgroup.name = org.apache.flink.metrics.MetricGroup' \
    'logger.metricgroup.filter.committables.type = RegexFilter' \
    "logger.metricgroup.filter.committables.regex = .*Name collision.*'pendingCommittables'.*" \
    'logger.metricgroup.filter.committables.onMatch = DENY' \
    'logger.metricgroup.filter.committables.onMismatch = NEUTRAL' \
    | tee -a /opt/flink/conf/log4j-console.properties >> /opt/flink/conf/log4j.properties
ENV DJL_OFFLINE=true OPT_OUT_TRACKING=true DJL_CACHE_DIR=/tmp/djl-cache
