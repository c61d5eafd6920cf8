package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

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
	// Every column that holds names or words may wrap: the endpoint after its host name (or
	// after a dot of it), the mechanisms between them; protocol, mode and TLS version never do.
	flex := map[int]breaker{1: atDots, 3: wordList, 4: wordList, 5: wordList}
	if l.Wide {
		header = append(header, "Time")
	}
	if withLogin {
		header = append(header, "Login")
		flex[len(header)-1] = wordList
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
	if err := tableFit(w, l, header, rows, flex); err != nil {
		return err
	}
	return probeNotes(w, results, l)
}

// probeRow is a mode's row: what it is, its verdict, the mechanisms offered after TLS (Auth)
// and before it (Before TLS, STARTTLS only), the TLS version and, in wide layout, the time. A
// cell says "-" where the probe learned nothing, "none" only where the server answered and
// offered nothing.
func probeRow(r probe.Result) []string {
	v, _, _ := discover.Judge(&r)
	verdict := string(v)
	switch {
	case r.ErrorKind == probe.KindAuth:
		verdict = "login refused" // the server works; it said no to these credentials
	case !r.OK:
		verdict = "fails"
	}
	before, auth := "-", "-"
	if r.Security == probe.StartTLS && plaintextCapsKnown(&r) {
		before = list(r.AuthMethodsPlaintext, "none")
	}
	if r.OK || r.ErrorKind == probe.KindAuth {
		// A refused login came after the final capabilities: what the server offers is known.
		auth = list(r.AuthMethods, "none")
	}
	return []string{string(r.Protocol), hostPort(r.Host, r.Port), string(r.Security), verdict, auth, before, tlsCell(&r), fmt.Sprintf("%.0f ms", probe.Millis(r.Timings.Total))}
}

// plaintextCapsKnown says the server answered the capability question before TLS (EHLO,
// CAPABILITY, CAPA), or said in another way that there is nothing to ask (an EHLO-less SMTP
// server, a PREAUTH greeting, a POP3 server without CAPA): what the Before TLS column shows is
// then what it offers. A mode stopped before that, by a timeout, a cancellation or a closed
// connection, learned nothing.
func plaintextCapsKnown(r *probe.Result) bool {
	return r.StartTLSOffered || len(r.AuthMethodsPlaintext) > 0 || r.ErrorKind == probe.KindStartTLSUnavailable ||
		(r.TLS == nil && len(r.Capabilities) > 0)
}

// marker is the sign a line about a probed mode starts with (README.md, "What it shows"): x a
// mode that failed, ! one that answered but cannot be used safely, + one that is usable.
func marker(ok bool, v discover.Verdict) string {
	switch {
	case !ok:
		return "x"
	case v != discover.Usable:
		return "!"
	}
	return "+"
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
				b.WriteString(wrap("[greeting_timeout] in every mode tried, the server accepted the connection and never said a word: a tarpit, an overloaded server, or not a mail server", l, fmt.Sprintf("  %s %s %s: ", marker(false, ""), r.Protocol, ep), "      "))
			}
			continue
		}
		if !r.OK {
			text := fmt.Sprintf("[%s] %s", r.ErrorKind, r.Error)
			if h := hint(&r); h != "" {
				text += " " + h
			}
			b.WriteString(wrap(text, l, "  "+marker(false, "")+" "+label, "      "))
			continue
		}
		said := map[string]bool{}
		if v, blockers, text := discover.Judge(&r); v != discover.Usable {
			b.WriteString(wrap(fmt.Sprintf("%s [%s]: %s", v, strings.Join(blockers, " "), text), l, "  "+marker(true, v)+" "+label, "      "))
			said[probe.WarnPlaintextSession] = slices.Contains(blockers, discover.BlockerNoTLS)
			said[probe.WarnLegacyTLS] = slices.Contains(blockers, discover.BlockerLegacyTLS)
			said[probe.WarnLoginDisabled] = slices.Contains(blockers, discover.BlockerLoginDisabled)
			said[probe.WarnCertInvalid] = r.TLS != nil && !r.TLS.CertValid
		}
		for _, wn := range r.Warnings {
			if said[wn.Code] {
				continue // the verdict line above already says it
			}
			b.WriteString(wrap(fmt.Sprintf("[%s] %s", wn.Code, wn.Text), l, "  ! "+label, "      ")) // a warning, whatever the verdict
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
// direction (C client, S server, * event), plaintext or TLS, and the line. A line longer than
// the layout's width goes on under its text, indented; wide layout never breaks one. Without a
// layout, the width is TerminalWidth(nil)'s: $COLUMNS, else DefaultWidth.
func Transcript(w io.Writer, results []probe.Result, layout ...Layout) error {
	l := Layout{Width: TerminalWidth(nil)}
	if len(layout) > 0 {
		l = layout[0]
	}
	var b strings.Builder
	for _, r := range results {
		addr := r.Address
		if addr == "" {
			addr = "not connected"
		}
		b.WriteString(fold(fmt.Sprintf("== %s %s %s (%s)", r.Protocol, hostPort(r.Host, r.Port), r.Security, addr), l, "", "     "))
		for _, line := range r.Transcript {
			layer := "plain"
			if line.TLS {
				layer = "tls  "
			}
			b.WriteString(fold(line.Text, l, fmt.Sprintf("%9.1fms %s %s ", probe.Millis(line.At), line.Dir, layer), transcriptIndent))
		}
		if !r.OK {
			b.WriteString(fold(r.Error, l, fmt.Sprintf("%11s x       ", ""), transcriptIndent))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// transcriptIndent starts a transcript line's continuation: under the text, two columns in, so
// that it reads as the same line and not as a new one.
const transcriptIndent = "                      "

// fold breaks text into lines of at most the layout's width, the first starting with first and
// the others with rest. Unlike wrap, it keeps the text exactly as written (the server's words,
// spaces and all): a break replaces one space, or falls inside a word too long for a line. In
// wide layout, or without a width, it does not break.
func fold(text string, l Layout, first, rest string) string {
	var b strings.Builder
	prefix := first
	for {
		room := max(l.Width-utf8.RuneCountInString(prefix), 10)
		r := []rune(text)
		if l.Wide || l.Width <= 0 || len(r) <= room {
			b.WriteString(prefix + text + "\n")
			return b.String()
		}
		cut, next := room, room
		if i := strings.LastIndexByte(string(r[:room+1]), ' '); i > 0 {
			cut = utf8.RuneCountInString(string(r[:room+1])[:i])
			next = cut + 1
		}
		b.WriteString(prefix + string(r[:cut]) + "\n")
		text, prefix = string(r[next:]), rest
	}
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
