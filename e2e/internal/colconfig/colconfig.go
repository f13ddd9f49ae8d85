// Package colconfig writes the configuration of otelcol-e2e, shared by the tests and the
// demo, and reads back what its count exporter recorded.
package colconfig

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// Ports are the loopback ports one Collector listens on.
type Ports struct {
	GRPC     int // OTLP/gRPC receiver
	HTTP     int // OTLP/HTTP receiver
	Health   int // health_check (HTTP, path /)
	HealthV2 int // healthcheckv2's grpc.health.v1 server
}

const tmpl = `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%[1]d
      http:
        endpoint: 127.0.0.1:%[2]d
exporters:
  count:
    path: %[5]q
extensions:
  health_check:
    endpoint: 127.0.0.1:%[3]d
    ready_delay: %[6]s
  healthcheckv2:
    use_v2: true
    grpc:
      endpoint: 127.0.0.1:%[4]d
service:
  extensions: [health_check, healthcheckv2]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [count]
    metrics:
      receivers: [otlp]
      exporters: [count]
    logs:
      receivers: [otlp]
      exporters: [count]
`

// YAML is a configuration with OTLP pipelines for traces, metrics and logs into the count
// exporter, which appends each span's seq to seqFile; health_check turns ready readyDelay
// after the pipelines (0: at once).
func YAML(p Ports, seqFile string, readyDelay time.Duration) string {
	return fmt.Sprintf(tmpl, p.GRPC, p.HTTP, p.Health, p.HealthV2, seqFile, readyDelay)
}

// ReadSeqs returns the seq attributes recorded in seqFile, in arrival order; none if the
// file doesn't exist (the Collector never started its exporter).
func ReadSeqs(seqFile string) ([]int, error) {
	f, err := os.Open(seqFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var seqs []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n, err := strconv.Atoi(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", seqFile, err)
		}
		seqs = append(seqs, n)
	}
	return seqs, sc.Err()
}
