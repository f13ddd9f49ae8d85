package main

import (
	"fmt"
	"io"
	"slices"
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
		if f.Name == "max-interval" && !strings.Contains(f.Help, jitter) {
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

func TestSplitList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		urls bool
		want []string
	}{
		{"a:1", false, []string{"a:1"}},
		{" a:1 ,\tb:2\n", false, []string{"a:1", "b:2"}},
		{"", false, []string{""}},
		{"a:1,,b:2", false, []string{"a:1", "", "b:2"}},
		{"a:1,", false, []string{"a:1", ""}},
		{`a\,b,c`, false, []string{"a,b", "c"}},
		{`a\b`, false, []string{`a\b`}},
		{"http://h/a,b?x=1,2", true, []string{"http://h/a,b?x=1,2"}},
		{"http://h/, HTTPS://k/,grpc+x-1.2://m", true, []string{"http://h/", "HTTPS://k/", "grpc+x-1.2://m"}},
		{"http://h/a,1x://k", true, []string{"http://h/a,1x://k"}},
		{"http://h/a,://k", true, []string{"http://h/a,://k"}},
		{"http://h/a, ", true, []string{"http://h/a", ""}},
		{`http://h/a\,grpc://k`, true, []string{"http://h/a,grpc://k"}},
	} {
		have := splitList(tc.in, tc.urls)
		if !slices.Equal(have, tc.want) {
			t.Errorf("splitList(%q, %v): have %q, want %q", tc.in, tc.urls, have, tc.want)
		}
	}
}
