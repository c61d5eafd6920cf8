package discover

import (
	"context"

	"github.com/mailscout/mailscout/probe"
)

// Probe runs probes of single endpoints through the engine, as a discovery's probes run: under
// its per-address session limit, connection rate and concurrency, and sharing results with its
// discoveries (a result less than CacheTTL old answers at once, and a probe of the same
// endpoint already under way is joined). The engine's probe options apply.
//
// Each target should carry its addresses (probe.Target.Addrs): politeness is counted per
// address, and the probe connects only to them, at most MaxAddrsPerFamily of each family (a
// name with a hundred A records must not become a hundred connections). The engine does not
// hold them against Options.Private — the caller chose them. Results come in the order of targets; when ctx ends
// first, the probes still queued or running are stopped and their results say so.
func (e *Engine) Probe(ctx context.Context, targets ...probe.Target) []probe.Result {
	seq := e.seq.Add(1)
	got := make(chan jobResult, len(targets))
	jobs := make([]*job, len(targets))
	index := make(map[*job]int, len(targets))
	for i, t := range targets {
		t.Addrs = capAddrs(t.Addrs)
		j := &job{target: t, prio: prio{seq: seq, n: i}}
		j.deliver = func(r jobResult) { got <- r }
		jobs[i], index[j] = j, i
	}
	e.disp.submit(jobs...)
	results := make([]probe.Result, len(targets))
	withdrawn := false
	for range targets {
		var jr jobResult
		select {
		case jr = <-got:
		case <-ctx.Done():
			if !withdrawn {
				withdrawn = true
				for _, j := range jobs {
					e.disp.withdraw(j, &probe.Cut{Reason: probe.CutCanceled})
				}
			}
			jr = <-got
		}
		results[index[jr.job]] = jr.r
	}
	return results
}
