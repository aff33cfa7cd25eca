#!/usr/bin/env bash
# A standalone Flink session cluster on this machine, from Flink's own artifacts on Maven Central
# (flink-dist is not published there: deploy/cluster/pom.xml assembles Flink's lib/ from
# flink-runtime, flink-streaming-java, flink-clients, the Pekko RPC loader and the web UI).
# The JobManager and each TaskManager are separate JVM processes, started the way Flink's own
# scripts start them (StandaloneSessionClusterEntrypoint, TaskManagerRunner, memory settings from
# BashJavaUtils), with durable checkpoints and the job's native libraries in lib/.
#
#   deploy/cluster/flink-cluster.sh start               # JobManager + one TaskManager
#   ./tetris serve --bootstrap-servers HOST:9092 --create-topics \
#       --jobmanager localhost:8081 --jar job/target/tetris-job-0.1.0-SNAPSHOT-dist.jar --detached
#   deploy/cluster/flink-cluster.sh kill-taskmanager    # SIGKILL, then start-taskmanager
#   deploy/cluster/flink-cluster.sh stop
#
# Commands:
#   setup              build what the cluster needs if missing: Flink's lib/ (mvn -f
#                      deploy/cluster/pom.xml package), the dist jar and target/flink-lib (mvn -Pdist
#                      package -pl job -am -DskipTests); --force rebuilds both
#   start              setup, start-jobmanager, start-taskmanager
#   start-jobmanager   start the JobManager (REST and web UI on FLINK_REST_PORT) and wait for it
#   start-taskmanager  start one more TaskManager and wait until it has registered
#   kill-taskmanager   SIGKILL the newest running TaskManager (--all: every TaskManager)
#   kill-jobmanager    SIGKILL the JobManager
#   stop               stop every process of this cluster (SIGTERM, then SIGKILL after 30 s)
#   status             the processes and what the JobManager reports
#
# Environment (read when the configuration is first written, then edit conf/config.yaml):
#   TETRIS_CLUSTER_HOME  lib/, conf/, log/, pids and checkpoints (default ~/.tetris/cluster)
#   FLINK_REST_PORT      REST API and web UI (default 8081)
#   FLINK_RPC_PORT       JobManager RPC (default 6123)
#   TM_SLOTS             slots per TaskManager (default 2)
#   TM_MEMORY, JM_MEMORY process sizes (default 2048m, 1024m)
#   CHECKPOINT_DIR       default checkpoint storage, a Flink file system URI (default
#                        file://$TETRIS_CLUSTER_HOME/checkpoints); serve --state-dir overrides it
#                        per job
#   FLINK_LIB            a prepared Flink lib/ to use instead of deploy/cluster/target/flink/lib
#   TETRIS_FLINK_LIB     the job's native libraries (default job/target/flink-lib)
set -euo pipefail

TETRIS_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HOME_DIR="${TETRIS_CLUSTER_HOME:-$HOME/.tetris/cluster}"
REST_PORT="${FLINK_REST_PORT:-8081}"
RPC_PORT="${FLINK_RPC_PORT:-6123}"
SLOTS="${TM_SLOTS:-2}"
TM_MEMORY="${TM_MEMORY:-2048m}"
JM_MEMORY="${JM_MEMORY:-1024m}"
FLINK_LIB="${FLINK_LIB:-$TETRIS_HOME/deploy/cluster/target/flink/lib}"
NATIVE_LIB="${TETRIS_FLINK_LIB:-$TETRIS_HOME/job/target/flink-lib}"
DIST_JAR="$TETRIS_HOME/job/target/tetris-job-0.1.0-SNAPSHOT-dist.jar"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

LIB="$HOME_DIR/lib"
CONF="$HOME_DIR/conf"
LOG="$HOME_DIR/log"
PIDS="$HOME_DIR/pids"

# Flink's recommended module opens for Java 17 (as the tetris launcher uses them).
JVM_OPENS=(
    -XX:+IgnoreUnrecognizedVMOptions --enable-native-access=ALL-UNNAMED
    --add-exports=java.base/sun.net.util=ALL-UNNAMED
    --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED
    --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED
    --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED
    --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
    --add-opens=java.base/java.text=ALL-UNNAMED --add-opens=java.base/java.time=ALL-UNNAMED
    --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
    --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
    --add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED
)

