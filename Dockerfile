# syntax=docker/dockerfile:1
# Ebb's image: `docker build -t ebb .` at the top of the repository. The chart (charts/ebb) runs it with
# `serve --source kubernetes ...`; the Envoy fleet's shutdown-manager sidecar runs it as
# `envoy-shutdown-manager` and `envoy-drain`.

# --- build: the shaded jar (control-plane/target/ebb.jar) and the modules it needs (api) ---
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
# The poms first: the dependency download below is a layer of its own, rebuilt only when a pom changes,
# not on every source edit. (integration-tests/pom.xml is there because the parent pom lists the module.)
COPY pom.xml ./
COPY api/pom.xml api/
COPY control-plane/pom.xml control-plane/
COPY integration-tests/pom.xml integration-tests/
# A local repository inside the layer (not a volume), so the download is really cached. go-offline skips the
# reactor's own modules; whatever it cannot foresee (e.g. plugin dependencies resolved at run time) is
# fetched by the package step, so a miss here only costs time.
RUN mvn -B -q -Dmaven.repo.local=/m2 -pl control-plane -am dependency:go-offline || true
COPY api/src/main api/src/main
COPY control-plane/src/main control-plane/src/main
RUN mvn -B -q -Dmaven.repo.local=/m2 -DskipTests -pl control-plane -am package

# --- runtime: a JRE and the jar, nothing else ---
FROM eclipse-temurin:17-jre
# A fixed non-root user (65532, as in distroless "nonroot"); the chart runs the pods as 65532:65532 with a
# read-only root filesystem and /tmp on an emptyDir.
RUN groupadd --system --gid 65532 ebb \
 && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin ebb
COPY --from=build /src/control-plane/target/ebb.jar /opt/ebb/ebb.jar
USER 65532:65532
# 18000: xDS (ADS and LRS, gRPC); 18001: admin (/healthz, /readyz, /metrics, /status, /config_dump).
EXPOSE 18000 18001
# The heap follows the container's memory limit (at most 75% of it; the rest is for metaspace, thread stacks and
# gRPC/Netty's direct buffers), and an OutOfMemoryError ends the JVM, so the kubelet restarts it instead of
# leaving a replica that serves half a config. A variable, not ENTRYPOINT flags: the chart replaces it
# (jvm.maxRAMPercentage, jvm.extraOptions; a small heap for the shutdown-manager sidecar), and flags on the
# command line would override what it sets.
ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError"
# glibc otherwise gives every thread that allocates natively (Netty, gRPC) a malloc arena of its own, up to 8
# per CPU: two keep the process's memory close to the JVM's own accounting.
ENV MALLOC_ARENA_MAX=2
ENTRYPOINT ["java", "-jar", "/opt/ebb/ebb.jar"]
CMD ["serve", "--source", "kubernetes"]
