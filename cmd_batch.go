package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/internal/batch"
	"github.com/mailscout/mailscout/internal/report"
)

const batchSynopsis = `batch [flags] [FILE|-]

Discovers many targets (addresses or domains, one per line; blank lines and # comments are
skipped) on one shared engine: DNS answers, the probe of an endpoint that many domains share,
and every server address's politeness budget are shared across the whole batch. Writes JSON
Lines, one compact object per target in the order they finish: the 'discover --json' contract
with "input_line" and "input" first, or, for a line that is not a target, "input_line",
"input" and "error": {"code","message"}. Reads standard input without FILE or with -.

Exit codes: 0 the batch ran to the end (whatever the targets' diagnoses), 1 it did not (an
unreadable input, an unwritable output, Ctrl-C), 2 usage error.`

func runBatch(args []string, stdout, stderr io.Writer) int {
	cl := newCommandLine("batch", batchSynopsis, stdout, stderr)
	fs := cl.FlagSet
	var f discoverFlags
	f.registerDiscovery(fs)
	output := fs.String("output", "", "write the JSON Lines to this `file` instead of standard output")
	resume := fs.Bool("resume", false, "with --output: skip the targets the file already has a line for, and append")
	shard := fs.String("shard", "", "`I/N`: process only shard I (0-based) of N; N machines given the same list split it with no coordination")
	inFlight := fs.Int("in-flight", 64, "discoveries running at once (with --rate, at most ⌈R·deadline/80 s⌉ unless given: ⌈R/4⌉ at the default --deadline)")
	rate := fs.Float64("rate", 0, "`R` new connections per second over the whole batch (0: no ceiling); it also bounds --in-flight, so that a low rate makes the batch slower, not its answers worse")
	dnsRate := fs.Float64("dns-rate", 0, "DNS questions per second sent to the resolver over the whole batch (0: no ceiling; authoritative servers' rate limiting drops answers beyond a few hundred per second)")
	cacheTTL := fs.Duration("cache-ttl", 24*time.Hour, "how long a server's probe result and a provider's autoconfig document are reused by the batch's later discoveries: longer than the batch, so that an endpoint many domains use is probed once")
	progressJSON := fs.Bool("progress-json", false, "write progress events as JSON Lines to standard error")
	summary := fs.Bool("summary", false, "when done, print the summary table (as 'mailscout summarize' does) to standard error: of the whole --output file, or of the lines this run wrote")
	demo := fs.Bool("demo", false, "run against the built-in demo world instead of the Internet (try: printf 'srv.example\\nguess.example\\n' | mailscout batch --demo)")
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	if len(pos) > 1 {
		return usageError(stderr, fs, "batch takes at most one FILE")
	}
	if *demo {
		if msg := rejectDemoIgnored(cl); msg != "" {
			return usageError(stderr, fs, msg)
		}
		f.probe.proxy.none = true // $ALL_PROXY does not lead to the demo world
	}
	f.format = "json"
	opts, err := f.options()
	if err != nil {
		return usageError(stderr, fs, err.Error())
	}
	opts.Rate, opts.DNSRate, opts.CacheTTL = *rate, *dnsRate, *cacheTTL
	if !(*rate >= 0) || !(*dnsRate >= 0) || *inFlight < 1 { // NaN is no rate either
		return usageError(stderr, fs, "--rate and --dns-rate must not be negative and --in-flight must be at least 1")
	}
	if *cacheTTL <= 0 {
		return usageError(stderr, fs, fmt.Sprintf("--cache-ttl must be a positive duration, not %s", *cacheTTL))
	}
	if *rate > 0 {
		// The rate's wait runs inside each discovery's deadline: admit only the discoveries
		// the rate can serve in time (batch.InFlightForRate). A value given explicitly holds
		// (a list whose domains share their providers needs few connections per discovery),
		// with a warning when it is above the bound.
		bound := batch.InFlightForRate(*rate, opts.Deadline)
		switch {
		case !cl.set("in-flight"):
			*inFlight = min(*inFlight, bound)
		case *inFlight > bound:
			fmt.Fprintf(stderr, "mailscout batch: warning: --in-flight %d with --rate %g: discoveries that need their own connections may run out of --deadline waiting for the rate (%d at once would not)\n", *inFlight, *rate, bound)
		}
	}
	if *resume && *output == "" {
		return usageError(stderr, fs, "--resume needs --output FILE (the results so far)")
	}
	i, n, err := parseShard(*shard)
	if err != nil {
		return usageError(stderr, fs, err.Error())
	}
	in := io.Reader(os.Stdin)
	countable := "" // a regular file, which can be read a second time for the progress total
	if len(pos) == 1 && pos[0] != "-" {
		file, err := os.Open(pos[0])
		if err != nil { // not the invocation's fault: README.md, an unreadable input exits 1
			fmt.Fprintf(stderr, "mailscout batch: cannot read the targets: %v\n", err)
			return exitNotWorks
		}
		defer file.Close()
		in = file
		if st, err := file.Stat(); err == nil && st.Mode().IsRegular() {
			countable = pos[0]
		}
	}
	if *demo {
		world, err := startDemoWorld(&opts)
		if err != nil {
			fmt.Fprintf(stderr, "mailscout batch: %v\n", err)
			return exitNotWorks
		}
		defer world.Close()
	}
	engine, err := discover.NewEngine(opts)
	if err != nil {
		fmt.Fprintf(stderr, "mailscout batch: %v\n", err)
		return exitNotWorks
	}
	defer engine.Close()

	var out lineSink
	skip := func(int, string) bool { return false }
	switch {
	case *resume:
		o, done, err := batch.Resume(*output)
		if err != nil {
			fmt.Fprintf(stderr, "mailscout batch: %v\n", err)
			return exitNotWorks
		}
		out, skip = o, done
	case *output != "":
		o, err := batch.Create(*output)
		if err != nil {
			fmt.Fprintf(stderr, "mailscout batch: %v\n", err)
			return exitNotWorks
		}
		out = o
	default:
		out = lineWriter{stdout}
	}
	defer out.Close()
	// --summary without --output: summarize the lines as they are written (batch.Summarize
	// reads them through a pipe; memory stays flat however long the batch).
	var live *liveSummary
	if *summary && *output == "" {
		live = newLiveSummary()
		out = teeLines{out, live}
	}

	ctx, stop := signalContext()
	defer stop()
	show := newBatchProgress(stderr, *progressJSON)
	if show.wantsTotal() && countable != "" {
		show.count(ctx, countable, batch.Options{Shard: i, Shards: n, Skip: skip})
	}
	prog, err := batch.Run(ctx, in, batch.Options{Engine: engine, Discover: opts, InFlight: *inFlight, Shard: i, Shards: n, Skip: skip, Progress: show.update},
		func(r batch.Result) error {
			line, err := batch.MarshalLine(r)
			if err != nil {
				return err
			}
			return out.Write(line)
		})
	show.finish(prog, engine.Stats(), err != nil)
	switch {
	case live != nil:
		s, serr := live.finish()
		if serr == nil && err == nil {
			serr = report.Summary(stderr, s, report.Layout{Width: report.TerminalWidth(os.Stderr)})
		}
		if serr != nil && err == nil {
			fmt.Fprintf(stderr, "mailscout batch: summary: %v\n", serr)
			return exitNotWorks
		}
	case *summary && err == nil:
		if code := printSummary(*output, stderr, false); code != exitWorks {
			return code
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "mailscout batch: stopped; %d targets written (run again with --resume to continue)\n", prog.Done)
		return exitNotWorks
	case err != nil:
		fmt.Fprintf(stderr, "mailscout batch: %v\n", err)
		return exitNotWorks
	}
	return exitWorks
}

