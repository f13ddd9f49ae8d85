# syntax=docker/dockerfile:1
# otelwait: a static binary in an otherwise empty image.
#
#   docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=v0.1.0 -t otelwait .
#
# Use it by copying the binary into your own image:
#   COPY --from=otelwait /otelwait /otelwait
#   ENTRYPOINT ["/otelwait", "--"]

# The build stage runs on the build machine's own platform and cross-compiles
# for the target's: no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
# Module downloads in their own layer, reused while go.mod and go.sum don't change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS TARGETARCH VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/otelwait .

FROM scratch
# CA certificates, so that https and grpcs targets are verified.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/otelwait /otelwait
# Any non-root user: otelwait needs no privileges, and an image that copies it
# runs it as its own user.
USER 65532:65532
ENTRYPOINT ["/otelwait"]
