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

// DiscoverTable writes the answer as a helpdesk reads it: the diagnosis in words, the
// recommendation, what DNS and the sources said, the configurations per protocol, then what
// failed and why, and the warnings. It fits l.Width unless l.Wide.
func DiscoverTable(w io.Writer, r *discover.Report, l Layout) error {
	var b strings.Builder
	head := fmt.Sprintf("Discovery for %s (domain %s): %.0f ms, %d connections", r.Target, r.Domain, probe.Millis(r.Elapsed), r.Connections)
	if r.Proxy != "" {
		head += ", through proxy " + r.Proxy
	}
	if !r.Complete {
		head += ", INCOMPLETE"
	}
	b.WriteString(wrap(head, l, "", "  "))
	b.WriteString("\n")
	b.WriteString(wrap(r.Diagnosis.Summary, l, "Diagnosis ("+statusWords(r.Diagnosis.Status)+"): ", "  "))
	b.WriteString("\nRecommended:\n")
	pad := 0
	for _, c := range []*discover.Choice{r.Recommended.Incoming, r.Recommended.Outgoing} {
		if c != nil {
			pad = max(pad, len(hostPort(c.Host, c.Port)))
		}
	}
	b.WriteString(wrap(choiceLine(r.Recommended.Incoming, r.Nearest.Incoming, pad), l, "  incoming  ", "            "))
	b.WriteString(wrap(choiceLine(r.Recommended.Outgoing, r.Nearest.Outgoing, pad), l, "  outgoing  ", "            "))
	b.WriteString("\n")
	b.WriteString(wrap(dnsLine(r.DNS, l), l, "DNS:      ", "          "))
	b.WriteString(wrap(sourcesLine(r.Sources), l, "Sources:  ", "          "))
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if len(r.Configs) == 0 {
		io.WriteString(w, "No server answered as a mail server.\n")
	} else if err := configTables(w, r, l); err != nil {
		return err
	}
	if notes := configNotes(r, l); notes != "" {
		io.WriteString(w, "\nNotes:\n"+notes)
	}
	if err := failureTable(w, r, l); err != nil {
		return err
	}
	var tail strings.Builder
	if !l.Wide && len(r.DNS.SRV) > 0 {
		tail.WriteString("\nSRV records:\n")
		for _, s := range r.DNS.SRV {
			tail.WriteString(wrap(srvWords(s), l, "  ", "    "))
		}
	}
	if len(r.Warnings) > 0 {
		tail.WriteString("\nWarnings:\n")
		for _, wn := range r.Warnings {
			tail.WriteString(wrap(fmt.Sprintf("[%s] %s", wn.Code, wn.Text), l, "  ! ", "    "))
		}
	}
	_, err := io.WriteString(w, tail.String())
	return err
}

func statusWords(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "_", " ")) }

// configTables are the ranked configurations, one table per protocol; wide layout puts them
// in one table and adds the sources, every warning code and the login.
func configTables(w io.Writer, r *discover.Report, l Layout) error {
	withLogin := slices.ContainsFunc(r.Configs, func(c discover.Config) bool { return c.Auth != nil })
	header := []string{"#", "Endpoint", "Security", "Verdict", "Auth", "TLS"}
	flex := []int{3, 4}
	if l.Wide {
		header = append([]string{"#", "Proto"}, append(header[1:], "Source", "Notes")...)
	}
	if withLogin {
		header = append(header, "Login")
		flex = append(flex, len(header)-1)
	}
	row := func(c discover.Config) []string {
		row := []string{fmt.Sprint(c.Rank), hostPort(c.Host, c.Port), string(c.Security),
			verdictCell(c.Verdict, c.Blockers), list(c.AuthMethods, "none"), tlsCell(&c.Result)}
		if l.Wide {
			row = append([]string{row[0], string(c.Protocol)}, append(row[1:], strings.Join(c.Sources, ","), warningCodes(c.Warnings))...)
		}
		if withLogin {
			row = append(row, loginCell(c.Auth))
		}
		return row
	}
	if l.Wide {
		io.WriteString(w, "Configurations, best first per protocol:\n")
		var rows [][]string
		for _, c := range r.Configs {
			rows = append(rows, row(c))
		}
		return table(w, l, header, rows)
	}
	printed := false
	for i, p := range []probe.Protocol{probe.SMTP, probe.IMAP, probe.POP3} {
		var rows [][]string
		for _, c := range r.Configs {
			if c.Protocol == p {
				rows = append(rows, row(c))
			}
		}
		if len(rows) == 0 {
			continue
		}
		title := []string{"Outgoing mail (SMTP), best first:", "Incoming mail (IMAP), best first:", "Incoming mail (POP3), best first:"}[i]
		if printed {
			title = "\n" + title
		}
		printed = true
		io.WriteString(w, title+"\n")
		if err := table(w, l, header, rows, flex...); err != nil {
			return err
		}
	}
	return nil
}