// parseShard reads "I/N".
func parseShard(s string) (i, n int, err error) {
	if s == "" {
		return 0, 1, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("--shard %q: want I/N with 0 ≤ I < N, e.g. 0/4", s)
	}
	return i, n, nil
}

type lineWriter struct{ w io.Writer }

func (l lineWriter) Write(line []byte) error {
	_, err := l.w.Write(append(line, '\n'))
	return err
}

func (lineWriter) Close() error { return nil }

// lineSink is where a batch's JSON Lines go.
type lineSink interface {
	Write([]byte) error
	Close() error
}

// teeLines writes each line to out, and a copy to the live summary.
type teeLines struct {
	out  lineSink
	copy *liveSummary
}

func (t teeLines) Write(line []byte) error {
	if err := t.out.Write(line); err != nil {
		return err
	}
	t.copy.add(line)
	return nil
}

func (t teeLines) Close() error { return t.out.Close() }

// liveSummary runs batch.Summarize over the lines a batch writes, as they are written.
type liveSummary struct {
	pw   *io.PipeWriter
	done chan struct{}
	s    batch.Summary
	err  error
}

func newLiveSummary() *liveSummary {
	pr, pw := io.Pipe()
	l := &liveSummary{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.s, l.err = batch.Summarize(pr)
		pr.CloseWithError(errSummaryDone) // a summary that stopped early never blocks the batch
	}()
	return l
}

