package report

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/mailscout/mailscout/internal/batch"
)

// Summary writes a batch summary as tables: counts, largest first, each with its share of what
// it counts (targets, or the recommended servers for their TLS versions).
func Summary(w io.Writer, s batch.Summary, l Layout) error {
	fmt.Fprintf(w, "%d %s, %d %s, %d %s; %d reachable only without encryption\n",
		s.Targets, plural(s.Targets, "target", "targets"),
		s.Errors, plural(s.Errors, "line that is not a target", "lines that are not targets"),
		s.Connections, plural(s.Connections, "connection", "connections"), s.PlaintextOnly)
	if s.IncompleteLastLine {
		io.WriteString(w, wrap("warning: the last line is incomplete (cut off mid-write, as a batch that was stopped leaves it) and was skipped; 'mailscout batch --resume' cuts it off and does that target again", l, "", "  "))
	}
	for _, part := range []struct {
		title, what string
		counts      map[string]int
		of          int
	}{
		{"Diagnosis", "status", s.ByStatus, s.Targets},
		{"Provider (the best MX host's registrable domain)", "provider", s.ByProvider, s.Targets},
		{fmt.Sprintf("TLS of the recommended servers, incoming and outgoing (share of the %d recommended)", s.Recommendations), "version", s.TLSVersions, s.Recommendations},
		{"Certificate problems (targets with at least one)", "problem", s.CertProblems, s.Targets},
	} {
		fmt.Fprintf(w, "\n%s:\n", part.title)
		if len(part.counts) == 0 {
			fmt.Fprintln(w, "  none")
			continue
		}
		keys := slices.Collect(maps.Keys(part.counts))
		slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(part.counts[b], part.counts[a]), cmp.Compare(a, b)) })
		var rows [][]string
		for _, k := range keys {
			rows = append(rows, []string{k, fmt.Sprint(part.counts[k]), percent(part.counts[k], part.of)})
		}
		if err := table(w, l, []string{part.what, "count", "share"}, rows, 0); err != nil {
			return err
		}
	}
	return nil
}

func percent(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}