say() { echo "flink-cluster: $*" >&2; }
die() { say "$*"; exit 1; }

setup() {
    local force="${1:-}"
    if [ "$force" = "--force" ] || ! ls "$FLINK_LIB"/flink-runtime-*.jar >/dev/null 2>&1; then
        say "assembling Flink's lib/ from Maven Central (deploy/cluster/pom.xml) ..."
        (cd "$TETRIS_HOME" && mvn -B -ntp -q -f deploy/cluster/pom.xml package) >&2
    fi
    if [ "$force" = "--force" ] || [ ! -f "$DIST_JAR" ] || ! ls "$NATIVE_LIB"/*.jar >/dev/null 2>&1; then
        say "building the dist jar and its native libraries (mvn -Pdist package) ..."
        (cd "$TETRIS_HOME" && mvn -B -ntp -q -Pdist package -DskipTests -Dspotless.check.skip=true -pl job -am) >&2
    fi
}

# lib/ holds Flink's jars and the job's native-code jars (links to the build's copies): loaded by
# the TaskManager's own class loader, once per process, parent-first for ai.djl. and
# ai.onnxruntime. (see conf/config.yaml).
link_lib() {
    ls "$FLINK_LIB"/flink-runtime-*.jar >/dev/null 2>&1 \
        || die "no Flink lib/ at $FLINK_LIB: run '$0 setup'"
    ls "$NATIVE_LIB"/*.jar >/dev/null 2>&1 \
        || die "no native libraries at $NATIVE_LIB: run '$0 setup'"
    mkdir -p "$LIB"
    find "$LIB" -maxdepth 1 -name '*.jar' -type l -delete
    ln -sf "$FLINK_LIB"/*.jar "$NATIVE_LIB"/*.jar "$LIB"/
}

write_config() {
    mkdir -p "$CONF" "$LOG" "$PIDS" "$HOME_DIR/checkpoints" "$HOME_DIR/savepoints" "$HOME_DIR/tmp"
    local checkpoints="${CHECKPOINT_DIR:-file://$HOME_DIR/checkpoints}"
    if [ ! -f "$CONF/config.yaml" ]; then
        cat >"$CONF/config.yaml" <<EOF
# Written by deploy/cluster/flink-cluster.sh; edit freely (delete it to have it written again).
jobmanager.rpc.address: localhost
jobmanager.rpc.port: $RPC_PORT
jobmanager.bind-host: localhost
rest.address: localhost
rest.bind-address: localhost
rest.port: $REST_PORT
taskmanager.host: localhost
taskmanager.bind-host: localhost
jobmanager.memory.process.size: $JM_MEMORY
taskmanager.memory.process.size: $TM_MEMORY
# Keyed state lives on the heap (hashmap backend); little managed memory is needed.
taskmanager.memory.managed.fraction: 0.1
taskmanager.numberOfTaskSlots: $SLOTS
parallelism.default: 1
io.tmp.dirs: $HOME_DIR/tmp
# A TaskManager killed with SIGKILL is declared lost after 10 s instead of 50.
heartbeat.interval: 2000
heartbeat.timeout: 10000
# Durable checkpoints, kept when a job is cancelled or its JobManager dies.
execution.checkpointing.dir: $checkpoints
execution.checkpointing.savepoint-dir: file://$HOME_DIR/savepoints
execution.checkpointing.externalized-checkpoint-retention: RETAIN_ON_CANCELLATION
restart-strategy.type: exponential-delay
# The native-code libraries in lib/ (ONNX Runtime, DJL, its tokenizers) are loaded once per
# TaskManager process, by Flink's class loader, even though the job jar carries them too.
classloader.parent-first-patterns.additional: ai.djl.;ai.onnxruntime.
EOF
    fi
    if [ ! -f "$CONF/log4j.properties" ]; then
        cat >"$CONF/log4j.properties" <<'EOF'
# Written by deploy/cluster/flink-cluster.sh: INFO to the process's log file.
monitorInterval = 30
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender
appender.main.name = MainAppender
appender.main.type = File
appender.main.append = true
appender.main.fileName = ${sys:log.file}
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
logger.kafka.name = org.apache.kafka
logger.kafka.level = WARN
# Flink's committer operator copies its committable collector at every checkpoint, and the copy
# registers the operator's pendingCommittables gauge again: a harmless "Name collision" warning
# per exactly-once sink per checkpoint (the first gauge stays registered and reported).
logger.metricgroup.name = org.apache.flink.metrics.MetricGroup
logger.metricgroup.filter.committables.type = RegexFilter
logger.metricgroup.filter.committables.regex = .*Name collision.*'pendingCommittables'.*
logger.metricgroup.filter.committables.onMatch = DENY
logger.metricgroup.filter.committables.onMismatch = NEUTRAL
EOF
    fi
}

conf_value() {
    sed -n "s/^$1: *//p" "$CONF/config.yaml" | tail -1
}

