package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/probe"
)

// ProbeTable writes one row per probed mode with its verdict, then what failed and why and the
// warnings on modes that answered. A mode that answers but cannot be used is shown as such
// (insecure or unusable, with what is in the way), never as just "works".
func ProbeTable(w io.Writer, results []probe.Result, l Layout) error {
	if len(results) > 0 && results[0].Proxy != "" {
		fmt.Fprintf(w, "Through proxy %s:\n", results[0].Proxy)
	}
	withLogin := false
	for _, r := range results {
		withLogin = withLogin || r.Auth != nil
	}
	header := []string{"Proto", "Endpoint", "Security", "Verdict", "Auth", "Before TLS", "TLS"}
	flex := []int{4, 5}
	if l.Wide {
		header = append(header, "Time")
	}
	if withLogin {
		header = append(header, "Login")
		flex = append(flex, len(header)-1)
	}
	var rows [][]string
	for _, r := range results {
		row := probeRow(r)
		if !l.Wide {
			row = row[:len(row)-1]
		}
		if withLogin {
			row = append(row, loginCell(r.Auth))
		}
		rows = append(rows, row)
	}
	if err := table(w, l, header, rows, flex...); err != nil {
		return err
	}
	return probeNotes(w, results, l)
}

func probeRow(r probe.Result) []string {
	v, _, _ := discover.Judge(&r)
	verdict := string(v)
	if !r.OK {
		verdict = "fails"
	}
	before, auth := "-", "-"
	if r.Security == probe.StartTLS && r.Greeting != "" {
		before = list(r.AuthMethodsPlaintext, "none")
	}
	if r.OK {
		auth = list(r.AuthMethods, "none")
	}
	return []string{string(r.Protocol), hostPort(r.Host, r.Port), string(r.Security), verdict, auth, before, tlsCell(&r), fmt.Sprintf("%.0f ms", probe.Millis(r.Timings.Total))}
}

func probeNotes(w io.Writer, results []probe.Result, l Layout) error {
	var b strings.Builder
	silent, said := silentEndpoints(results), map[string]bool{}
	for _, r := range results {
		ep := hostPort(r.Host, r.Port)
		label := fmt.Sprintf("%s %s %s: ", r.Protocol, ep, r.Security)
		if silent[ep] {
			// Every mode met silence: each mode's own guess at the reason ("probably implicit
			// TLS", "probably plaintext") would contradict the other's. One note says it all.
			if !said[ep] {
				said[ep] = true
				b.WriteString(wrap("[greeting_timeout] in every mode tried, the server accepted the connection and never said a word: a tarpit, an overloaded server, or not a mail server", l, fmt.Sprintf("  x %s %s: ", r.Protocol, ep), "      "))
			}
			continue
		}
		if !r.OK {
			text := fmt.Sprintf("[%s] %s", r.ErrorKind, r.Error)
			if h := hint(&r); h != "" {
				text += " " + h
			}
			b.WriteString(wrap(text, l, "  x "+label, "      "))
			continue
		}
		said := map[string]bool{}
		if v, blockers, text := discover.Judge(&r); v != discover.Usable {
			b.WriteString(wrap(fmt.Sprintf("%s [%s]: %s", v, strings.Join(blockers, " "), text), l, "  ! "+label, "      "))
			said[probe.WarnPlaintextSession] = slices.Contains(blockers, discover.BlockerNoTLS)
			said[probe.WarnLegacyTLS] = slices.Contains(blockers, discover.BlockerLegacyTLS)
			said[probe.WarnLoginDisabled] = slices.Contains(blockers, discover.BlockerLoginDisabled)
			said[probe.WarnCertInvalid] = r.TLS != nil && !r.TLS.CertValid
		}
		for _, wn := range r.Warnings {
			if said[wn.Code] {
				continue // the verdict line above already says it
			}
			b.WriteString(wrap(fmt.Sprintf("[%s] %s", wn.Code, wn.Text), l, "  ! "+label, "      "))
		}
	}
	if b.Len() == 0 {
		return nil
	}
	_, err := io.WriteString(w, "\n"+b.String())
	return err
}

// silentEndpoints are the endpoints probed in more than one mode where every mode timed out
// waiting for a greeting.
func silentEndpoints(results []probe.Result) map[string]bool {
	modes, silent := map[string]int{}, map[string]int{}
	for _, r := range results {
		ep := hostPort(r.Host, r.Port)
		modes[ep]++
		if r.ErrorKind == probe.KindGreetingTimeout {
			silent[ep]++
		}
	}
	out := map[string]bool{}
	for ep, n := range modes {
		if n > 1 && silent[ep] == n {
			out[ep] = true
		}
	}
	return out
}

// Transcript writes each result's dialogue, as a helpdesk reads it: time since connect,
// direction (C client, S server, * event), plaintext or TLS, and the line.
func Transcript(w io.Writer, results []probe.Result) error {
	var b strings.Builder
	for _, r := range results {
		addr := r.Address
		if addr == "" {
			addr = "not connected"
		}
		fmt.Fprintf(&b, "== %s %s %s (%s)\n", r.Protocol, hostPort(r.Host, r.Port), r.Security, addr)
		for _, l := range r.Transcript {
			layer := "plain"
			if l.TLS {
				layer = "tls  "
			}
			fmt.Fprintf(&b, "%9.1fms %s %s %s\n", probe.Millis(l.At), l.Dir, layer, l.Text)
		}
		if !r.OK {
			fmt.Fprintf(&b, "%11s x       %s\n", "", r.Error)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ProbeResult is one probed mode in the probe JSON contract: the probe's result and its
// verdict.
type ProbeResult struct {
	probe.Result
	Verdict     discover.Verdict `json:"verdict"`
	Blockers    []string         `json:"blockers"`
	VerdictText string           `json:"verdict_text"`
}

// ProbeResults adds the verdicts.
func ProbeResults(results []probe.Result) []ProbeResult {
	out := make([]ProbeResult, 0, len(results))
	for _, r := range results {
		v, b, text := discover.Judge(&r)
		out = append(out, ProbeResult{Result: r, Verdict: v, Blockers: b, VerdictText: text})
	}
	return out
}

// ProbeJSON writes the results as one JSON document: {"results": [...]}. A single result is still
// wrapped, so consumers parse one shape whatever the number of modes tried.
func ProbeJSON(w io.Writer, results []probe.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Results []ProbeResult `json:"results"`
	}{ProbeResults(results)})
}

func list(items []string, empty string) string {
	if len(items) == 0 {
		return empty
	}
	return strings.Join(items, " ")
}

func hostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return fmt.Sprintf("[%s]:%d", host, port)
	}
	return fmt.Sprintf("%s:%d", host, port)
}
