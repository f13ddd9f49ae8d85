package main

import (
	"os/exec"
	"testing"
	"time"
)

// TestSampleTreeCPU checks the CPU time sampleTree reads against processes
// whose CPU use is known: a busy loop uses about as much CPU as wall time
// (on a loaded machine less, hence the generous lower bound), a sleep next
// to none, and a busy child that has exited and been reaped still counts
// through its parent.
func TestSampleTreeCPU(t *testing.T) {
	tests := []struct {
		name   string
		script string
		wait   time.Duration
		busy   time.Duration // the CPU time it should have used, about
	}{
		{"busy loop", "while :; do :; done", 300 * time.Millisecond, 300 * time.Millisecond},
		{"sleep", "exec sleep 0.3", 250 * time.Millisecond, 0},
		{"reaped busy child", "(while :; do :; done) & p=$!; sleep 0.3; kill $p; wait $p; exec sleep 5", 700 * time.Millisecond, 300 * time.Millisecond},
	}
	tick := 1000 / float64(clockTicks()) // ms
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("/bin/sh", "-c", tt.script)
			spawn := monoNow()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}()
			time.Sleep(tt.wait)
			res := &loadResult{}
			sampleTree(cmd.Process.Pid, spawn, res)
			// Every script is down to one process when sampled, so
			// the third one's busy time can only come from cutime.
			if d := descendants(cmd.Process.Pid); len(d) > 0 {
				t.Fatalf("have children %v when sampled, want none", d)
			}
			wall := res.WaitedS * 1000
			busy := float64(tt.busy.Milliseconds())
			t.Logf("CPU %.0f ms over %.0f ms (tick %.0f ms)", res.CPUms, wall, tick)
			if res.WaitedS <= 0 {
				t.Fatal("no CPU measured")
			}
			if wall < float64(tt.wait.Milliseconds()) {
				t.Errorf("have %.0f ms waited, want at least %s", wall, tt.wait)
			}
			// Up to two ticks of rounding on top of what was used.
			if high := min(wall, busy+50) + 2*tick; res.CPUms > high {
				t.Errorf("have %.0f ms CPU, want at most %.0f", res.CPUms, high)
			}
			if low := busy / 3; res.CPUms < low || (busy > 0 && res.CPUms == 0) {
				t.Errorf("have %.0f ms CPU, want at least %.0f", res.CPUms, low)
			}
		})
	}
}

func TestClockTicks(t *testing.T) {
	// USER_HZ is 100 on every architecture Go runs Linux on but alpha and
	// ia64 (1024); anything else means the auxiliary vector was misread.
	if have := clockTicks(); have != 100 && have != 1024 {
		t.Errorf("have %d ticks per second, want 100 or 1024", have)
	}
}
