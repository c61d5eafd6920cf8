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
	head := fmt.Sprintf("Discovery for %s (domain %s): %.0f ms, %d %s", r.Target, r.Domain, probe.Millis(r.Elapsed), r.Connections, plural(r.Connections, "connection", "connections"))
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
	in, out := askedDirections(r)
	if in {
		b.WriteString(wrap(choiceLine(r.Recommended.Incoming, r.Nearest.Incoming, pad), l, "  incoming  ", "            "))
	}
	if out {
		b.WriteString(wrap(choiceLine(r.Recommended.Outgoing, r.Nearest.Outgoing, pad), l, "  outgoing  ", "            "))
	}
	b.WriteString("\n")
	b.WriteString(wrap(dnsLine(r, l), l, "DNS:      ", "          "))
	b.WriteString(wrap(sourcesLine(r), l, "Sources:  ", "          "))
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if len(r.Configs) == 0 {
		msg := "No server answered as a mail server."
		if slices.ContainsFunc(r.Probes, func(c discover.Config) bool { return c.Greeting != "" }) {
			msg = "No configuration works; what the servers that answered said is under \"What failed and why\"."
		}
		if _, err := io.WriteString(w, wrap(msg, l, "", "")); err != nil {
			return err
		}
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
		tail.WriteString(warningLines(r.Warnings, l))
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
	// As in probe tables: the verdict and login wrap between words, the mechanisms between
	// names, and the endpoint after its host name only when nothing else gives.
	flex := map[int]breaker{1: atDots, 3: atSpaces, 4: wordList}
	if l.Wide {
		header = append([]string{"#", "Proto"}, append(header[1:], "Source", "Notes")...)
	}
	if withLogin {
		header = append(header, "Login")
		flex[len(header)-1] = wordList
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
		if err := tableFit(w, l, header, rows, flex); err != nil {
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
// otherwise; with verbose, every probe, each line marked as what it is (see marker). Without
// verbose, endpoints that were only guesses (guessed host names, the MX and provider hosts on
// the usual ports) and merely refused or do not exist are counted, not listed: they are
// expected and say nothing about the domain.
func failureTable(w io.Writer, r *discover.Report, l Layout) error {
	var rows [][]string
	var marks []string
	var hidden []discover.Config
	for _, p := range r.Probes {
		if p.OK && !l.Verbose {
			continue
		}
		if !l.Verbose && onlyGuessed(p.Sources) && (p.ErrorKind == probe.KindRefused || p.ErrorKind == probe.KindDNS) {
			hidden = append(hidden, p)
			continue
		}
		result, reason := string(p.ErrorKind), p.Error
		if p.OK {
			result, reason = verdictCell(p.Verdict, p.Blockers), p.VerdictText
		} else if h := hint(&p.Result); h != "" {
			reason += " " + h
		}
		rows = append(rows, []string{string(p.Protocol), hostPort(p.Host, p.Port), string(p.Security), result, reason, strings.Join(p.Sources, ",")})
		marks = append(marks, marker(p.OK, p.Verdict))
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
			for i, row := range rows {
				b.WriteString(wrap(fmt.Sprintf("%s %s %s [%s] (%s)", row[0], row[1], row[2], row[3], row[5]), l, "  "+marks[i]+" ", "      "))
				b.WriteString(wrap(row[4], l, "      ", "      "))
			}
			io.WriteString(w, b.String())
		}
	}
	if len(hidden) > 0 {
		_, err := io.WriteString(w, wrap(hiddenWords(hidden), l, "", " "))
		return err
	}
	return nil
}

// hiddenWords counts the probes failureTable leaves out by what happened to them and by what
// named them: "(8 endpoints refused the connection: 6 on the MX host, 2 guessed; -v lists every
// probe)".
func hiddenWords(hidden []discover.Config) string {
	var refused, missing, mx, provider, guessed int
	mxHosts := map[string]bool{}
	for _, p := range hidden {
		if p.ErrorKind == probe.KindRefused {
			refused++
		} else {
			missing++
		}
		switch {
		case slices.Contains(p.Sources, discover.SourceMX):
			mx++
			mxHosts[p.Host] = true
		case slices.Contains(p.Sources, discover.SourceProvider):
			provider++
		default:
			guessed++
		}
	}
	what := "refused the connection or do not exist"
	switch {
	case missing == 0:
		what = "refused the connection"
	case refused == 0:
		what = plural(missing, "does not exist", "do not exist")
	}
	var by []string
	if mx > 0 {
		by = append(by, fmt.Sprintf("%d on the %s", mx, plural(len(mxHosts), "MX host", "MX hosts")))
	}
	if provider > 0 {
		by = append(by, fmt.Sprintf("%d on the provider's usual host names", provider))
	}
	if guessed > 0 {
		by = append(by, fmt.Sprintf("%d guessed", guessed))
	}
	n := len(hidden)
	return fmt.Sprintf("(%d %s %s: %s; -v lists every probe)", n, plural(n, "endpoint", "endpoints"), what, strings.Join(by, ", "))
}

// onlyGuessed says no source vouched for the endpoint: it was a guess, of a host name or of the
// usual ports of an MX or provider host.
func onlyGuessed(sources []string) bool {
	return !slices.ContainsFunc(sources, func(s string) bool {
		return s != discover.SourceGuess && s != discover.SourceMX && s != discover.SourceProvider
	})
}

// plural is one or many, by n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
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

// dnsLine says what DNS answered: the MX and SRV records, or that a lookup failed and the
// answer is unknown (never "none": a resolver that did not answer says nothing about the domain).
func dnsLine(r *discover.Report, l Layout) string {
	d := r.DNS
	mxState, srvFailed, srvAsked := lookups(r)
	mx := "none"
	switch {
	case len(d.MX) > 0:
		var parts []string
		for _, m := range d.MX {
			parts = append(parts, fmt.Sprintf("%s (%d)", m.Host, m.Preference))
		}
		mx = strings.Join(parts, ", ")
		if d.NullMX {
			mx += ": a null MX, the domain accepts no mail (RFC 7505)"
		}
	case mxState == lookupFailed:
		mx = "unknown (the lookup failed)"
	case mxState == lookupUnfinished:
		mx = "unknown (the lookup did not finish)"
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
	case srvFailed > 0 && srvFailed == srvAsked:
		srv = "unknown (the lookups failed)"
	case srvFailed > 0:
		srv = fmt.Sprintf("unknown (%d of %d lookups failed, the others found none)", srvFailed, srvAsked)
	}
	if len(d.SRV) > 0 && srvFailed > 0 {
		srv += fmt.Sprintf(" (%d of %d lookups failed)", srvFailed, srvAsked)
	}
	dnssec := yesNo(d.DNSSEC, "yes (answers validated by the resolver)", "no")
	if !d.DNSSEC && (mxState != lookupDone || srvFailed > 0) {
		dnssec = "unknown"
	}
	return fmt.Sprintf("MX %s; SRV %s; DNSSEC %s", mx, srv, dnssec)
}

const (
	lookupDone       = iota // answered, or the name does not exist: what DNS said is known
	lookupFailed            // the resolver failed, or the lookup was cut short: unknown
	lookupUnfinished        // still under way when the report was made: unknown
)

// lookups reads the sources for the state of the MX lookup and how many SRV lookups were made
// and how many of them failed. A domain that does not exist (NXDOMAIN) is an answer.
func lookups(r *discover.Report) (mx, srvFailed, srvAsked int) {
	nxdomain := slices.ContainsFunc(r.Warnings, func(w probe.Warning) bool { return w.Code == discover.WarnNXDomain })
	for _, s := range r.Sources {
		switch s.Kind {
		case discover.SourceMX:
			switch {
			case s.OK || nxdomain:
			case s.Error == "":
				mx = lookupUnfinished
			default:
				mx = lookupFailed
			}
		case discover.SourceSRV:
			srvAsked++
			if !s.OK {
				srvFailed++
			}
		}
	}
	return mx, srvFailed, srvAsked
}

func srvWords(s discover.SRVReport) string {
	svc, _, _ := strings.Cut(s.Service, "._tcp")
	if s.Target == "." {
		return svc + " not offered"
	}
	return fmt.Sprintf("%s %s:%d (priority %d, weight %d)", svc, s.Target, s.Port, s.Priority, s.Weight)
}

// sourcesLine names the sources that named servers; guessed names are counted, not listed.
func sourcesLine(r *discover.Report) string {
	var parts []string
	srv, guessed := 0, 0
	for _, s := range r.Sources {
		switch {
		case s.Candidates == 0:
		case s.Guessed:
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
		g := fmt.Sprintf("%d guessed endpoints", guessed)
		if !slices.ContainsFunc(r.Probes, func(p discover.Config) bool {
			return slices.Contains(p.Sources, discover.SourceGuess) || slices.Contains(p.Sources, discover.SourceProvider)
		}) {
			g += ", none of them probed" // their names did not resolve: the diagnosis says why
		}
		parts = append(parts, g)
	}
	if len(parts) == 0 {
		return "none named a server"
	}
	return strings.Join(parts, "; ")
}

// askedDirections says which directions the discovery was asked about: incoming (IMAP, POP3),
// outgoing (SMTP). A report without its protocols (written before they were recorded) is taken
// to be about both.
func askedDirections(r *discover.Report) (in, out bool) {
	if len(r.Protocols) == 0 {
		return true, true
	}
	for _, p := range r.Protocols {
		switch p {
		case probe.SMTP:
			out = true
		case probe.IMAP, probe.POP3:
			in = true
		}
	}
	return in, out
}

// warningLines are the report's warnings, one line each, except DNS failures: without verbose
// they are one line with their count, as one resolver that does not answer fails every lookup.
func warningLines(ws []probe.Warning, l Layout) string {
	var b strings.Builder
	var dnsErrors []probe.Warning
	for _, wn := range ws {
		if wn.Code == discover.WarnDNSError && !l.Verbose {
			dnsErrors = append(dnsErrors, wn)
			continue
		}
		b.WriteString(wrap(fmt.Sprintf("[%s] %s", wn.Code, wn.Text), l, "  ! ", "    "))
	}
	switch len(dnsErrors) {
	case 0:
	case 1:
		b.WriteString(wrap(fmt.Sprintf("[%s] %s", dnsErrors[0].Code, dnsErrors[0].Text), l, "  ! ", "    "))
	default:
		// "DNS MX example.com: …": counted by type; the MX lookup's error, the one that
		// matters most, is the example.
		types := map[string]int{}
		var order []string
		example := dnsErrors[0].Text
		for _, wn := range dnsErrors {
			f := strings.Fields(wn.Text)
			t := "other"
			if len(f) > 2 && f[0] == "DNS" {
				t = f[1]
			}
			if types[t] == 0 {
				order = append(order, t)
			}
			types[t]++
			if t == "MX" {
				example = wn.Text
			}
		}
		slices.Sort(order)
		var counts []string
		for _, t := range order {
			counts = append(counts, fmt.Sprintf("%d %s", types[t], t))
		}
		b.WriteString(wrap(fmt.Sprintf("[%s] %d DNS lookups failed (%s; -v lists each), e.g. %s", discover.WarnDNSError, len(dnsErrors), strings.Join(counts, ", "), example), l, "  ! ", "    "))
	}
	return b.String()
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
	case c.LoginNotAttempted != "":
		s += " login not tried: " + notTriedWords(c.LoginNotAttempted)
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

// notTriedWords says briefly why no login was made on a recommended configuration.
func notTriedWords(code string) string {
	switch code {
	case probe.NotAttemptedAlreadyFailed:
		return "the password was already rejected (one failure in all)"
	case probe.NotAttemptedSucceeded:
		return "a login already worked on another server"
	case probe.NotAttemptedNoTLS:
		return "the connection is not encrypted"
	case probe.NotAttemptedBadCert:
		return "the certificate failed verification"
	case probe.NotAttemptedUntrustedHost:
		return "outside the domain, named over an untrusted path (--trust-host)"
	case probe.NotAttemptedNoUser:
		return "no user name"
	case probe.NotAttemptedNoMechanism:
		return "no login method both sides allow"
	case probe.NotAttemptedUnsafeInput:
		return "the user name cannot be sent with this method"
	case probe.NotAttemptedUnreachable:
		return "the connection for the login failed"
	}
	return code
}
