package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// latKey names one cell of the latency table.
type latKey struct {
	kind Kind
	tool string
	d    time.Duration
}

// latCell holds the runs of one cell: latencies in ms and failures.
type latCell struct {
	ms    []float64
	fails []string
}

// latencyTrial runs tool against a target of kind that turns ready d after
// the tool is spawned. The latency is the stamp helper's start minus the
// flip, both on CLOCK_MONOTONIC. A tool that hasn't started the command
// grace after the flip is a failure of the tool ("no start"); a target
// that can't be served is a harness error.
func latencyTrial(cfg *config, tool *Tool, kind Kind, d time.Duration, seq int64) (ms float64, fail string, err error) {
	tgt, err := newTarget(kind)
	if err != nil {
		return 0, "", fmt.Errorf("%w: target %s: %v", errHarness, kind, err)
	}
	defer tgt.close()
	out := filepath.Join(cfg.work, fmt.Sprintf("lat-%d.stamp", seq))
	defer os.Remove(out)
	argv := tool.argv(kind, tgt.addr, 60*time.Second, []string{cfg.stamp, out})
	r, err := start(cfg.work, argv, nil, nil)
	if err != nil {
		return 0, "", fmt.Errorf("%w: start %s: %v", errHarness, tool.Name, err)
	}
	defer r.stop()
	flipAt := time.Duration(r.spawn + int64(d) - monoNow())
	if exited := r.wait(flipAt); exited {
		return 0, fmt.Sprintf("exited %d before the target was ready: %s", r.exitCode(), lastLine(r.stderr())), nil
	}
	if err := tgt.ready(); err != nil {
		return 0, "", fmt.Errorf("%w: flip %s: %v", errHarness, kind, err)
	}
	if !r.wait(cfg.grace) {
		return 0, fmt.Sprintf("no start within %s of ready", cfg.grace), nil
	}
	rec, err := readStamp(out)
	if err != nil {
		return 0, fmt.Sprintf("exited %d without starting the command: %s", r.exitCode(), lastLine(r.stderr())), nil
	}
	lat := rec.T - tgt.readyAt.Load()
	if lat < 0 {
		return 0, fmt.Sprintf("started the command %.1f ms before the target was ready", float64(-lat)/1e6), nil
	}
	return float64(lat) / 1e6, "", nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// spread is the width of the range over which the ready times of a
// cell's runs are spread, ending at the nominal D: a D that is a whole
// number of seconds would otherwise fall at the same phase of every 1 s
// polling cycle, run after run, and a peer's latency would be its start-up
// drift instead of a fair sample. The range ends at D so that "ready
// within D" holds for every run.
func spread(d time.Duration) time.Duration { return min(d/2, time.Second) }

// spreadOffset is run i of n's offset from D, drawn from u, a number in
// [0, 1): the range [−spread(d), 0] is cut into n equal strata and run i
// lands at a random point of stratum i (stratified sampling). The strata
// sample a 1 s polling cycle evenly; the random point keeps the flips from
// locking onto a faster tool's cycle, as evenly spaced flips would (with
// 11 runs over 0.5 s they would come every 45 ms, about otelwait's own
// interval).
func spreadOffset(d time.Duration, i, n int, u float64) time.Duration {
	w := float64(spread(d))
	return time.Duration(-w + (float64(i)+u)*w/float64(n))
}

// runLatency runs every (kind, tool, D) cell cfg.latReps times, all runs
// shuffled together (fixed seed) so drift and load hit every tool alike,
// cfg.conc at a time.
func runLatency(cfg *config) (map[latKey]*latCell, error) {
	type job struct {
		key latKey
		t   *Tool
		at  time.Duration // when the target turns ready
	}
	var jobs []job
	cells := map[latKey]*latCell{}
	// One draw per (D, run), shared by every peer and kind; otelwait, which
	// gets more runs (its medians meet fixed targets), has draws of its own,
	// shared by every kind.
	offsets := func(n func(time.Duration) int, seed uint64) map[time.Duration][]time.Duration {
		draws := rand.New(rand.NewPCG(20261126, seed))
		m := map[time.Duration][]time.Duration{}
		for _, d := range cfg.latD {
			for i := range n(d) {
				m[d] = append(m[d], spreadOffset(d, i, n(d), draws.Float64()))
			}
		}
		return m
	}
	peerOffsets := offsets(func(d time.Duration) int { return cfg.latReps("", d) }, 2)
	otelOffsets := offsets(func(d time.Duration) int { return cfg.latReps("otelwait", d) }, 3)
	for _, d := range cfg.latD {
		for _, k := range allKinds {
			for _, t := range cfg.tools {
				if !t.Installed || !t.Can(k) {
					continue
				}
				key := latKey{k, t.Name, d}
				cells[key] = &latCell{}
				offs := peerOffsets[d]
				if t.Name == "otelwait" {
					offs = otelOffsets[d]
				}
				for _, off := range offs {
					jobs = append(jobs, job{key, t, d + off})
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(20261126, 1))
	rng.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })
	logf("latency: %d runs, %d at a time", len(jobs), cfg.conc)

	var (
		mu       sync.Mutex
		firstErr error
		next     atomic.Int64
		done     atomic.Int64
		wg       sync.WaitGroup
	)
	for range cfg.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				mu.Lock()
				stop := firstErr != nil
				mu.Unlock()
				if stop {
					return
				}
				j := jobs[i]
				ms, fail, err := latencyTrial(cfg, j.t, j.key.kind, j.at, int64(i))
				mu.Lock()
				c := cells[j.key]
				switch {
				case err != nil:
					if firstErr == nil {
						firstErr = err
					}
				case fail != "":
					c.fails = append(c.fails, fail)
				default:
					c.ms = append(c.ms, ms)
				}
				mu.Unlock()
				if n := done.Add(1); n%25 == 0 {
					logf("latency: %d/%d runs", n, len(jobs))
				}
			}
		}()
	}
	wg.Wait()
	return cells, firstErr
}