// configNotes say, under the tables, what is in the way of each configuration that is not
// usable, what a login attempt gave, and which hosts to confirm.
func configNotes(r *discover.Report, l Layout) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, c := range r.Configs {
		label := fmt.Sprintf("%s %s %s: ", c.Protocol, hostPort(c.Host, c.Port), c.Security)
		if c.Verdict != discover.Usable {
			b.WriteString(wrap(string(c.Verdict)+": "+c.VerdictText, l, "  "+label, "      "))
		}
		if a := c.Auth; a != nil && a.Attempted && !a.OK {
			b.WriteString(wrap(fmt.Sprintf("login FAILED (%s as %s): %s", a.Mechanism, a.Username, a.Error), l, "  "+label, "      "))
		}
		for _, wn := range c.Warnings {
			key := wn.Code + " " + c.Host
			if (wn.Code == discover.WarnUntrustedHost || wn.Code == discover.WarnInternalAddress) && !seen[key] {
				seen[key] = true
				b.WriteString(wrap("["+wn.Code+"] "+wn.Text, l, "  "+c.Host+": ", "      "))
			}
		}
	}
	return b.String()
}

// failureTable lists failed probes: a table in wide layout, a list whose reasons wrap
// otherwise. Without verbose, guessed endpoints that merely refused or do not exist are
// counted, not listed: they are expected and say nothing about the domain.
func failureTable(w io.Writer, r *discover.Report, l Layout) error {
	var rows [][]string
	hidden := 0
	for _, p := range r.Probes {
		if p.OK && !l.Verbose {
			continue
		}
		if !l.Verbose && onlyGuessed(p.Sources) && (p.ErrorKind == probe.KindRefused || p.ErrorKind == probe.KindDNS) {
			hidden++
			continue
		}
		result, reason := string(p.ErrorKind), p.Error
		if p.OK {
			result, reason = verdictCell(p.Verdict, p.Blockers), p.VerdictText
		} else if h := hint(&p.Result); h != "" {
			reason += " " + h
		}
		rows = append(rows, []string{string(p.Protocol), hostPort(p.Host, p.Port), string(p.Security), result, reason, strings.Join(p.Sources, ",")})
	}
	if len(rows) > 0 {
		title := "\nWhat failed and why:\n"
		if l.Verbose {
			title = "\nEvery probe:\n"
		}
		io.WriteString(w, title)
		if l.Wide {
			if err := table(w, l, []string{"Proto", "Endpoint", "Security", "Result", "Reason", "Source"}, rows); err != nil {
				return err
			}
		} else {
			var b strings.Builder
			for _, row := range rows {
				b.WriteString(wrap(fmt.Sprintf("%s %s %s [%s] (%s)", row[0], row[1], row[2], row[3], row[5]), l, "  x ", "      "))
				b.WriteString(wrap(row[4], l, "      ", "      "))
			}
			io.WriteString(w, b.String())
		}
	}
	if hidden > 0 {
		_, err := io.WriteString(w, wrap(fmt.Sprintf("(%d guessed endpoints refused the connection or do not exist; -v lists every probe)", hidden), l, "", ""))
		return err
	}
	return nil
}

func onlyGuessed(sources []string) bool {
	return !slices.ContainsFunc(sources, func(s string) bool {
		return s != discover.SourceGuess && s != discover.SourceMX && s != discover.SourceProvider
	})
}

func verdictCell(v discover.Verdict, blockers []string) string {
	if len(blockers) == 0 {
		return string(v)
	}
	return string(v) + ": " + strings.Join(blockers, " ")
}

// tlsCell is the TLS version; the certificate's verdict is among the blockers.
func tlsCell(r *probe.Result) string {
	if r.TLS == nil {
		if r.OK {
			return "none"
		}
		return "-"
	}
	return r.TLS.Version
}

