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

// DiscoverJSON writes the report as one indented JSON object (the documented contract).
func DiscoverJSON(w io.Writer, r *discover.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// DiscoverTable writes the answer as a helpdesk reads it: what DNS said, the recommendation,
// the ranked working configurations per protocol, then what failed and why. verbose lists
// every probe instead of only the failures worth reading.
func DiscoverTable(w io.Writer, r *discover.Report, verbose bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Discovery for %s (domain %s), %.0f ms, %d connections", r.Target, r.Domain, r.ElapsedMS, r.Connections)
	if r.Proxy != "" {
		b.WriteString(", through proxy " + r.Proxy)
	}
	if !r.Complete {
		b.WriteString(", INCOMPLETE")
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "  MX:     %s\n", mxLine(r.DNS))
	fmt.Fprintf(&b, "  SRV:    %s\n", srvLine(r.DNS.SRV))
	fmt.Fprintf(&b, "  DNSSEC: %s\n", yesNo(r.DNS.DNSSEC, "yes (answers validated by the resolver)", "no"))
	fmt.Fprintf(&b, "  Sources that named servers: %s\n\n", sourcesLine(r.Sources))
	b.WriteString("Recommended:\n")
	fmt.Fprintf(&b, "  incoming  %s\n", choiceLine(r.Recommended.Incoming))
	fmt.Fprintf(&b, "  outgoing  %s\n\n", choiceLine(r.Recommended.Outgoing))
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if len(r.Configs) == 0 {
		io.WriteString(w, "No working configuration found.\n")
	} else {
		io.WriteString(w, "Working configurations, best first per protocol:\n")
		withLogin := slices.ContainsFunc(r.Configs, func(c discover.Config) bool { return c.Auth != nil })
		t := newTable(w)
		header := []any{"Rank", "Protocol", "Host", "Port", "Security", "Auth", "TLS / certificate", "Source", "Notes"}
		if withLogin {
			header = append(header, "Login")
		}
		t.Header(header...)
		for _, c := range r.Configs {
			row := []string{fmt.Sprint(c.Rank), string(c.Protocol), c.Host, fmt.Sprint(c.Port), string(c.Security),
				list(c.AuthMethods, "none"), tlsVerdict(&c.Result), strings.Join(c.Sources, ","), warningCodes(c.Warnings)}
			if withLogin {
				row = append(row, loginVerdict(c.Auth))
			}
			if err := t.Append(row); err != nil {
				return err
			}
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	if err := failureTable(w, r, verbose); err != nil {
		return err
	}
	var notes strings.Builder
	for _, wn := range r.Warnings {
		fmt.Fprintf(&notes, "  ! [%s] %s\n", wn.Code, wn.Text)
	}
	for _, c := range r.Configs {
		for _, wn := range c.Warnings {
			if wn.Code == "untrusted_host" || wn.Code == "cert_invalid" || wn.Code == "legacy_tls" {
				fmt.Fprintf(&notes, "  ! %s %s:%d %s: [%s] %s\n", c.Protocol, c.Host, c.Port, c.Security, wn.Code, wn.Text)
			}
		}
	}
	if notes.Len() > 0 {
		_, err := io.WriteString(w, "\nWarnings:\n"+notes.String())
		return err
	}
	return nil
}

// failureTable lists failed probes. Without verbose, guessed endpoints that merely refused or
// do not exist are counted, not listed: they are expected and say nothing about the domain.
func failureTable(w io.Writer, r *discover.Report, verbose bool) error {
	var rows [][]string
	hidden := 0
	for _, p := range r.Probes {
		if p.OK && !verbose {
			continue
		}
		if !verbose && onlyGuessed(p.Sources) && (p.ErrorKind == probe.KindRefused || p.ErrorKind == probe.KindDNS) {
			hidden++
			continue
		}
		reason, result := p.Error, "FAILS: "+string(p.ErrorKind)
		if p.OK {
			reason, result = tlsVerdict(&p.Result), "works"
		}
		if !verbose {
			reason = clipReason(reason, 110)
		}
		rows = append(rows, []string{string(p.Protocol), hostPort(p.Host, p.Port), string(p.Security), result, reason, strings.Join(p.Sources, ",")})
	}
	if len(rows) > 0 {
		title := "\nWhat failed and why:\n"
		if verbose {
			title = "\nEvery probe:\n"
		}
		io.WriteString(w, title)
		t := newTable(w)
		t.Header("Protocol", "Endpoint", "Security", "Result", "Reason", "Source")
		for _, row := range rows {
			if err := t.Append(row); err != nil {
				return err
			}
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	if hidden > 0 {
		_, err := fmt.Fprintf(w, "(%d guessed endpoints refused the connection or do not exist; -v lists every probe)\n", hidden)
		return err
	}
	return nil
}

func onlyGuessed(sources []string) bool {
	return !slices.ContainsFunc(sources, func(s string) bool {
		return s != discover.SourceGuess && s != discover.SourceMX && s != discover.SourceProvider
	})
}

func clipReason(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func tlsVerdict(r *probe.Result) string {
	if r.TLS == nil {
		if r.Security == probe.Plain && r.OK {
			return "none (cleartext)"
		}
		return "-"
	}
	v := "TLS " + r.TLS.Version + ", "
	if r.TLS.CertValid {
		return v + "cert valid"
	}
	return v + "cert INVALID: " + r.TLS.CertReason
}

func warningCodes(ws []probe.Warning) string {
	var codes []string
	for _, w := range ws {
		codes = append(codes, w.Code)
	}
	return list(codes, "")
}

func mxLine(d discover.DNSReport) string {
	if len(d.MX) == 0 {
		return "none"
	}
	var parts []string
	for _, m := range d.MX {
		parts = append(parts, fmt.Sprintf("%s (%d)", m.Host, m.Preference))
	}
	s := strings.Join(parts, ", ")
	if d.NullMX {
		s += " — null MX: the domain accepts no mail (RFC 7505)"
	}
	return s
}

func srvLine(srv []discover.SRVReport) string {
	if len(srv) == 0 {
		return "none published"
	}
	var parts []string
	for _, s := range srv {
		svc, _, _ := strings.Cut(s.Service, "._tcp")
		if s.Target == "." {
			parts = append(parts, svc+" not offered")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s:%d (prio %d)", svc, s.Target, s.Port, s.Priority))
	}
	return strings.Join(parts, ", ")
}

func sourcesLine(srcs []discover.SourceReport) string {
	var parts []string
	srv := 0
	for _, s := range srcs {
		switch {
		case s.Candidates == 0 || s.Kind == discover.SourceGuess || strings.HasPrefix(s.URLOrName, "host names"):
		case s.Kind == discover.SourceSRV:
			srv++
		default:
			parts = append(parts, s.Kind+" "+s.URLOrName)
		}
	}
	if srv > 0 {
		parts = append([]string{fmt.Sprintf("srv (%d services)", srv)}, parts...)
	}
	if len(parts) == 0 {
		return "none but guesses"
	}
	return strings.Join(parts, "; ")
}

func choiceLine(c *discover.Choice) string {
	if c == nil {
		return "none found"
	}
	v := "verified: TLS with a valid certificate"
	if !c.Verified {
		v = "NOT verified: see the warnings"
	}
	if c.LoginOK {
		v += "; login OK"
	}
	return fmt.Sprintf("%-5s %s  %-8s  username %s  (%s)", c.Protocol, hostPort(c.Host, c.Port), c.Security, c.Username, v)
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// loginVerdict is the Login column: what the login attempt on a configuration gave.
func loginVerdict(a *probe.AuthResult) string {
	switch {
	case a == nil:
		return "-"
	case a.OK:
		return fmt.Sprintf("OK (%s as %s)", a.Mechanism, a.Username)
	case a.Attempted:
		return clipReason(fmt.Sprintf("FAILED (%s as %s): %s", a.Mechanism, a.Username, a.Error), 90)
	}
	// Not tried: the reason's first clause; the JSON has all of it.
	reason := strings.TrimPrefix(a.Error, "not attempted: ")
	if i := strings.IndexAny(reason, ",;("); i > 0 {
		reason = strings.TrimSpace(reason[:i])
	}
	return "not tried: " + clipReason(reason, 70)
}
