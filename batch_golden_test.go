package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/batch.golden.jsonl")

// TestBatchGolden pins the JSON Lines a batch writes — the discover --json contract plus
// input_line and input, one compact object per line, errors as objects — on the demo world.
// Lines come in completion order, so they are sorted by input_line; what changes from run to
// run (timings, the demo certificates' expiry) is replaced by a fixed value, keys kept.
func TestBatchGolden(t *testing.T) {
	in := filepath.Join(t.TempDir(), "targets.txt")
	list := "# a comment, then a blank line\n\nalice@srv.example\nnot a target!\nplain.example\nnomail.example\n"
	if err := os.WriteFile(in, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"batch", "--demo", in}, &stdout, &stderr); code != exitWorks {
		t.Fatalf("batch exit %d: %s", code, stderr.String())
	}
	var lines [][]byte
	for _, l := range bytes.Split(bytes.TrimSuffix(stdout.Bytes(), []byte("\n")), []byte("\n")) {
		if bytes.Contains(l, []byte("\n")) || !json.Valid(l) {
			t.Fatalf("not one JSON object per line: %q", l)
		}
		var v any
		if err := json.Unmarshal(l, &v); err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(stable(v, ""))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, out)
	}
	if len(lines) != 4 {
		t.Fatalf("%d lines for 4 targets (one of them bad):\n%s", len(lines), stdout.String())
	}
	slices.SortFunc(lines, func(a, b []byte) int { return inputLine(t, a) - inputLine(t, b) })
	got := append(bytes.Join(lines, []byte("\n")), '\n')
	path := filepath.Join("testdata", "batch.golden.jsonl")
	if *updateGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("line %d differs from %s (go test -run TestBatchGolden -update after an intended change)\n got: %s\nwant: %s", i+1, path, gl[i], wl[i])
			}
		}
		t.Fatalf("%s: %d lines, want %d", path, len(gl), len(wl))
	}
}

// stable replaces the values that differ between runs: measured durations and the demo
// certificates' expiry (made when the demo world starts). json.Marshal writes map keys sorted,
// which is also the order the golden file keeps.
func stable(v any, key string) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if key == "timings_ms" || k == "elapsed_ms" || k == "at_ms" {
				v[k] = 0
			} else {
				v[k] = stable(e, k)
			}
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = stable(e, key)
		}
		return v
	case string:
		if key == "cert_not_after" {
			return "(the demo certificate's expiry)"
		}
	}
	return v
}

func inputLine(t *testing.T, line []byte) int {
	var l struct {
		Line int `json:"input_line"`
	}
	if err := json.Unmarshal(line, &l); err != nil {
		t.Fatal(err)
	}
	return l.Line
}
