package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/internal/batch"
)

// mailscoutProcess is this test binary running mailscout's main in a process of its own.
func mailscoutProcess(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MAILSCOUT_RUN_MAIN=1", "ALL_PROXY=")
	return cmd
}

// batchInput is a list over the demo world: every demo domain a few times, a comment, a blank
// line and a line that is not a target.
func batchInput(t *testing.T) string {
	var b strings.Builder
	b.WriteString("# demo world\n\nnot a domain\n")
	for i := range 3 {
		for _, d := range demoDomains {
			fmt.Fprintf(&b, "user%d@%s\n", i, d)
		}
	}
	path := filepath.Join(t.TempDir(), "targets.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// outcomes reads a JSON Lines file as "line input status" strings.
func outcomes(t *testing.T, paths ...string) []string {
	t.Helper()
	var out []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var l struct {
				Line      int    `json:"input_line"`
				Input     string `json:"input"`
				Diagnosis struct {
					Status string `json:"status"`
				} `json:"diagnosis"`
				Error *struct {
					Code string `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("%s: not a JSON line: %v", p, err)
			}
			status := l.Diagnosis.Status
			if l.Error != nil {
				status = "error:" + l.Error.Code
			}
			out = append(out, fmt.Sprintf("%d %s %s", l.Line, l.Input, status))
		}
	}
	slices.Sort(out)
	return out
}

// N machines given the same list, each with --shard i/N, together produce exactly what one
// run produces: here N processes on this machine.
func TestBatchShards(t *testing.T) {
	input := batchInput(t)
	dir := t.TempDir()
	flags := []string{"batch", "--demo"}
	single := filepath.Join(dir, "all.jsonl")
	if out, err := mailscoutProcess(append(flags, "--output", single, input)...).CombinedOutput(); err != nil {
		t.Fatalf("single run: %v\n%s", err, out)
	}
	const n = 3
	var shards []string
	var cmds []*exec.Cmd
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("shard%d.jsonl", i))
		shards = append(shards, p)
		cmd := mailscoutProcess(append(flags, "--shard", fmt.Sprintf("%d/%d", i, n), "--output", p, input)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("shard: %v", err)
		}
	}
	want, got := outcomes(t, single), outcomes(t, shards...)
	if len(want) != 3*len(demoDomains)+1 || !slices.Equal(got, want) {
		t.Errorf("the shards' union differs from one run:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i, p := range shards {
		if len(outcomes(t, p)) == 0 {
			t.Errorf("shard %d is empty: the split does not spread", i)
		}
	}
}

// A batch killed mid-run and resumed ends with every target exactly once.
func TestBatchResumeAfterKill(t *testing.T) {
	input := batchInput(t)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	// broken.example's silent port makes its discoveries wait 10 s: the kill comes first.
	cmd := mailscoutProcess("batch", "--demo", "--greeting-timeout", "10s", "--in-flight", "4", "--output", out, input)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, _ := os.ReadFile(out)
		if strings.Count(string(data), "\n") >= 3 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no output before the deadline")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	before := outcomes(t, out)
	if len(before) == 3*len(demoDomains)+1 {
		t.Fatal("the batch finished before the kill; the test proves nothing")
	}
	if b, err := mailscoutProcess("batch", "--demo", "--greeting-timeout", "300ms", "--resume", "--output", out, input).CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, b)
	}
	after := outcomes(t, out)
	if len(after) != 3*len(demoDomains)+1 {
		t.Fatalf("%d lines after resume, want %d", len(after), 3*len(demoDomains)+1)
	}
	seen := map[string]bool{}
	for _, o := range after {
		key := strings.Join(strings.Fields(o)[:2], " ")
		if seen[key] {
			t.Errorf("%s written twice", key)
		}
		seen[key] = true
	}
}

// writeTargets writes a targets file: a comment, a blank line, a line that is not a target,
// then each domain for users u1…uN (broken.example's 4 s wait is not in the demo domains used).
func writeTargets(t *testing.T, users int, domains ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# targets\n\nnot a domain\n")
	for i := range users {
		for _, d := range domains {
			fmt.Fprintf(&b, "u%d@%s\r\n", i+1, d)
		}
	}
	path := filepath.Join(t.TempDir(), "targets.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// progressEvents decodes --progress-json lines.
func progressEvents(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("not a progress event: %q", l)
		}
		out = append(out, e)
	}
	if len(out) == 0 || out[len(out)-1]["kind"] != "done" {
		t.Fatalf("no done event last:\n%s", stderr)
	}
	return out
}

// quickDemo are the demo domains that answer at once (broken.example waits out a filtered port).
var quickDemo = []string{"srv.example", "guess.example", "customer.example", "autoconf.example", "oldtls.example", "plain.example", "nomail.example"}

// The progress total is what this run processes: with --shard, the shard's targets; with
// --resume, those not done yet. The done event's total is then the number of lines written.
func TestBatchProgressTotal(t *testing.T) {
	input := writeTargets(t, 3, quickDemo...)
	all := 3*len(quickDemo) + 1 // and the bad line
	dir := t.TempDir()
	for _, shard := range []string{"0/3", "1/3", "2/3"} {
		out := filepath.Join(dir, "shard.jsonl")
		code, _, stderr := runCLI("batch", "--demo", "--progress-json", "--shard", shard, "--output", out, input)
		if code != exitWorks {
			t.Fatalf("--shard %s: exit %d\n%s", shard, code, stderr)
		}
		events := progressEvents(t, stderr)
		done, lines := events[len(events)-1], len(outcomes(t, out))
		if done["total"] != float64(lines) || done["done"] != float64(lines) || done["skipped"] != float64(all-lines) {
			t.Errorf("--shard %s: done event %v; the shard has %d targets of %d", shard, done, lines, all)
		}
		for _, e := range events {
			if tot, ok := e["total"]; ok && tot != float64(lines) {
				t.Errorf("--shard %s: an event with total %v, want %d", shard, tot, lines)
			}
		}
	}

	out := filepath.Join(dir, "all.jsonl")
	if code, _, stderr := runCLI("batch", "--demo", "--output", out, input); code != exitWorks {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	const kept = 5
	lines := strings.SplitAfter(string(data), "\n")
	if err := os.WriteFile(out, []byte(strings.Join(lines[:kept], "")+`{"input_line":9,"inp`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI("batch", "--demo", "--progress-json", "--resume", "--output", out, input)
	if code != exitWorks {
		t.Fatalf("--resume: exit %d\n%s", code, stderr)
	}
	events := progressEvents(t, stderr)
	done := events[len(events)-1]
	if done["total"] != float64(all-kept) || done["done"] != float64(all-kept) || done["skipped"] != float64(kept) {
		t.Errorf("--resume after %d of %d: done event %v, want total and done %d", kept, all, done, all-kept)
	}
	if n := len(outcomes(t, out)); n != all {
		t.Errorf("%d lines after the resume, want %d", n, all)
	}
}

// The --progress-json events are a public contract (README.md): their fields are pinned here,
// names, order and values.
func TestBatchProgressEventShape(t *testing.T) {
	var buf bytes.Buffer
	p := newBatchProgress(&buf, true)
	pr := batch.Progress{Done: 4, Failed: 1, Skipped: 2, Elapsed: 2 * time.Second, Last: "alice@example.com"}
	p.event("progress", pr, nil) // no total yet (or none: standard input is not read twice)
	p.total.Store(10)
	p.event("progress", pr, nil)
	p.event("progress", batch.Progress{Skipped: 2, Elapsed: time.Second}, nil) // nothing done: no rate, no ETA
	pr.Done, pr.Elapsed = 10, 5*time.Second
	p.event("done", pr, &discover.Stats{Connections: 26, SharedHits: 134})
	want := `{"kind":"progress","done":4,"failed":1,"skipped":2,"last":"alice@example.com","elapsed_ms":2000,"per_second":2}
{"kind":"progress","done":4,"failed":1,"skipped":2,"last":"alice@example.com","total":10,"elapsed_ms":2000,"per_second":2,"eta_ms":3000}
{"kind":"progress","done":0,"failed":0,"skipped":2,"last":"","total":10,"elapsed_ms":1000,"per_second":0}
{"kind":"done","done":10,"failed":1,"skipped":2,"last":"alice@example.com","total":10,"elapsed_ms":5000,"per_second":2,"eta_ms":0,"connections":26,"shared_hits":134}
`
	if buf.String() != want {
		t.Errorf("events:\n%s\nwant\n%s", buf.String(), want)
	}
}

// --rate is a ceiling that slows the batch, not one that makes answers worse: its wait runs
// inside each discovery's deadline, so the batch admits only the discoveries the rate can serve
// in time. At 2 connections per second the demo domains get the answers they get without a
// ceiling. (About 17 s: the ceiling is what it is.)
func TestBatchLowRateSameAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 17 s at 2 connections per second")
	}
	input := writeTargets(t, 1, "srv.example", "guess.example", "autoconf.example")
	dir := t.TempDir()
	answers := func(name string, flags ...string) []string {
		out := filepath.Join(dir, name)
		// --deadline 10s: without the bound, 3 discoveries × 10–13 connection attempts at 2 per
		// second run past it; with it, one discovery at a time takes 5–7 s.
		args := append([]string{"batch", "--demo", "--deadline", "10s", "--output", out}, flags...)
		if code, _, stderr := runCLI(append(args, input)...); code != exitWorks {
			t.Fatalf("%q: exit %d\n%s", flags, code, stderr)
		}
		got := outcomes(t, out)
		data, _ := os.ReadFile(out)
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var r struct {
				Input    string `json:"input"`
				Complete *bool  `json:"complete"`
			}
			json.Unmarshal([]byte(l), &r)
			if r.Complete != nil && !*r.Complete {
				got = append(got, r.Input+" incomplete")
			}
		}
		return got
	}
	want := answers("free.jsonl")
	got := answers("rate2.jsonl", "--rate", "2")
	if !slices.Equal(got, want) {
		t.Errorf("with --rate 2:\n%s\nwithout a ceiling:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// --cache-ttl reaches the engine: with the default, a batch that asks for the same domain's
// servers again and again connects once per endpoint; with a TTL shorter than a discovery, every
// discovery connects again. Not positive is a usage error.
func TestBatchCacheTTL(t *testing.T) {
	input := writeTargets(t, 4, "srv.example")
	conns := func(flags ...string) float64 {
		args := append([]string{"batch", "--demo", "--progress-json", "--in-flight", "1", "--output", filepath.Join(t.TempDir(), "out.jsonl")}, flags...)
		code, _, stderr := runCLI(append(args, input)...)
		if code != exitWorks {
			t.Fatalf("%q: exit %d\n%s", flags, code, stderr)
		}
		events := progressEvents(t, stderr)
		return events[len(events)-1]["connections"].(float64)
	}
	long, short := conns(), conns("--cache-ttl", "1ns")
	if long == 0 || short < 4*long {
		t.Errorf("connections: %v with the default TTL, %v with 1ns; want the second at least 4 times the first", long, short)
	}
	for _, bad := range []string{"0", "-1s"} {
		if code, _, stderr := runCLI("batch", "--demo", "--cache-ttl", bad, "-"); code != exitUsage || !strings.Contains(stderr, "--cache-ttl") {
			t.Errorf("--cache-ttl %s: exit %d, %q; want a usage error", bad, code, stderr)
		}
	}
}

// An explicit --in-flight holds with --rate, but above what the rate can serve in time it is
// warned about; at or below, nothing is said.
func TestBatchRateInFlightWarning(t *testing.T) {
	input := writeTargets(t, 1, "nomail.example")
	for _, tc := range []struct {
		inFlight string
		warn     bool
	}{{"10", true}, {"1", false}} {
		code, _, stderr := runCLI("batch", "--demo", "--rate", "2", "--in-flight", tc.inFlight, "--output", filepath.Join(t.TempDir(), "out.jsonl"), input)
		if code != exitWorks {
			t.Fatalf("--in-flight %s: exit %d\n%s", tc.inFlight, code, stderr)
		}
		if got := strings.Contains(stderr, "warning: --in-flight "+tc.inFlight+" with --rate 2"); got != tc.warn {
			t.Errorf("--in-flight %s: warning %v, want %v; stderr %q", tc.inFlight, got, tc.warn, stderr)
		}
	}
}
