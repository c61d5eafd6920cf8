// Package batch runs discovery over many targets at once, as `mailscout batch` does: targets
// stream in one per line, results stream out as JSON Lines, and every discovery runs on one
// shared engine, so that DNS answers, the probe of an endpoint that a thousand domains share,
// and each server address's politeness budget are shared too. It also splits a list into
// shards that machines can take with no coordination (zgrab2's convention), resumes a run from
// its own output, and summarizes an output file.
package batch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailscout/mailscout/discover"
)

// Options tune a batch.
type Options struct {
	// Engine runs every discovery; its options hold for all of them.
	Engine *discover.Engine
	// Discover are the per-discovery options (protocols, fast mode, deadline, credentials…).
	Discover discover.Options
	// InFlight bounds the discoveries running at once (default 64): with the input streamed
	// and results written as they come, memory stays flat however long the list.
	InFlight int
	// Shard and Shards: process only the targets whose hash falls in shard Shard of Shards
	// (0 ≤ Shard < Shards); Shards 0 or 1 takes them all.
	Shard, Shards int
	// Skip, when set, says a target (with its line number) is already done (resume).
	Skip func(line int, input string) bool
	// Progress, when set, is told of every finished target, from one goroutine.
	Progress func(Progress)
}

// Progress is the state of a batch after a target finished.
type Progress struct {
	Done    int           `json:"done"`    // targets finished (written) so far
	Failed  int           `json:"failed"`  // of them, without a usable recommendation (or not a target)
	Skipped int           `json:"skipped"` // lines skipped so far (the input is read ahead of the results): another shard's, or already done
	Elapsed time.Duration `json:"-"`
	Last    string        `json:"last"` // the target that just finished
}

// InFlightForRate is how many discoveries may run at once under a ceiling of rate new
// connections per second (0 for no ceiling: no bound), for discoveries of the given deadline.
//
// The ceiling's wait happens inside each discovery's deadline: a probe queued for a connection
// token is a probe whose discovery is running out of time. A discovery makes about 8 to 12
// connection attempts when nothing is shared (7 to 13 on the demo world; counted here as 12),
// and k discoveries at once share the rate, so each takes about 12·k/rate seconds of waiting
// for tokens. Keeping that within 15% of the deadline — the rest is the network's: handshakes,
// the timeouts of silent hosts — gives k = rate·deadline/80 s, rounded up: ⌈rate/4⌉ at the
// default 20 s deadline, one discovery at a time at 2 connections per second. Below
// 12/deadline connections per second (0.6 at 20 s) even one discovery alone cannot make all
// its connections in time. A low rate then makes the batch slower, not its answers worse.
// Discoveries that share a provider's endpoints need fewer connections than counted; a caller
// who knows its list may allow more.
func InFlightForRate(rate float64, deadline time.Duration) int {
	if !(rate > 0) {
		return 0
	}
	if deadline <= 0 {
		deadline = 20 * time.Second // discover's default
	}
	k := math.Ceil(rate * deadline.Seconds() * rateWaitShare / connectionsPerDiscovery)
	if k >= 1<<20 {
		return 1 << 20
	}
	return max(1, int(k))
}

const (
	connectionsPerDiscovery = 12   // connection attempts reckoned per discovery, nothing shared
	rateWaitShare           = 0.15 // of a discovery's deadline, for waiting on the rate ceiling
)

// MaxLine bounds an input line; a longer one is reported as a bad line.
const MaxLine = 4096

// maxEcho is how much of an over-long line is kept and echoed as its input.
const maxEcho = 64 << 10

// target is one input line that names a target.
type target struct {
	line  int
	input string
}

// Result is one target's outcome: a report, or an error for a line that is not a target. A
// discovery canceled by the caller has neither and is not written (a resumed run redoes it).
type Result struct {
	Line   int
	Input  string
	Report *discover.Report
	Err    error
}