func warningCodes(ws []probe.Warning) string {
	var codes []string
	for _, w := range ws {
		codes = append(codes, w.Code)
	}
	return list(codes, "")
}

func dnsLine(d discover.DNSReport, l Layout) string {
	mx := "none"
	if len(d.MX) > 0 {
		var parts []string
		for _, m := range d.MX {
			parts = append(parts, fmt.Sprintf("%s (%d)", m.Host, m.Preference))
		}
		mx = strings.Join(parts, ", ")
		if d.NullMX {
			mx += ": a null MX, the domain accepts no mail (RFC 7505)"
		}
	}
	srv := "none published"
	switch {
	case len(d.SRV) > 0 && !l.Wide:
		srv = fmt.Sprintf("%d records (below)", len(d.SRV))
	case len(d.SRV) > 0:
		var parts []string
		for _, s := range d.SRV {
			parts = append(parts, srvWords(s))
		}
		srv = strings.Join(parts, ", ")
	}
	return fmt.Sprintf("MX %s; SRV %s; DNSSEC %s", mx, srv, yesNo(d.DNSSEC, "yes (answers validated by the resolver)", "no"))
}

func srvWords(s discover.SRVReport) string {
	svc, _, _ := strings.Cut(s.Service, "._tcp")
	if s.Target == "." {
		return svc + " not offered"
	}
	return fmt.Sprintf("%s %s:%d (priority %d, weight %d)", svc, s.Target, s.Port, s.Priority, s.Weight)
}

// sourcesLine names the sources that named servers; guessed names are counted, not listed.
func sourcesLine(srcs []discover.SourceReport) string {
	var parts []string
	srv, guessed := 0, 0
	for _, s := range srcs {
		switch {
		case s.Candidates == 0:
		case s.Kind == discover.SourceGuess || strings.HasPrefix(s.URLOrName, "host names"):
			guessed += s.Candidates
		case s.Kind == discover.SourceSRV:
			srv++
		case s.Kind == discover.SourceMX:
			parts = append(parts, "the MX hosts")
		default:
			parts = append(parts, s.Kind+" "+s.URLOrName)
		}
	}
	if srv > 0 {
		parts = append([]string{fmt.Sprintf("srv (%d services)", srv)}, parts...)
	}
	if guessed > 0 {
		parts = append(parts, fmt.Sprintf("%d guessed endpoints", guessed))
	}
	if len(parts) == 0 {
		return "none named a server"
	}
	return strings.Join(parts, "; ")
}

// choiceLine is one recommended server, or what came nearest; pad aligns the endpoints.
func choiceLine(c *discover.Choice, n *discover.Near, pad int) string {
	if c == nil {
		if n == nil {
			return "none found"
		}
		return "NONE USABLE; nearest: " + n.Text
	}
	s := fmt.Sprintf("%-4s  %-*s  %-8s  user %s  ", c.Protocol, pad, hostPort(c.Host, c.Port), c.Security, c.Username)
	if c.Verified {
		s += "[usable]"
	} else {
		s += "[INSECURE, allowed: " + strings.Join(c.Blockers, " ") + "]"
	}
	switch {
	case c.LoginOK:
		s += " login OK"
	case c.LoginError != "":
		s += " login FAILED: " + c.LoginError
	}
	if c.Untrusted {
		s += " (outside the domain: confirm it is the provider's)"
	}
	return s
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// loginCell is the Login column: what the login attempt on a configuration gave.
func loginCell(a *probe.AuthResult) string {
	switch {
	case a == nil:
		return "-"
	case a.OK:
		return "OK (" + a.Mechanism + ")"
	case a.Attempted:
		return "FAILED (" + a.Mechanism + ")"
	}
	return "not tried: " + strings.ReplaceAll(a.NotAttempted, "_", " ")
}

// hint is what the CLI adds to a failure: the flag that changes the outcome, where one does.
func hint(r *probe.Result) string {
	switch {
	case r.ErrorKind == probe.KindTLSVersion && r.HasWarning(probe.WarnLegacyTLS):
		return "(--allow-insecure-tls checks it anyway)"
	case r.ErrorKind == probe.KindTLSVersion:
		return "(--tls-min and --tls-max set the versions offered)"
	}
	return ""
}
