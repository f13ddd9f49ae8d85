#!/bin/sh
# CI: start the services a test suite needs, wait until each one is really
# ready, then run the tests. otelwait exits 0 when everything is ready,
# 124 (naming what isn't) after the timeout, so `set -e` stops the job
# with a clear reason instead of a wall of connection errors.
set -eu

# A database that accepts connections, an API whose health endpoint answers
# 2xx (not 503), a Collector whose OTLP/HTTP receiver accepts exports, and a
# gRPC service whose health reports SERVING.
otelwait \
  --tcp "${DB_HOST:-localhost}:5432" \
  --http "http://${API_HOST:-localhost}:8080/healthz" \
  --otlp "http://${OTEL_HOST:-localhost}:4318" \
  --grpc "${GRPC_HOST:-localhost}:50051" \
  --timeout 2m

./run-tests