// Run reads targets from in and calls write for each result as it comes, in the order they
// finish, from one goroutine. It returns when the input is exhausted and every discovery has
// finished, or when ctx is canceled (then unfinished discoveries are dropped, not written).
func Run(ctx context.Context, in io.Reader, opts Options, write func(Result) error) (Progress, error) {
	if opts.InFlight <= 0 {
		opts.InFlight = 64
	}
	start := time.Now()
	targets := make(chan target, opts.InFlight)
	results := make(chan Result, opts.InFlight)
	var prog Progress
	var readErr error
	var skipped atomic.Int64 // counted as the reader goes, so that every Progress has it
	go func() {
		defer close(targets)
		readErr = scanTargets(ctx, in, opts, &skipped, func(t target) bool {
			select {
			case targets <- t:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	var wg sync.WaitGroup
	for range opts.InFlight {
		wg.Go(func() {
			for t := range targets {
				r := discoverOne(ctx, opts, t)
				if r.Report == nil && r.Err == nil {
					continue // canceled: nothing half-done is written
				}
				results <- r
			}
		})
	}
	go func() { wg.Wait(); close(results) }()
	var writeErr error
	for r := range results {
		if writeErr != nil {
			continue // keep draining so the workers finish
		}
		if writeErr = write(r); writeErr != nil {
			continue
		}
		prog.Done++
		if failed(r) {
			prog.Failed++
		}
		prog.Last, prog.Skipped, prog.Elapsed = r.Input, int(skipped.Load()), time.Since(start)
		if opts.Progress != nil {
			opts.Progress(prog)
		}
	}
	prog.Skipped, prog.Elapsed = int(skipped.Load()), time.Since(start)
	if writeErr != nil {
		return prog, fmt.Errorf("writing results: %w", writeErr)
	}
	if readErr != nil && ctx.Err() == nil {
		return prog, fmt.Errorf("reading targets: %w", readErr)
	}
	return prog, ctx.Err()
}

// Count says how many targets Run would process from in with opts: the lines that name a
// target or try to (a bad line is answered too), in opts' shard and not skipped by opts.Skip.
// It reads in as Run does, streamed, line by line with the same rules (a line is held up to
// 64 KiB whatever its length), so that its memory stays flat however long the list. It is
// meant for a progress bar's total: read a file twice, once here and once in Run.
func Count(ctx context.Context, in io.Reader, opts Options) (int, error) {
	n := 0
	var skipped atomic.Int64
	err := scanTargets(ctx, in, opts, &skipped, func(target) bool { n++; return true })
	return n, err
}

func failed(r Result) bool {
	if r.Err != nil || r.Report == nil {
		return true
	}
	s := r.Report.Diagnosis.Status
	return s != discover.StatusOK && s != discover.StatusPartial
}

// readTargets streams the input into out (see scanTargets) and returns the number of lines
// skipped; it stops without an error when ctx ends.
func readTargets(ctx context.Context, in io.Reader, opts Options, out chan<- target) (skipped int, err error) {
	var n atomic.Int64
	err = scanTargets(ctx, in, opts, &n, func(t target) bool {
		select {
		case out <- t:
			return true
		case <-ctx.Done():
			return false
		}
	})
	if ctx.Err() != nil {
		err = nil
	}
	return int(n.Load()), err
}

// scanTargets reads the input and calls each for every target, in order, until each returns
// false, the input ends, or ctx ends (then it returns ctx's error): one target per line, blank
// lines and # comments skipped, other shards' lines and lines already done skipped and counted
// in skipped. A line longer than MaxLine is a bad line, whatever its length: one enormous line
// must not end the batch, nor be held in memory, so a line is kept up to maxEcho bytes (echoed
// in its error line) and the rest dropped. Run and Count both read through it, so that a
// count is what a run does.
func scanTargets(ctx context.Context, in io.Reader, opts Options, skipped *atomic.Int64, each func(target) bool) error {
	r := bufio.NewReaderSize(in, 64<<10)
	line := 0
	for {
		raw, err := nextLine(r, maxEcho)
		if len(raw) == 0 && err != nil {
			if err == io.EOF {
				err = nil
			}
			return err
		}
		line++
		if line%4096 == 0 && ctx.Err() != nil {
			return ctx.Err() // a long run of skipped lines still notices
		}
		text := strings.TrimSpace(string(raw))
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if !InShard(text, opts.Shard, opts.Shards) || opts.Skip != nil && opts.Skip(line, text) {
			skipped.Add(1)
			continue
		}
		if !each(target{line, text}) {
			return ctx.Err()
		}
	}
}

// nextLine returns the next line of r without its line ending, cut to max+1 bytes (so that a
// longer one is still seen to be too long); the rest of a longer line is read and dropped. Its
// error is r's, with whatever came before it.
func nextLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if room := max + 1 - len(line); room > 0 {
			line = append(line, chunk[:min(len(chunk), room)]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		line = bytes.TrimRight(line, "\r\n")
		if err == nil && len(line) == 0 {
			line = []byte{} // an empty line, not the end
		}
		if err == io.EOF && len(chunk) > 0 {
			return line, nil // a last line without a line ending
		}
		return line, err
	}
}

// InShard reports whether a target belongs to shard i of n: the FNV-1a hash of the target (as
// written, case-folded) modulo n. Every machine computes the same answer from the same list.
func InShard(input string, i, n int) bool {
	if n <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(strings.TrimSpace(input))))
	return h.Sum64()%uint64(n) == uint64(i)
}

// discoverOne runs one discovery. A line that is not a target is a Result with an error; a
// discovery the caller canceled is an empty Result.
func discoverOne(ctx context.Context, opts Options, t target) Result {
	r := Result{Line: t.line, Input: t.input}
	if len(t.input) > MaxLine {
		r.Err = fmt.Errorf("%w: the line is longer than %d bytes", discover.ErrBadTarget, MaxLine)
		return r
	}
	if _, err := discover.ParseTarget(t.input); err != nil {
		r.Err = err
		return r
	}
	rep, err := opts.Engine.Run(ctx, t.input, opts.Discover)
	switch {
	case errors.Is(err, discover.ErrCanceled) || ctx.Err() != nil:
		return Result{} // not finished: not written
	case rep == nil:
		r.Err = err
	default:
		r.Report = rep // DNS failures are in the report (status dns_failed)
	}
	return r
}

// ErrorCode is the machine-readable code of a line's error.
func ErrorCode(err error) string {
	switch {
	case errors.Is(err, discover.ErrBadTarget):
		return "bad_target"
	case errors.Is(err, discover.ErrDNS):
		return "dns_failed"
	}
	return "error"
}

// MarshalLine is one output line (without its newline): the discovery JSON contract with
// input_line and input first, or, for a line that is not a target, input_line, input and an
// error object. Compact, so that a line is one write.
func MarshalLine(r Result) ([]byte, error) {
	head, err := json.Marshal(struct {
		Line  int    `json:"input_line"`
		Input string `json:"input"`
	}{r.Line, r.Input})
	if err != nil {
		return nil, err
	}
	head = head[:len(head)-1] // drop the closing brace
	if r.Report == nil {
		e, err := json.Marshal(struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}{ErrorCode(r.Err), r.Err.Error()})
		if err != nil {
			return nil, err
		}
		return append(append(append(head, `,"error":`...), e...), '}'), nil
	}
	body, err := json.Marshal(r.Report)
	if err != nil {
		return nil, err
	}
	return append(append(head, ','), body[1:]...), nil
}
