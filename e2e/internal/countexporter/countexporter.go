// Package countexporter is a Collector exporter for the end-to-end tests: it appends the
// integer "seq" attribute of every span it receives, one per line, to a file. Counting what
// arrived then needs no log parsing. Metrics and logs are accepted and dropped, so that
// probing any OTLP signal works.
//
// The exporter is synchronous: a span is on disk before the OTLP receiver answers the
// client, so once an app has seen its export succeed the file already holds its spans.
package countexporter

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// SeqAttribute is the span attribute whose value is recorded.
const SeqAttribute = "seq"

// Missing is the line written for a span without an integer SeqAttribute.
const Missing = "missing"

var typ = component.MustNewType("count")

// Config names the file that received sequence numbers are appended to.
type Config struct {
	Path string `mapstructure:"path"`
}

// Validate implements xconfmap.Validator.
func (c *Config) Validate() error {
	if c.Path == "" {
		return errors.New("path must be set")
	}
	return nil
}

// NewFactory returns the factory of the "count" exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(typ,
		func() component.Config { return &Config{} },
		exporter.WithTraces(createTraces, component.StabilityLevelDevelopment),
		exporter.WithMetrics(createMetrics, component.StabilityLevelDevelopment),
		exporter.WithLogs(createLogs, component.StabilityLevelDevelopment),
	)
}

func createTraces(_ context.Context, _ exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	return &traces{path: cfg.(*Config).Path}, nil
}

func createMetrics(context.Context, exporter.Settings, component.Config) (exporter.Metrics, error) {
	return discard{}, nil
}

func createLogs(context.Context, exporter.Settings, component.Config) (exporter.Logs, error) {
	return discard{}, nil
}

type traces struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

func (e *traces) Start(context.Context, component.Host) error {
	f, err := os.OpenFile(e.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("count exporter: %w", err)
	}
	e.f = f
	return nil
}

func (e *traces) Shutdown(context.Context) error {
	if e.f == nil {
		return nil
	}
	return e.f.Close()
}

func (*traces) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (e *traces) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	var buf []byte
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				v, ok := spans.At(k).Attributes().Get(SeqAttribute)
				if ok && v.Type() == pcommon.ValueTypeInt {
					buf = strconv.AppendInt(buf, v.Int(), 10)
				} else {
					buf = append(buf, Missing...)
				}
				buf = append(buf, '\n')
			}
		}
	}
	if len(buf) == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err := e.f.Write(buf)
	return err
}

type discard struct{}

func (discard) Start(context.Context, component.Host) error           { return nil }
func (discard) Shutdown(context.Context) error                        { return nil }
func (discard) Capabilities() consumer.Capabilities                   { return consumer.Capabilities{} }
func (discard) ConsumeMetrics(context.Context, pmetric.Metrics) error { return nil }
func (discard) ConsumeLogs(context.Context, plog.Logs) error          { return nil }
