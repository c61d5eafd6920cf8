package batch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// hostingWorld: 100 customer domains whose MX is a provider's; the provider publishes
// autoconfig and runs the servers every customer uses. Plus one shared-hosting box that every
// host name under ip.example leads to, and the demo world's domains.
func hostingWorld(t testing.TB) (*mailsim.World, discover.Options) {
	t.Helper()
	spec := mailsim.DemoSpec()
	auth := []string{"PLAIN", "LOGIN"}
	spec.Zones = append(spec.Zones,
		mailsim.Zone{Domain: "shared.example", WildcardMX: []mailsim.MX{{Host: "mx.hoster.example", Preference: 10}}},
		mailsim.Zone{Domain: "hoster.example"},
		mailsim.Zone{Domain: "ip.example", WildcardMX: []mailsim.MX{{Host: "box.ip.example", Preference: 10}}, WildcardAddr: "192.0.2.200"},
	)
	spec.Hosts = append(spec.Hosts,
		mailsim.Host{Name: "mx.hoster.example"},
		mailsim.Host{Name: "imap.hoster.example", Services: []mailsim.Service{
			{Port: 993, Config: mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.TLS, AuthAfterTLS: auth}},
			{Port: 143, Config: mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.StartTLS, AuthAfterTLS: auth}},
		}},
		mailsim.Host{Name: "smtp.hoster.example", Services: []mailsim.Service{
			{Port: 465, Config: mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: auth}},
			{Port: 587, Config: mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.StartTLS, AuthAfterTLS: auth}},
		}},
		mailsim.Host{Name: "box.ip.example", Addrs: []string{"192.0.2.200"}, Services: []mailsim.Service{
			{Port: 993, Config: mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.TLS, AuthAfterTLS: auth}},
			{Port: 587, Config: mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.StartTLS, AuthAfterTLS: auth}},
		}},
	)
	spec.Web = append(spec.Web, mailsim.WebFile{URL: "https://autoconfig.hoster.example/mail/config-v1.1.xml", Body: `<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="hoster.example">
<incomingServer type="imap"><hostname>imap.hoster.example</hostname><port>993</port><socketType>SSL</socketType>
<authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>
<outgoingServer type="smtp"><hostname>smtp.hoster.example</hostname><port>465</port><socketType>SSL</socketType>
<authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></outgoingServer>
</emailProvider></clientConfig>`})
	w, err := mailsim.StartWorld(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	o := discover.DefaultOptions()
	o.Resolver = &discover.DNSResolver{Servers: []string{w.DNSAddr()}, Timeout: time.Second}
	o.Probe.Dial = w
	o.Probe.RootCAs = w.CA.Pool()
	o.Probe.GreetingTimeout = 300 * time.Millisecond
	o.NoISPDB = true
	return w, o
}

// runBatch runs a batch on a fresh engine and returns its output lines, decoded.
func runBatch(t testing.TB, o discover.Options, input string, mut func(*Options)) ([]map[string]any, Progress) {
	t.Helper()
	lines, prog, _ := runBatchStats(t, o, input, mut)
	return lines, prog
}

