package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/mailscout/mailscout/probe"
)

// newTable makes the project's one table style: ASCII borders, headers as written, left-aligned
// cells, no wrapping (a helpdesk copies lines into tickets; wrapped cells break grep).
func newTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
	)
}

// ProbeTable writes one row per probe result, then a list of what failed and why and of the
// warnings on modes that work.
func ProbeTable(w io.Writer, results []probe.Result) error {
	if len(results) > 0 && results[0].Proxy != "" {
		fmt.Fprintf(w, "Through proxy %s:\n", results[0].Proxy)
	}
	withLogin := false
	for _, r := range results {
		withLogin = withLogin || r.Auth != nil
	}
	t := newTable(w)
	header := []any{"Protocol", "Endpoint", "Security", "Result", "Auth (usable)", "Auth before TLS", "TLS", "Certificate", "Time"}
	if withLogin {
		header = append(header, "Login")
	}
	t.Header(header...)
	for _, r := range results {
		row := probeRow(r)
		if withLogin {
			row = append(row, loginVerdict(r.Auth))
		}
		if err := t.Append(row); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	return probeNotes(w, results)
}

func probeRow(r probe.Result) []string {
	endpoint := hostPort(r.Host, r.Port)
	result := "works"
	if !r.OK {
		result = "FAILS: " + string(r.ErrorKind)
	}
	authBefore := "-"
	if r.Security == probe.StartTLS {
		authBefore = list(r.AuthMethodsPlaintext, "none")
	}
	tlsCol, cert := "-", "-"
	if r.TLS != nil {
		tlsCol = "TLS " + r.TLS.Version
		cert = "valid"
		if !r.TLS.CertValid {
			cert = "INVALID: " + r.TLS.CertReason
		}
	}
	auth := "-"
	if r.OK {
		auth = list(r.AuthMethods, "none")
	}
	return []string{string(r.Protocol), endpoint, string(r.Security), result, auth, authBefore, tlsCol, cert, fmt.Sprintf("%.0f ms", r.Timings.Total)}
}

func probeNotes(w io.Writer, results []probe.Result) error {
	var b strings.Builder
	for _, r := range results {
		label := fmt.Sprintf("%s %s %s", r.Protocol, hostPort(r.Host, r.Port), r.Security)
		if !r.OK {
			fmt.Fprintf(&b, "  x %s: [%s] %s\n", label, r.ErrorKind, r.Error)
		}
		for _, wn := range r.Warnings {
			fmt.Fprintf(&b, "  ! %s: [%s] %s\n", label, wn.Code, wn.Text)
		}
	}
	if b.Len() == 0 {
		return nil
	}
	_, err := io.WriteString(w, "\n"+b.String())
	return err
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
			fmt.Fprintf(&b, "%9.1fms %s %s %s\n", l.At, l.Dir, layer, l.Text)
		}
		if !r.OK {
			fmt.Fprintf(&b, "%11s x       %s\n", "", r.Error)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ProbeJSON writes the results as one JSON document: {"results": [...]}. A single result is still
// wrapped, so consumers parse one shape whatever the number of modes tried.
func ProbeJSON(w io.Writer, results []probe.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Results []probe.Result `json:"results"`
	}{results})
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
