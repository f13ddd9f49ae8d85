package main

import (
	"context"
	"os"
	"runtime"
	"syscall"
	"testing"
)

// A signal caught just before the wait ends is never lost: stop hands it
// on, so the command is not exec'd.
func TestSignalJustBeforeStop(t *testing.T) {
	for i := range 200 {
		_, sig := withSignals(context.Background(), func(os.Signal) { t.Error("early: before handOver") })
		sig.handOver()
		// To this thread, so that the runtime has caught it when
		// tgkill returns: a kill(2) may be caught by another thread later.
		runtime.LockOSThread()
		err := syscall.Tgkill(syscall.Getpid(), syscall.Gettid(), syscall.SIGTERM)
		runtime.UnlockOSThread()
		if err != nil {
			t.Fatal(err)
		}
		sig.stop()
		if s := sig.received(); s != syscall.SIGTERM {
			t.Fatalf("run %d: received %v after stop, want SIGTERM", i, s)
		}
	}
}