// runBatchStats is runBatch, also returning the engine's counters.
func runBatchStats(t testing.TB, o discover.Options, input string, mut func(*Options)) ([]map[string]any, Progress, discover.Stats) {
	t.Helper()
	e, err := discover.NewEngine(o)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	opts := Options{Engine: e, Discover: o, InFlight: 16}
	if mut != nil {
		mut(&opts)
	}
	var lines []map[string]any
	prog, err := Run(context.Background(), strings.NewReader(input), opts, func(r Result) error {
		b, err := MarshalLine(r)
		if err != nil {
			return err
		}
		if bytes.ContainsRune(b, '\n') {
			t.Errorf("a line with a newline in it: %s", b)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("not JSON: %v: %s", err, b)
		}
		lines = append(lines, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(lines, func(a, b map[string]any) int { return int(a["input_line"].(float64) - b["input_line"].(float64)) })
	return lines, prog, e.Stats()
}

// customers lists n targets; format takes the customer's number (as often as it has %[1]d).
func customers(n int, format string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, format+"\n", i)
	}
	return b.String()
}

// Streaming input: comments and blank lines are skipped, every other line gives exactly one
// output line, and a line that is not a target is an object with an error, never dropped.
func TestLines(t *testing.T) {
	_, o := hostingWorld(t)
	input := "# demo domains\nsrv.example\n\n   alice@guess.example  \nnot a domain\n" + strings.Repeat("x", MaxLine+1) + ".example\nnomail.example\n"
	lines, prog := runBatch(t, o, input, nil)
	want := []struct {
		line   int
		input  string
		status string
		code   string
	}{{2, "srv.example", "ok", ""}, {4, "alice@guess.example", "ok", ""}, {5, "not a domain", "", "bad_target"},
		{6, strings.Repeat("x", MaxLine+1) + ".example", "", "bad_target"}, {7, "nomail.example", "no_mail", ""}}
	if len(lines) != len(want) || prog.Done != len(want) {
		t.Fatalf("%d lines (progress %d), want %d", len(lines), prog.Done, len(want))
	}
	for i, w := range want {
		l := lines[i]
		if int(l["input_line"].(float64)) != w.line || l["input"] != w.input {
			t.Errorf("line %d: %v %v", i, l["input_line"], l["input"])
		}
		if w.code != "" {
			if e, _ := l["error"].(map[string]any); e == nil || e["code"] != w.code {
				t.Errorf("line %d: error %v", w.line, l["error"])
			}
			continue
		}
		if d, _ := l["diagnosis"].(map[string]any); d == nil || d["status"] != w.status {
			t.Errorf("line %d: diagnosis %v", w.line, l["diagnosis"])
		}
	}
	if prog.Failed != 3 {
		t.Errorf("%d failed, want 3 (two bad lines, one domain without mail)", prog.Failed)
	}
}

// An endpoint that 100 domains use is probed once: the batch shares the engine's results.
func TestSharedEndpointsProbedOnce(t *testing.T) {
	w, o := hostingWorld(t)
	// A hundred discoveries at once on a loaded machine (-race): the hoster's servers greet in
	// time, but not always within hostingWorld's short greeting timeout; and the world's DNS
	// server, asked 900 questions at once, drops some (its socket's buffer is full while it
	// waits for the CPU): more rounds of one-second attempts.
	o.Probe.GreetingTimeout = 5 * time.Second
	o.Resolver = &discover.DNSResolver{Servers: o.Resolver.(*discover.DNSResolver).Servers, Timeout: time.Second, Attempts: 5}
	before := w.AcceptedAt()
	// All 100 at once, so that most of them join a probe under way rather than find it cached.
	lines, _, stats := runBatchStats(t, o, customers(100, "user%[1]d@c%[1]d.shared.example"), func(o *Options) { o.InFlight = 100 })
	if len(lines) != 100 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		rec, _ := l["recommended"].(map[string]any)
		if rec == nil {
			t.Fatalf("%v: %v", l["input"], l)
		}
		in, _ := rec["incoming"].(map[string]any)
		if in == nil || in["host"] != "imap.hoster.example" || in["port"].(float64) != 993 {
			t.Fatalf("%v: incoming %v", l["input"], in)
		}
	}
	after := w.AcceptedAt()
	for _, ep := range []string{"imap.hoster.example:993", "imap.hoster.example:143", "smtp.hoster.example:465", "smtp.hoster.example:587"} {
		if n := after[ep] - before[ep]; n != 1 {
			t.Errorf("%s: %d connections for 100 domains, want 1", ep, n)
		}
	}
	// The provider's autoconfig file is fetched once too. Its server has a non-public
	// (documentation) address, which every customer's own MX host shares: the guard allows
	// each of them that class, so each may use the one fetch.
	fetches := 0
	for _, u := range w.WebRequests() {
		if strings.HasPrefix(u, "https://autoconfig.hoster.example/") {
			fetches++
		}
	}
	if fetches != 1 {
		t.Errorf("the provider's autoconfig file was fetched %d times for 100 domains, want 1", fetches)
	}
	// Every one of those endpoint uses but the first is counted as shared, whether it joined
	// the probe under way or came from the cache.
	if stats.SharedHits < 4*99 {
		t.Errorf("%d shared probe results, want at least %d (4 endpoints × 99 domains)", stats.SharedHits, 4*99)
	}
}

// Politeness is global: however many domains lead to one address, never more than PerIP
// connections are open to it at once, across the whole batch.
func TestGlobalPoliteness(t *testing.T) {
	w, o := hostingWorld(t)
	o.PerIP = 2
	lines, _ := runBatch(t, o, customers(30, "c%d.ip.example"), nil)
	if len(lines) != 30 {
		t.Fatalf("%d lines", len(lines))
	}
	if got := w.MaxConcurrent("box.ip.example"); got > 2 || got == 0 {
		t.Errorf("at most %d connections were open at once to the shared box; want 1 or 2", got)
	}
}

