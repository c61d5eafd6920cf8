package report

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/mailscout/mailscout/internal/batch"
)

// Summary writes a batch summary as tables: counts, largest first.
func Summary(w io.Writer, s batch.Summary, l Layout) error {
	fmt.Fprintf(w, "%d targets, %d lines that are not targets, %d connections; %d reachable only without encryption\n",
		s.Targets, s.Errors, s.Connections, s.PlaintextOnly)
	for _, part := range []struct {
		title, what string
		counts      map[string]int
	}{
		{"Diagnosis", "status", s.ByStatus},
		{"Provider (the best MX host's registrable domain)", "provider", s.ByProvider},
		{"TLS of the recommended servers", "version", s.TLSVersions},
		{"Certificate problems (targets with at least one)", "problem", s.CertProblems},
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
			rows = append(rows, []string{k, fmt.Sprint(part.counts[k]), percent(part.counts[k], s.Targets)})
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
