package main

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/otelwait/otelwait/probe"
)

// BenchmarkNewParser is what building kong's model of the command line
// adds to every start.
func BenchmarkNewParser(b *testing.B) {
	for b.Loop() {
		var c cli
		newParser(&c, io.Discard, io.Discard)
	}
}

// The command line's schedule defaults and their help are written out;
// they must say what probe.DefaultBackoff does.
func TestDefaultsMatchBackoff(t *testing.T) {
	var c cli
	p := newParser(&c, io.Discard, io.Discard)
	b := probe.DefaultBackoff
	jitter := fmt.Sprintf("up to %g%% jitter", b.Jitter*100)
	want := map[string]time.Duration{"interval": b.Initial, "max-interval": b.Max}
	for _, f := range p.Model.Flags {
		d, ok := want[f.Name]
		if !ok {
			continue
		}
		delete(want, f.Name)
		if have, err := time.ParseDuration(f.Default); err != nil || have != d {
			t.Errorf("--%s default: have %q, want %s", f.Name, f.Default, d)
		}
		if !strings.Contains(f.Help, jitter) {
			t.Errorf("--%s help: have %q, want it to say %q", f.Name, f.Help, jitter)
		}
		if f.Name == "interval" && !strings.Contains(f.Help, "first "+b.Hold.String()+" ") {
			t.Errorf("--interval help: have %q, want it to name the hold, %s", f.Help, b.Hold)
		}
	}
	for name := range want {
		t.Errorf("no --%s flag", name)
	}
}