// The N shards of a list are disjoint and together make the whole list.
func TestShardsPartition(t *testing.T) {
	var all []string
	for i := range 1000 {
		all = append(all, fmt.Sprintf("user@d%d.example", i))
	}
	seen := map[string]int{}
	for shard := range 4 {
		n := 0
		for _, a := range all {
			if InShard(a, shard, 4) {
				seen[a]++
				n++
			}
		}
		if n < 150 || n > 350 {
			t.Errorf("shard %d has %d of 1000 targets: the hash does not spread", shard, n)
		}
	}
	for _, a := range all {
		if seen[a] != 1 {
			t.Fatalf("%s is in %d shards", a, seen[a])
		}
	}
	if !InShard("Alice@D1.example ", 0, 1) || InShard("x", 1, 1) && false {
		t.Error("one shard takes everything")
	}
}

// Resuming after a crash: a partial last line is cut off, the targets already written are
// skipped, and the rest are added, so that every target ends with exactly one line.
func TestResume(t *testing.T) {
	_, o := hostingWorld(t)
	input := "srv.example\nguess.example\nnomail.example\nplain.example\nnot a domain\n"
	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	full, _ := runBatch(t, o, input, nil)
	// A crash after two lines and half of a third.
	first, _ := MarshalLine(Result{Line: 1, Input: "srv.example", Report: decode(t, full[0])})
	third, _ := MarshalLine(Result{Line: 3, Input: "nomail.example", Report: decode(t, full[2])})
	if err := os.WriteFile(path, append(append(append(first, '\n'), append(third, '\n')...), `{"input_line":4,"input":"plain.ex`...), 0o644); err != nil {
		t.Fatal(err)
	}
	out, done, err := Resume(path)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := discover.NewEngine(o)
	defer e.Close()
	_, err = Run(context.Background(), strings.NewReader(input), Options{Engine: e, Discover: o, Skip: done}, func(r Result) error {
		b, err := MarshalLine(r)
		if err != nil {
			return err
		}
		return out.Write(b)
	})
	out.Close()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m struct {
			Line  int    `json:"input_line"`
			Input string `json:"input"`
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("a broken line survived: %q", l)
		}
		got = append(got, fmt.Sprintf("%d %s", m.Line, m.Input))
	}
	slices.Sort(got)
	want := []string{"1 srv.example", "2 guess.example", "3 nomail.example", "4 plain.example", "5 not a domain"}
	if !slices.Equal(got, want) {
		t.Errorf("after resume: %q, want %q", got, want)
	}
}

func decode(t *testing.T, m map[string]any) *discover.Report {
	t.Helper()
	b, _ := json.Marshal(m)
	var r discover.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// Ctrl-C: the batch stops, everything finished is written, nothing half-written, and no
// goroutine is left behind (goleak checks at exit).
func TestCancelWritesOnlyFinished(t *testing.T) {
	_, o := hostingWorld(t)
	o.Probe.GreetingTimeout = 10 * time.Second // broken.example's silent port would hold for 10 s
	e, _ := discover.NewEngine(o)
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var written []string
	start := time.Now()
	_, err := Run(ctx, strings.NewReader("srv.example\nbroken.example\n"), Options{Engine: e, Discover: o, InFlight: 2}, func(r Result) error {
		written = append(written, r.Input)
		if r.Input == "srv.example" {
			cancel()
		}
		return nil
	})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
	if !slices.Equal(written, []string{"srv.example"}) {
		t.Errorf("written %q: the canceled discovery must not be written", written)
	}
}

// The JSON Lines format: the discovery contract with input_line and input first.
func TestLineFormat(t *testing.T) {
	r := Result{Line: 7, Input: "a@example.com", Report: &discover.Report{Target: "a@example.com", Domain: "example.com", Elapsed: 1500 * time.Microsecond}}
	b, err := MarshalLine(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte(`{"input_line":7,"input":"a@example.com","target":"a@example.com","domain":"example.com",`)) || !bytes.HasSuffix(b, []byte(`"elapsed_ms":1.5}`)) {
		t.Errorf("line %s", b)
	}
	b, _ = MarshalLine(Result{Line: 2, Input: "x y", Err: fmt.Errorf("%w: spaces", discover.ErrBadTarget)})
	if string(b) != `{"input_line":2,"input":"x y","error":{"code":"bad_target","message":"not an e-mail address or domain: spaces"}}` {
		t.Errorf("error line %s", b)
	}
}

// A line far longer than MaxLine (2 MiB) is a bad line like any other: the lines after it are
// still read, and it is not held in memory whole.
func TestHugeLine(t *testing.T) {
	_, o := hostingWorld(t)
	input := "srv.example\n" + strings.Repeat("y", 2<<20) + "\nnomail.example"
	lines, prog := runBatch(t, o, input, nil)
	if len(lines) != 3 || prog.Done != 3 {
		t.Fatalf("%d lines (progress %d), want 3", len(lines), prog.Done)
	}
	if e, _ := lines[1]["error"].(map[string]any); e == nil || e["code"] != "bad_target" || len(lines[1]["input"].(string)) > maxEcho+1 {
		t.Errorf("the long line: error %v, input of %d bytes", lines[1]["error"], len(lines[1]["input"].(string)))
	}
	if lines[2]["input"] != "nomail.example" || int(lines[2]["input_line"].(float64)) != 3 {
		t.Errorf("the line after it: %v %v", lines[2]["input_line"], lines[2]["input"])
	}
}

func TestNextLine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a\n", []string{"a"}},
		{"a\r\nb\r\n", []string{"a", "b"}},
		{"\n\nc", []string{"", "", "c"}},
		{"12345678\nx", []string{"12345", "x"}}, // cut to max+1 = 5
	} {
		r := bufio.NewReaderSize(strings.NewReader(tc.in), 16)
		var got []string
		for {
			l, err := nextLine(r, 4)
			if len(l) == 0 && err != nil {
				break
			}
			got = append(got, string(l))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.want)
		}
	}
}

