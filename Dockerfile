# tetris-flink on the official Flink 2.2 image (Java 17): the job jar and the bundled models in
# usrlib, ready for application mode (standalone-job) or the Flink Kubernetes Operator.
#   docker build -t tetris-flink .
# The GPU variant is Dockerfile.gpu.

FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml ./
COPY schemas schemas
COPY operators operators
COPY job job
COPY models models
RUN mvn -B -ntp -Pdist -DskipTests -Dspotless.check.skip=true package -pl job -am

FROM flink:2.2.1-java17
COPY --from=build /src/job/target/tetris-job-*-dist.jar /opt/flink/usrlib/tetris.jar
COPY models /opt/flink/usrlib/models
ENV DJL_OFFLINE=true OPT_OUT_TRACKING=true DJL_CACHE_DIR=/tmp/djl-cache