rest_url() {
    echo "http://localhost:$(conf_value rest.port)"
}

# A process that exited but was not reaped (a zombie, when nothing reaps orphans) counts as gone.
running() {
    local state
    kill -0 "$1" 2>/dev/null || return 1
    if [ -r "/proc/$1/stat" ]; then
        state="$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)"
    else
        state="$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)"
    fi
    [ "$state" != "Z" ]
}

# GET of a JobManager REST path; curl when there is one, else bash's /dev/tcp.
rest_get() {
    local port
    port="$(conf_value rest.port)"
    if command -v curl >/dev/null 2>&1; then
        curl -sf "http://localhost:$port$1"
        return
    fi
    local reply
    exec 3<>"/dev/tcp/localhost/$port" || return 1
    printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" >&3
    reply="$(cat <&3)"
    exec 3<&-
    case "$reply" in
        "HTTP/1."?" 200"*) printf '%s' "${reply#*$'\r\n\r\n'}" ;;
        *) return 1 ;;
    esac
}

alive() {
    [ -f "$1" ] && running "$(cat "$1")"
}

# SIGKILL, then wait until the process is gone.
kill9() {
    kill -9 "$1" 2>/dev/null || true
    for _ in $(seq 1 100); do
        running "$1" || return 0
        sleep 0.1
    done
    die "process $1 survived SIGKILL"
}

# The JVM and dynamic memory settings Flink's scripts compute for a process (BashJavaUtils).
resource_params() {
    local out
    out="$("$JAVA" -cp "$LIB/*" org.apache.flink.runtime.util.bash.BashJavaUtils "$1" \
        --configDir "$CONF" 2>&1)" || die "BashJavaUtils $1 failed: $out"
    echo "$out" | sed -n 's/^BASH_JAVA_UTILS_EXEC_RESULT://p'
}

launch() {
    local name="$1" main="$2" params jvm dynamic
    shift 2
    params="$(resource_params "$1")"
    shift
    jvm="$(echo "$params" | sed -n 1p)"
    dynamic="$(echo "$params" | sed -n 2p)"
    # shellcheck disable=SC2086 # the memory settings are words on purpose, as in Flink's scripts
    DJL_OFFLINE=true OPT_OUT_TRACKING=true DJL_CACHE_DIR="$HOME_DIR/djl-cache" \
        nohup "$JAVA" $jvm "${JVM_OPENS[@]}" -XX:+UseG1GC \
        -Dai.djl.offline=true -DOPT_OUT_TRACKING=true "-DDJL_CACHE_DIR=$HOME_DIR/djl-cache" \
        "-Dlog.file=$LOG/$name.log" "-Dlog4j.configurationFile=file:$CONF/log4j.properties" \
        -cp "$LIB/*" "$main" --configDir "$CONF" $dynamic "$@" \
        >"$LOG/$name.out" 2>&1 </dev/null &
    echo $! >"$PIDS/$name.pid"
    echo "$!"
}

start_jobmanager() {
    link_lib
    write_config
    if alive "$PIDS/jobmanager.pid"; then
        say "JobManager already running (pid $(cat "$PIDS/jobmanager.pid"))"
        return
    fi
    local pid url
    pid="$(launch jobmanager org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint \
        GET_JM_RESOURCE_PARAMS)"
    url="$(rest_url)"
    for _ in $(seq 1 120); do
        if rest_get /overview >/dev/null 2>&1; then
            say "JobManager up (pid $pid): $url"
            return
        fi
        running "$pid" || die "JobManager exited; see $LOG/jobmanager.log and .out"
        sleep 0.5
    done
    die "JobManager not answering on $url after 60 s; see $LOG/jobmanager.log"
}

registered_taskmanagers() {
    rest_get /overview 2>/dev/null | sed -n 's/.*"taskmanagers":\([0-9]*\).*/\1/p'
}

