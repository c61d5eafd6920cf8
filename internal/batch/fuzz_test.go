package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailscout/mailscout/discover"
)

// goldenLines are lines of the batch golden file, for seeds: a report and a bad target.
func goldenLines(f *testing.F) [][]byte {
	f.Helper()
	data, err := os.ReadFile("../../testdata/batch.golden.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, l := range bytes.SplitAfter(data, []byte("\n")) {
		if len(l) > 0 && len(l) < 4096 {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		f.Fatal("no short line in the golden file")
	}
	return out
}

// wantTargets is what a targets file means, read independently of readTargets: one target per
// line (LF, an optional CR before it), blanks and # comments left out, surrounding space
// trimmed, lines numbered from 1.
func wantTargets(data []byte) []target {
	var out []target
	lines := strings.Split(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, target{i + 1, l})
		}
	}
	return out
}

// collect runs readTargets to the end and returns what it sent.
func collect(t *testing.T, data []byte, opts Options) ([]target, int) {
	t.Helper()
	ch := make(chan target, bytes.Count(data, []byte("\n"))+1) // room for every line: never blocks
	skipped, err := readTargets(context.Background(), bytes.NewReader(data), opts, ch)
	close(ch)
	if err != nil {
		t.Fatalf("readTargets: %v", err)
	}
	var got []target
	for tg := range ch {
		got = append(got, tg)
	}
	return got, skipped
}

// A targets file is user input of any shape. Whatever it holds: every target line is read once,
// trimmed, with its line number; the shards split the targets into disjoint parts whose union
// is the whole; skipped lines are counted; and a result written for a target is recognised by
// resume as that target's (same line, same text), so that no target is done twice or lost.
func FuzzReadTargets(f *testing.F) {
	for _, s := range []string{
		"example.com\nalice@example.org\n",
		"# comment\n\n  spaced.example  \r\nlast.example",
		"\r\n\r\n#\n# x\nbücher.example\n\xff\xfe\n",
		"a\u00a0\n\u2028b.example\u2029\n\x00\n",
		"",
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, shards uint8) {
		want := wantTargets(data)
		all, skipped := collect(t, data, Options{})
		if skipped != 0 || len(all) != len(want) {
			t.Fatalf("read %d targets (%d skipped), want %d: %+v", len(all), skipped, len(want), all)
		}
		for i := range all {
			if all[i] != want[i] {
				t.Fatalf("target %d is %+v, want %+v", i, all[i], want[i])
			}
		}

		n := int(shards%8) + 1
		seen := map[target]int{}
		for i := range n {
			got, skipped := collect(t, data, Options{Shard: i, Shards: n})
			if len(got)+skipped != len(all) {
				t.Fatalf("shard %d of %d: %d targets and %d skipped, of %d", i, n, len(got), skipped, len(all))
			}
			if c, err := Count(context.Background(), bytes.NewReader(data), Options{Shard: i, Shards: n}); err != nil || c != len(got) {
				t.Fatalf("shard %d of %d: Count says %d (%v), the reader sends %d", i, n, c, err, len(got))
			}
			for _, tg := range got {
				seen[tg]++
				if !InShard(tg.input, i, n) {
					t.Fatalf("%q sent to shard %d of %d, not its own", tg.input, i, n)
				}
			}
		}
		for _, tg := range all {
			if seen[tg] != 1 {
				t.Fatalf("%+v is in %d of %d shards", tg, seen[tg], n)
			}
		}

		// Resume: the lines written for the targets name them again.
		var out bytes.Buffer
		for _, tg := range all {
			line, err := MarshalLine(Result{Line: tg.line, Input: tg.input, Err: fmt.Errorf("%w: fuzz", discover.ErrBadTarget)})
			if err != nil {
				t.Fatal(err)
			}
			out.Write(append(line, '\n'))
		}
		done, complete, err := scanDone(bytes.NewReader(out.Bytes()))
		if err != nil || complete != int64(out.Len()) {
			t.Fatalf("scanDone: %d of %d bytes, %v", complete, out.Len(), err)
		}
		skip := func(line int, input string) bool { _, ok := done[key(line, input)]; return ok }
		if rest, skipped := collect(t, data, Options{Skip: skip}); len(rest) != 0 || skipped != len(all) {
			t.Fatalf("resumed from its own output, the run still has %+v (%d skipped of %d)", rest, skipped, len(all))
		}
		if c, err := Count(context.Background(), bytes.NewReader(data), Options{Skip: skip}); err != nil || c != 0 {
			t.Fatalf("resumed from its own output, Count still says %d (%v)", c, err)
		}
	})
}