// countInput is a list of every shape Count must see as the reader does: comments (one
// indented), blank and blank-looking lines, CRLF endings, a line over MaxLine (a bad line, still
// answered), a 2 MiB line, a line whose first 64 KiB are blanks (the reader keeps 64 KiB of a
// line: it sees a blank line, where splitting the whole file would see a target), and a last
// line without a line break.
func countInput() string {
	return "# targets\n\n \t \r\nsrv.example\r\n  # indented comment\r\nnot a domain\n" +
		strings.Repeat("x", MaxLine+1) + ".example\n" + strings.Repeat("y", 2<<20) + "\n" +
		strings.Repeat(" ", maxEcho+10) + "hidden.example\n" + "\r\n" +
		customers(40, "user@c%d.example") + "Alice@Guess.Example \r\nlast.example"
}

// Count, the progress bar's total, is what the reader sends: for the whole list, for each
// shard, and after a resume's skip, on a list of every shape.
func TestCountMatchesReader(t *testing.T) {
	input := countInput()
	ctx := context.Background()
	for _, opts := range []Options{
		{},
		{Shard: 0, Shards: 3}, {Shard: 1, Shards: 3}, {Shard: 2, Shards: 3},
		{Skip: func(line int, input string) bool { return line%2 == 0 || strings.HasPrefix(input, "user@c1") }},
		{Shard: 1, Shards: 2, Skip: func(line int, _ string) bool { return line%3 == 0 }},
	} {
		sent, skipped := collect(t, []byte(input), opts)
		n, err := Count(ctx, strings.NewReader(input), opts)
		if err != nil || n != len(sent) {
			t.Errorf("shard %d/%d, skip %v: Count %d (%v), the reader sends %d (%d skipped)", opts.Shard, opts.Shards, opts.Skip != nil, n, err, len(sent), skipped)
		}
		if opts.Shards == 0 && opts.Skip == nil && n != 46 { // srv, not a domain, the two long lines, 40 customers, Alice, last
			t.Errorf("Count %d of the whole list, want 46", n)
		}
	}
	// Canceled, it stops with the context's error.
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Count(canceled, strings.NewReader(customers(10000, "c%d.example")), Options{}); err != context.Canceled {
		t.Errorf("canceled: %v", err)
	}
}

// Every progress report has the lines skipped so far (another shard's): they are counted as the
// reader goes, not only at the end.
func TestProgressCountsSkipped(t *testing.T) {
	_, o := hostingWorld(t)
	input := customers(30, "c%d.nowhere.example")
	var reports []Progress
	_, prog := runBatch(t, o, input, func(opts *Options) {
		opts.Shard, opts.Shards = 0, 3
		opts.Progress = func(p Progress) { reports = append(reports, p) }
	})
	want := 30 - prog.Done
	if prog.Skipped != want || len(reports) == 0 || prog.Done == 0 {
		t.Fatalf("done %d, skipped %d (want %d), %d reports", prog.Done, prog.Skipped, want, len(reports))
	}
	if last := reports[len(reports)-1]; last.Skipped == 0 {
		t.Errorf("the last progress report says %d skipped; %d were", last.Skipped, want)
	}
}