var errSummaryDone = errors.New("summary done")

// add hands one line to the summary; a summary that gave up is the summary's failure, not the
// batch's, and is reported by finish.
func (l *liveSummary) add(line []byte) {
	l.pw.Write(append(line[:len(line):len(line)], '\n'))
}

func (l *liveSummary) finish() (batch.Summary, error) {
	l.pw.Close()
	<-l.done
	return l.s, l.err
}

// batchProgress shows progress on standard error: a bar when it is a terminal
// (github.com/schollz/progressbar/v3), JSON Lines with --progress-json, nothing otherwise.
// The total is counted alongside the batch, from a second reading of the file, only when one
// of them shows it.
type batchProgress struct {
	bar     *progressbar.ProgressBar
	json    *json.Encoder
	last    time.Time
	total   atomic.Int64 // targets this run will process; -1 while not known
	barMax  bool         // the bar has the total
	stop    context.CancelFunc
	counted chan struct{} // closed when the count has ended (nil: no count)
}

func newBatchProgress(stderr io.Writer, asJSON bool) *batchProgress {
	p := &batchProgress{}
	p.total.Store(-1)
	if asJSON {
		p.json = json.NewEncoder(stderr)
		return p
	}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(-1,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("discovering"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("targets"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// wantsTotal: something shows the total.
func (p *batchProgress) wantsTotal() bool { return p.bar != nil || p.json != nil }

// count counts, on a goroutine, the targets of the file at path that this run will process:
// those of its shard not already done (opts' Shard, Shards and Skip, as the run's). It reads the
// file as the batch does, streamed (batch.Count): memory stays flat however long the list.
func (p *batchProgress) count(ctx context.Context, path string, opts batch.Options) {
	ctx, p.stop = context.WithCancel(ctx)
	p.counted = make(chan struct{})
	go func() {
		defer close(p.counted)
		f, err := os.Open(path)
		if err != nil {
			return // no total: the batch reads the file it has open
		}
		defer f.Close()
		if n, err := batch.Count(ctx, f, opts); err == nil {
			p.total.Store(int64(n))
		}
	}()
}

func (p *batchProgress) update(pr batch.Progress) {
	switch {
	case p.bar != nil:
		if t := p.total.Load(); !p.barMax && t >= 0 {
			p.bar.ChangeMax64(t)
			p.barMax = true
		}
		p.bar.Describe(fmt.Sprintf("discovering (%d without a usable answer)", pr.Failed))
		p.bar.Set(pr.Done)
	case p.json != nil && time.Since(p.last) >= time.Second:
		p.last = time.Now()
		p.event("progress", pr, nil)
	}
}

// finish ends the display; the count is waited for (a batch that ran to the end has read the
// whole file already, and the done event has the total) or, after a failure, stopped.
func (p *batchProgress) finish(pr batch.Progress, st discover.Stats, failed bool) {
	if p.counted != nil {
		if failed {
			p.stop()
		}
		<-p.counted
		p.stop()
	}
	switch {
	case p.bar != nil:
		p.bar.Finish()
	case p.json != nil:
		p.event("done", pr, &st)
	}
}

// progressEvent is one line of --progress-json. The field names are a public contract
// (README.md): new fields may come, none changes.
type progressEvent struct {
	Kind string `json:"kind"` // "progress", or "done" for the last
	batch.Progress
	Total       *int64  `json:"total,omitempty"` // targets this run processes, once counted
	ElapsedMS   float64 `json:"elapsed_ms"`
	PerSecond   float64 `json:"per_second"`
	ETAMS       *int64  `json:"eta_ms,omitempty"` // (total − done) at per_second, with total and a rate
	Connections int64   `json:"connections,omitempty"`
	SharedHits  int64   `json:"shared_hits,omitempty"`
}

func (p *batchProgress) event(kind string, pr batch.Progress, st *discover.Stats) {
	e := progressEvent{Kind: kind, Progress: pr, ElapsedMS: float64(pr.Elapsed.Milliseconds())}
	if s := pr.Elapsed.Seconds(); s > 0 {
		e.PerSecond = float64(pr.Done) / s
	}
	if t := p.total.Load(); t >= 0 {
		e.Total = &t
		if pr.Done > 0 && e.PerSecond > 0 {
			eta := int64(math.Round(float64(max(t-int64(pr.Done), 0)) / e.PerSecond * 1000))
			e.ETAMS = &eta
		}
	}
	if st != nil {
		e.Connections, e.SharedHits = st.Connections, st.SharedHits
	}
	p.json.Encode(e)
}

const summarizeSynopsis = `summarize [flags] [FILE|-]

Reads the JSON Lines of 'mailscout batch' and prints what a provider or researcher asks
first: targets by diagnosis, by provider (the registrable domain of the best MX host), the TLS
versions of the recommended servers, certificate problems, and domains reachable only without
encryption.`

func runSummarize(args []string, stdout, stderr io.Writer) int {
	cl := newCommandLine("summarize", summarizeSynopsis, stdout, stderr)
	asJSON := cl.Bool("json", false, "write the summary as JSON")
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	if len(pos) > 1 {
		return usageError(stderr, cl.FlagSet, "summarize takes at most one FILE")
	}
	path := "-"
	if len(pos) == 1 {
		path = pos[0]
	}
	return printSummaryTo(path, stdout, stderr, *asJSON)
}

func printSummary(path string, w io.Writer, asJSON bool) int {
	return printSummaryTo(path, w, w, asJSON)
}

func printSummaryTo(path string, stdout, stderr io.Writer, asJSON bool) int {
	in := io.Reader(os.Stdin)
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintf(stderr, "mailscout summarize: %v\n", err)
			return exitNotWorks // like batch: an unreadable input is not a usage error
		}
		defer f.Close()
		in = f
	}
	s, err := batch.Summarize(in)
	if err != nil {
		fmt.Fprintf(stderr, "mailscout summarize: %v\n", err)
		return exitNotWorks
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s); err != nil {
			return exitNotWorks
		}
		return exitWorks
	}
	if err := report.Summary(stdout, s, report.Layout{Width: report.TerminalWidth(os.Stdout)}); err != nil {
		fmt.Fprintf(stderr, "mailscout summarize: %v\n", err)
		return exitNotWorks
	}
	return exitWorks
}
