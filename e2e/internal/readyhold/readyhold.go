// Package readyhold wraps the contrib health_check extension so that the end-to-end tests
// can hold its readiness back: it accepts every health_check setting plus
//
//	ready_delay: 3s
//
// and forwards the Collector's "pipelines ready" notification to health_check only after
// that delay. Meanwhile the OTLP receivers already accept data and health_check answers
// 503, which is exactly the window in which a probe must not declare the Collector ready.
//
// The factory keeps the type "health_check", so configurations look like upstream ones.
// Only the legacy health_check is wrapped: it implements PipelineWatcher and nothing else.
package readyhold

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/healthcheckextension"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
	"go.uber.org/zap"
)

// Config is health_check's configuration plus the readiness delay.
type Config struct {
	HealthCheck healthcheckextension.Config `mapstructure:",squash"`
	// ReadyDelay holds "pipelines ready" back for this long (0: forward at once).
	ReadyDelay time.Duration `mapstructure:"ready_delay"`
}

// Validate implements xconfmap.Validator. The embedded health_check configuration is
// validated on its own by the Collector.
func (c *Config) Validate() error {
	if c.ReadyDelay < 0 {
		return errors.New("ready_delay must not be negative")
	}
	return nil
}

// NewFactory returns a health_check factory with a ready_delay setting.
func NewFactory() extension.Factory {
	inner := healthcheckextension.NewFactory()
	return extension.NewFactory(inner.Type(),
		func() component.Config {
			return &Config{HealthCheck: *inner.CreateDefaultConfig().(*healthcheckextension.Config)}
		},
		func(ctx context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
			c := cfg.(*Config)
			ext, err := inner.Create(ctx, set, &c.HealthCheck)
			if err != nil {
				return nil, err
			}
			pw, ok := ext.(extensioncapabilities.PipelineWatcher)
			if !ok {
				return nil, errors.New("health_check does not watch pipelines")
			}
			return &held{Extension: ext, inner: pw, delay: c.ReadyDelay, logger: set.Logger}, nil
		},
		inner.Stability(),
	)
}

type held struct {
	extension.Extension
	inner  extensioncapabilities.PipelineWatcher
	delay  time.Duration
	logger *zap.Logger

	mu    sync.Mutex
	timer *time.Timer
}

var _ extensioncapabilities.PipelineWatcher = (*held)(nil)

// Ready forwards "pipelines ready" after the delay, without blocking the Collector.
func (h *held) Ready() error {
	if h.delay == 0 {
		return h.inner.Ready()
	}
	h.logger.Info("holding health_check readiness back", zap.Duration("ready_delay", h.delay))
	h.mu.Lock()
	defer h.mu.Unlock()
	h.timer = time.AfterFunc(h.delay, func() {
		h.logger.Info("forwarding readiness to health_check")
		_ = h.inner.Ready()
	})
	return nil
}

// NotReady cancels a pending Ready and forwards at once.
func (h *held) NotReady() error {
	h.stop()
	return h.inner.NotReady()
}

func (h *held) Shutdown(ctx context.Context) error {
	h.stop()
	return h.Extension.Shutdown(ctx)
}

func (h *held) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.timer != nil {
		h.timer.Stop()
	}
}
