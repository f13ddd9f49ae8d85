// Command spanapp is the application of the otelwait end-to-end tests: at start-up it emits
// N spans, each with an int attribute seq = 0..N-1, shuts its tracer provider down (which
// flushes them) and exits 0, printing
//
//	sent=N failed=F
//
// It is configured like any OpenTelemetry SDK, by OTEL_EXPORTER_OTLP_ENDPOINT and
// OTEL_EXPORTER_OTLP_PROTOCOL (grpc or http/protobuf, the default), so otelwait's auto mode
// sees the same configuration. Exporter retries are off, as in a Java agent older than 2.7
// or any agent whose retry window is spent: an export to a Collector that is not up yet is
// lost.
//
//	spanapp [-n N] [-marker FILE]
//
// -n defaults to $SPANAPP_N or 100. -marker (or $SPANAPP_MARKER) names a file created at
// start-up holding the start time in Unix nanoseconds, so a test can tell whether and when
// the app started.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "spanapp:", err)
		os.Exit(2)
	}
}

func run() error {
	start := time.Now()
	defN := 100
	if s := os.Getenv("SPANAPP_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("SPANAPP_N=%q: not an integer", s)
		}
		defN = v
	}
	n := flag.Int("n", defN, "number of spans to emit")
	marker := flag.String("marker", os.Getenv("SPANAPP_MARKER"), "file to create at start-up, holding the start time in Unix nanoseconds")
	flag.Parse()
	if *n < 0 {
		return fmt.Errorf("-n %d: must not be negative", *n)
	}
	if *marker != "" {
		if err := os.WriteFile(*marker, []byte(strconv.FormatInt(start.UnixNano(), 10)+"\n"), 0o644); err != nil {
			return err
		}
	}

	ctx := context.Background()
	exp, proto, err := newExporter(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "spanapp: started, sending %d spans over %s\n", *n, proto)
	counted := &countingExporter{SpanExporter: exp}
	// Export errors are counted by countingExporter; print the first one for the reader.
	var reported atomic.Bool
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		if reported.CompareAndSwap(false, true) {
			fmt.Fprintln(os.Stderr, "spanapp: export error:", err)
		}
	}))
	tp := sdktrace.NewTracerProvider(
		// A queue big enough for every span: none is dropped before export.
		sdktrace.WithBatcher(counted, sdktrace.WithMaxQueueSize(max(*n, sdktrace.DefaultMaxQueueSize))),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("spanapp"))),
	)
	tracer := tp.Tracer("github.com/otelwait/otelwait/e2e/cmd/spanapp")
	for i := range *n {
		_, span := tracer.Start(ctx, "startup-step")
		span.SetAttributes(attribute.Int("seq", i))
		span.End()
	}
	shutdownErr := tp.Shutdown(ctx)
	fmt.Printf("sent=%d failed=%d\n", *n, counted.failed.Load())
	if shutdownErr != nil && counted.failed.Load() == 0 {
		// Not an export failure: report it, still exit 0 like an app would.
		fmt.Fprintln(os.Stderr, "spanapp: shutdown:", shutdownErr)
	}
	return nil
}

// newExporter builds the OTLP trace exporter for OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or
// OTEL_EXPORTER_OTLP_PROTOCOL. The exporters read the endpoint variables themselves.
func newExporter(ctx context.Context) (sdktrace.SpanExporter, string, error) {
	proto := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch strings.TrimSpace(proto) {
	case "grpc":
		exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
		return exp, "grpc", err
	case "", "http/protobuf":
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
		return exp, "http/protobuf", err
	default:
		return nil, "", fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q: want grpc or http/protobuf", proto)
	}
}

// countingExporter counts the spans of every failed export.
type countingExporter struct {
	sdktrace.SpanExporter
	failed atomic.Int64
}

func (c *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := c.SpanExporter.ExportSpans(ctx, spans)
	if err != nil {
		c.failed.Add(int64(len(spans)))
	}
	return err
}