// An output file that resume reads may hold anything: a crash's partial line, another tool's
// lines, garbage. Whatever it holds: no panic; exactly the complete lines (up to the last
// newline) are kept and the rest is cut off; every complete line with an input_line names its
// target as done, and nothing else is; the next line is appended right after the complete ones
// and is recognised by the next resume.
func FuzzResume(f *testing.F) {
	for _, l := range goldenLines(f) {
		f.Add(l)
		f.Add(l[:len(l)/2])
	}
	for _, s := range []string{
		`{"input_line":1,"input":"a.example"}` + "\n" + `{"input_line":2,"inp`,
		`{"input_line":0,"input":"zero"}` + "\n" + `{"INPUT_LINE":3,"Input":"case"}` + "\n",
		`{"input_line":1.5}` + "\n" + `[1]` + "\n" + `null` + "\n\n" + `{"input_line":-1}` + "\r\n",
		"no newline at all",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		complete := bytes.LastIndexByte(data, '\n') + 1
		type lineKey struct {
			Line  int    `json:"input_line"`
			Input string `json:"input"`
		}
		want := map[uint64]bool{}
		for _, l := range bytes.SplitAfter(data[:complete], []byte("\n")) {
			var k lineKey
			if json.Unmarshal(l, &k) == nil && k.Line > 0 {
				want[key(k.Line, k.Input)] = true
			}
		}

		path := filepath.Join(t.TempDir(), "out.jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, done, err := Resume(path)
		if err != nil {
			t.Fatalf("Resume: %v", err)
		}
		for _, l := range bytes.SplitAfter(data[:complete], []byte("\n")) {
			var k lineKey
			if json.Unmarshal(l, &k) == nil && k.Line > 0 && !done(k.Line, k.Input) {
				t.Fatalf("line %q is not recognised as done", l)
			}
		}
		if done(1<<30, "never.example") {
			t.Fatal("a target that has no line is done")
		}
		next, err := MarshalLine(Result{Line: 1 << 30, Input: "never.example", Err: discover.ErrBadTarget})
		if err != nil {
			t.Fatal(err)
		}
		if err := out.Write(next); err != nil {
			t.Fatal(err)
		}
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if wantFile := append(append(bytes.Clone(data[:complete]), next...), '\n'); !bytes.Equal(got, wantFile) {
			t.Fatalf("after resume and one line the file is %q, want %q", got, wantFile)
		}
		out, done, err = Resume(path)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		if !done(1<<30, "never.example") {
			t.Fatal("the line written after a resume is not recognised by the next")
		}

		seen, n, err := scanDone(bytes.NewReader(data))
		if err != nil || n != int64(complete) {
			t.Fatalf("scanDone: %d complete bytes, want %d; %v", n, complete, err)
		}
		for k := range seen {
			if !want[k] {
				t.Fatalf("a key that no complete line names")
			}
		}
		if len(seen) != len(want) {
			t.Fatalf("%d keys, want %d", len(seen), len(want))
		}
	})
}

// summarize reads a batch's output, a file that may have been edited, cut or concatenated.
// Whatever it holds: no panic; on success every non-blank line is counted once, as a target or
// an error, and each breakdown of the targets adds up to the number of targets.
func FuzzSummarize(f *testing.F) {
	for _, l := range goldenLines(f) {
		f.Add(l)
	}
	for _, s := range []string{
		`{"input_line":1,"error":{"code":"bad_target"}}` + "\n" + `{"input_line":2,"diagnosis":{"status":"ok"},"dns":{"mx":[{"host":"mx.provider.co.uk"}]}}`,
		`{"input_line":3,"configs":[{"protocol":"imap","host":"h","port":993,"security":"tls","tls":{"version":"1.3"},"blockers":["cert_expired","cert_expired"]}],` +
			`"recommended":{"incoming":{"protocol":"imap","host":"h","port":993,"security":"tls"}}}` + "\n",
		`{"input_line":4,"configs":[{"security":"plain"}],"dns":{"mx":[{"host":"."},{"host":"com"}]},"elapsed_ms":1e400}`,
		`null` + "\n" + `{"input_line":5,"error":null}` + "\n" + `{"input_line":6,"error":{}}` + "\r\n\n  \n",
		`{"input_line":7,"timings_ms":"x"}`,
		`{"input_line":8,"dns":{"mx":[{"host":"..."},{"host":"a..b"},{"host":"xn--"}]}}`,
		`{"input_line":9,"error":{"code":"bad_target"}}` + "\n" + `{"input_line":10,"diagnosis":{"sta`, // a crash's last line
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Summarize(bytes.NewReader(data))
		if err != nil {
			return
		}
		lines := 0
		var last []byte
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(strings.TrimSpace(string(l))) > 0 {
				lines++
			}
			last = l
		}
		if s.IncompleteLastLine {
			// Only a last line cut off mid-write is skipped: no line break, not JSON.
			if len(strings.TrimSpace(string(last))) == 0 || json.Valid(last) {
				t.Fatalf("a last line %q taken for an incomplete one", last)
			}
			lines--
		}
		if s.Targets+s.Errors != lines {
			t.Fatalf("%d targets and %d errors from %d lines", s.Targets, s.Errors, lines)
		}
		sum := func(m map[string]int) (n int) {
			for _, v := range m {
				n += v
			}
			return n
		}
		if sum(s.ByStatus) != s.Targets || sum(s.ByProvider) != s.Targets {
			t.Fatalf("breakdowns do not add up to %d targets: %+v", s.Targets, s)
		}
		if s.Recommendations > 2*s.Targets || sum(s.TLSVersions) > s.Recommendations {
			t.Fatalf("%d recommendations for %d targets, %d TLS versions of them", s.Recommendations, s.Targets, sum(s.TLSVersions))
		}
		if s.PlaintextOnly > s.Targets {
			t.Fatalf("%d plaintext-only of %d targets", s.PlaintextOnly, s.Targets)
		}
		for b, n := range s.CertProblems {
			if n > s.Targets || !strings.HasPrefix(b, "cert_") {
				t.Fatalf("cert problem %q counted %d times for %d targets", b, n, s.Targets)
			}
		}
	})
}
