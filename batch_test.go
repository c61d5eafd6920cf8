package main

import (
	"bufio"
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