start_taskmanager() {
    link_lib
    write_config
    local n=1
    while [ -e "$PIDS/taskmanager-$n.pid" ]; do n=$((n + 1)); done
    local before pid
    before="$(registered_taskmanagers || true)"
    pid="$(launch "taskmanager-$n" org.apache.flink.runtime.taskexecutor.TaskManagerRunner \
        GET_TM_RESOURCE_PARAMS -D "taskmanager.resource-id=taskmanager-$n")"
    for _ in $(seq 1 120); do
        if grep -q "Successful registration at resource manager" "$LOG/taskmanager-$n.log" 2>/dev/null; then
            say "TaskManager taskmanager-$n up (pid $pid), registered (JobManager saw ${before:-0} before)"
            echo "taskmanager-$n $pid"
            return
        fi
        running "$pid" || die "TaskManager exited; see $LOG/taskmanager-$n.log and .out"
        sleep 0.5
    done
    die "TaskManager taskmanager-$n did not register within 60 s; see $LOG/taskmanager-$n.log"
}

running_taskmanagers() {
    local f
    for f in $(ls -t "$PIDS"/taskmanager-*.pid 2>/dev/null); do
        if alive "$f"; then basename "$f" .pid; fi
    done
}

kill_taskmanager() {
    local victims
    if [ "${1:-}" = "--all" ]; then
        victims="$(running_taskmanagers)"
    else
        victims="$(running_taskmanagers | head -1)"
    fi
    [ -n "$victims" ] || die "no TaskManager running"
    for tm in $victims; do
        kill9 "$(cat "$PIDS/$tm.pid")"
        say "SIGKILL $tm (pid $(cat "$PIDS/$tm.pid"))"
    done
}

kill_jobmanager() {
    alive "$PIDS/jobmanager.pid" || die "no JobManager running"
    kill9 "$(cat "$PIDS/jobmanager.pid")"
    say "SIGKILL JobManager (pid $(cat "$PIDS/jobmanager.pid"))"
}

stop() {
    local f pids=()
    for f in "$PIDS"/*.pid; do
        [ -e "$f" ] || continue
        if alive "$f"; then
            kill "$(cat "$f")" 2>/dev/null || true
            pids+=("$(cat "$f")")
        fi
    done
    if [ ${#pids[@]} -eq 0 ]; then
        say "nothing running"
        return
    fi
    for _ in $(seq 1 60); do
        local left=0
        for p in "${pids[@]}"; do running "$p" && left=1; done
        [ "$left" = 0 ] && break
        sleep 0.5
    done
    for p in "${pids[@]}"; do running "$p" && kill9 "$p"; done
    say "stopped ${#pids[@]} process(es)"
}

status() {
    local f
    for f in "$PIDS"/*.pid; do
        [ -e "$f" ] || continue
        if alive "$f"; then state=running; else state=gone; fi
        echo "$(basename "$f" .pid) pid $(cat "$f") $state"
    done
    [ -f "$CONF/config.yaml" ] && rest_get /overview && echo
    return 0
}

case "${1:-}" in
    setup) setup "${2:-}" ;;
    start)
        setup
        start_jobmanager
        start_taskmanager >/dev/null
        say "submit: ./tetris serve --bootstrap-servers HOST:PORT --jobmanager localhost:$(conf_value rest.port) --jar $DIST_JAR --detached"
        ;;
    start-jobmanager) start_jobmanager ;;
    start-taskmanager) start_taskmanager ;;
    kill-taskmanager) kill_taskmanager "${2:-}" ;;
    kill-jobmanager) kill_jobmanager ;;
    stop) stop ;;
    status) status ;;
    *)
        sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
        exit 2
        ;;
esac
