# A Java service image with otelwait in front of the JVM.
#
#   docker build -f Dockerfile.java -t registry.example.com/checkout:1.4.2 .
#
# otelwait is copied from its own image (FROM scratch, one static binary);
# the JVM command stays in CMD, so `docker run IMAGE java -jar other.jar`
# or a Kubernetes `args:` replaces the command and keeps otelwait in front.
FROM ghcr.io/otelwait/otelwait:v0.1.0 AS otelwait

FROM eclipse-temurin:21-jre
COPY --from=otelwait /otelwait /otelwait
# The OpenTelemetry Java agent, downloaded beforehand into the build context.
COPY opentelemetry-javaagent.jar /opt/otel/opentelemetry-javaagent.jar
COPY target/app.jar /app/app.jar
USER 10001:10001
# No targets: otelwait waits where the agent will export (by default
# http://localhost:4318, traces, metrics and logs, over http/protobuf), then
# execs java as PID 1's replacement: same PID, same signals, same exit code.
ENTRYPOINT ["/otelwait", "--"]
CMD ["java", "-javaagent:/opt/otel/opentelemetry-javaagent.jar", "-jar", "/app/app.jar"]