// The discoveries a rate ceiling can serve in time: none bound without a rate, ⌈rate/4⌉ at the
// default 20 s deadline, in proportion to the deadline, never fewer than one.
func TestInFlightForRate(t *testing.T) {
	for _, tc := range []struct {
		rate     float64
		deadline time.Duration
		want     int
	}{
		{0, 20 * time.Second, 0}, {-1, 0, 0},
		{2, 20 * time.Second, 1}, {4, 20 * time.Second, 1}, {5, 20 * time.Second, 2}, {10, 20 * time.Second, 3},
		{100, 20 * time.Second, 25}, {100, 0, 25}, {100, 10 * time.Second, 13}, {100, 40 * time.Second, 50},
		{0.1, 20 * time.Second, 1}, {2, 10 * time.Second, 1}, {1e12, time.Hour, 1 << 20},
	} {
		if got := InFlightForRate(tc.rate, tc.deadline); got != tc.want {
			t.Errorf("InFlightForRate(%v, %v) = %d, want %d", tc.rate, tc.deadline, got, tc.want)
		}
	}
}

// Summarize reads only batch lines: one that is not (null, a bare object) is an error naming it,
// never a target with an empty status.
func TestSummarizeRefusesForeignLines(t *testing.T) {
	ok := `{"input_line":1,"input":"x","error":{"code":"bad_target","message":"m"}}` + "\n"
	for _, bad := range []string{"null\n", "{}\n", "[1]\n", `{"diagnosis":{"status":"ok"}}` + "\n"} {
		_, err := Summarize(strings.NewReader(ok + bad))
		if err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%q: err %v, want an error for line 2", bad, err)
		}
	}
	s, err := Summarize(strings.NewReader(ok))
	if err != nil || s.Errors != 1 || s.Targets != 0 {
		t.Errorf("%+v %v", s, err)
	}
}

// A batch that crashed or was killed leaves a last line cut off mid-write: no line break, not
// JSON. The summary skips it and says so; the same line with its break, one that is not the
// last, or a last line that is JSON but not a batch line, still fails the summary.
func TestSummarizeIncompleteLastLine(t *testing.T) {
	ok := `{"input_line":1,"input":"x","error":{"code":"bad_target","message":"m"}}` + "\n"
	whole := ok + `{"input_line":2,"input":"y","error":{"code":"bad_target","message":"m"}}`
	for _, cut := range []string{
		`{"input_line":2,"input":"example.com","target":"exam`,
		`{"input_line":2}{"inp`, // two lines' worth, the second cut
		`{"`,
	} {
		s, err := Summarize(strings.NewReader(ok + cut))
		if err != nil || !s.IncompleteLastLine || s.Errors != 1 || s.Targets != 0 {
			t.Errorf("%q: %+v %v, want it skipped", cut, s, err)
		}
	}
	s, err := Summarize(strings.NewReader(whole))
	if err != nil || s.IncompleteLastLine || s.Errors != 2 {
		t.Errorf("a whole last line without a break: %+v %v", s, err)
	}
	for _, bad := range []string{
		`{"input_line":2,"input":"exam` + "\n",      // a line break after it: not what a crash leaves
		`{"input_line":2,"input":"exam` + "\n" + ok, // not the last line
		"null",          // JSON, but not a batch line
		`{"input":"x"}`, // likewise
	} {
		if _, err := Summarize(strings.NewReader(ok + bad)); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%q: err %v, want an error for line 2", bad, err)
		}
	}
}

// TLS versions are counted per recommended server, incoming and outgoing: their base is the
// number of recommendations, which can be twice the number of targets.
func TestSummarizeRecommendations(t *testing.T) {
	line := func(n int, in, out bool) string {
		cfg := func(p, h string, port int, v string) string {
			return fmt.Sprintf(`{"protocol":%q,"host":%q,"port":%d,"security":"tls","tls":{"version":%q}}`, p, h, port, v)
		}
		rec := func(p, h string, port int) string {
			return fmt.Sprintf(`{"protocol":%q,"host":%q,"port":%d,"security":"tls"}`, p, h, port)
		}
		r := fmt.Sprintf(`{"input_line":%d,"diagnosis":{"status":"ok"},"configs":[%s,%s],"recommended":{`, n, cfg("imap", "h", 993, "1.3"), cfg("smtp", "h", 465, "1.2"))
		var parts []string
		if in {
			parts = append(parts, `"incoming":`+rec("imap", "h", 993))
		}
		if out {
			parts = append(parts, `"outgoing":`+rec("smtp", "h", 465))
		}
		return r + strings.Join(parts, ",") + "}}\n"
	}
	s, err := Summarize(strings.NewReader(line(1, true, true) + line(2, true, false) + line(3, false, false)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Targets != 3 || s.Recommendations != 3 || s.TLSVersions["TLS 1.3"] != 2 || s.TLSVersions["TLS 1.2"] != 1 {
		t.Errorf("%+v", s)
	}
}
