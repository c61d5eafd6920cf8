package serve

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/probe"
)

// The view model: a report turned into what the result page shows, with the words chosen and
// the values formatted. Templates only lay it out, and html/template escapes every string in
// it — a greeting, a capability, an error quoting a server — as text.

type resultView struct {
	ID, Target, Domain string
	Checked            time.Time
	Elapsed            string
	Complete           bool
	Status             string // diagnosis status
	StatusText         string // "Works", "Partly works", …
	Summary            string
	Incoming, Outgoing *choiceView
	Settings           []settingView // incoming, then outgoing
	Configs            []configView
	Failures           []configView
	Canceled           int // probes stopped because the answer was known, or the deadline
	DNS                discover.DNSReport
	Sources            []discover.SourceReport
	Warnings           []probe.Warning
	Changes            []Change
	Previous           *previousView
	History            []historyView
	ProfileURL         string // Apple profile for this address; "" when there is nothing usable
	AutoconfigURL      string
	Fast               bool
	Protocols          string
}

// previousView is the check "what changed" compares with: its time and status, and a link only
// when it is of the same target (see linkIfSame).
type previousView struct {
	Created time.Time
	Status  string
	Link    string
}

// historyView is one line of the domain's history: who is the target itself, the bare domain,
// or "another address"; a link only to results of the same target.
type historyView struct {
	Created time.Time
	Status  string
	Fast    bool
	Who     string
	Link    string
	Current bool
}

// settingView is one direction: the recommended server, or what came closest.
type settingView struct {
	Direction string
	Choice    *choiceView
	Near      *discover.Near
}

type choiceView struct {
	Direction string // "Incoming", "Outgoing"
	Protocol  string // "IMAP"
	Host      string
	Port      int
	Security  string // as mail clients label it
	Username  string
	Verdict   string
	Blockers  []string
	Untrusted bool
	LoginOK   bool
}

type configView struct {
	Name         string // "imap mail.example.com:993 tls"
	Protocol     string
	Endpoint     string // host:port
	Security     string
	Rank         int
	Role         *roleView // "best", "closest option…" or nil: see configRole
	Verdict      string
	VerdictText  string
	Blockers     []string
	Sources      []string
	Username     string
	Address      string
	TLS          string
	Cert         string
	CertBad      bool
	CertSoon     bool
	Auth         []string
	AuthPlain    []string
	Greeting     string
	Capabilities []string
	Warnings     []probe.Warning
	ErrorKind    string
	Error        string
	Took         string
	Transcript   []lineView
}

type lineView struct {
	At    string
	Dir   string // C, S or *
	Who   string // client, server, event: the CSS class
	TLS   bool
	Layer string // "plain" or "tls  ", as the CLI's transcript says it
	Text  string
}

var lineWho = map[string]string{"C": "client", "S": "server", "*": "event"}

// elapsedText says a duration as a person reads it: "340 ms", "4.2 s".
func elapsedText(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func layer(tls bool) string {
	if tls {
		return "tls  "
	}
	return "plain"
}

// asked says whether a discovery of these protocols looked for the direction at all.
func asked(protocols, direction string) bool {
	if direction == "Outgoing" {
		return strings.Contains(protocols, "smtp")
	}
	return strings.Contains(protocols, "imap") || strings.Contains(protocols, "pop3")
}

// statusText is the diagnosis status as a headline.
var statusText = map[string]string{
	discover.StatusOK:           "Works",
	discover.StatusPartial:      "Partly works",
	discover.StatusInsecureOnly: "Works only insecurely",
	discover.StatusUnusable:     "Does not work",
	discover.StatusNoMail:       "No mail service",
	discover.StatusDNSFailed:    "DNS failed: results unknown",
	discover.StatusLocalFailure: "The service ran out of resources: results unknown",
	discover.StatusLoginFailed:  "Login rejected",
}

// securityText labels a security mode as Thunderbird, Outlook and Apple Mail do.
func securityText(s probe.Security) string {
	switch s {
	case probe.TLS:
		return "SSL/TLS"
	case probe.StartTLS:
		return "STARTTLS"
	case probe.Plain:
		return "None (no encryption)"
	}
	return string(s)
}

func newResultView(res *result) *resultView {
	rep := res.Report
	v := &resultView{
		ID: res.ID, Target: rep.Target, Domain: rep.Domain, Checked: res.Created.UTC(),
		Elapsed: elapsedText(rep.Elapsed), Complete: rep.Complete,
		Status: rep.Diagnosis.Status, StatusText: statusText[rep.Diagnosis.Status], Summary: rep.Diagnosis.Summary,
		Incoming: newChoice("Incoming", rep.Recommended.Incoming), Outgoing: newChoice("Outgoing", rep.Recommended.Outgoing),
		DNS: rep.DNS, Sources: rep.Sources, Warnings: rep.Warnings, Fast: res.Key.fast, Protocols: res.Key.protocols,
	}
	for _, st := range []settingView{{"Incoming", v.Incoming, rep.Nearest.Incoming}, {"Outgoing", v.Outgoing, rep.Nearest.Outgoing}} {
		if st.Choice != nil || st.Near != nil || asked(res.Key.protocols, st.Direction) {
			v.Settings = append(v.Settings, st)
		}
	}
	if v.StatusText == "" {
		v.StatusText = rep.Diagnosis.Status
	}
	inConfigs := map[string]bool{}
	for _, c := range rep.Configs {
		cv := newConfigView(&c, res.Created)
		cv.Role = configRole(rep, &c)
		inConfigs[cv.Name] = true
		v.Configs = append(v.Configs, cv)
	}
	for _, p := range rep.Probes {
		switch {
		case p.ErrorKind == probe.KindCanceled:
			v.Canceled++
		case !p.OK:
			cv := newConfigView(&p, res.Created)
			cv.Role = configRole(rep, &p)
			if !inConfigs[cv.Name] {
				v.Failures = append(v.Failures, cv)
			}
		}
	}
	if t, err := discover.ParseTarget(rep.Target); err == nil && t.Address != "" && v.Incoming != nil && v.Outgoing != nil {
		q := url.Values{"emailaddress": {t.Address}}.Encode()
		v.ProfileURL = "/v1/profile.mobileconfig?" + q
		v.AutoconfigURL = "/mail/config-v1.1.xml?" + q
	}
	return v
}

// roleView is what the page calls a configuration. Rank is per protocol and orders unusable
// servers too (the best POP3 server may be a plain-text one while IMAP works), so it says
// nothing about whether a client should use a server: only the report's recommendation does. A
// configuration is "best" only when it is recommended and usable; recommended while insecure
// (the operator allowed insecure servers), it says so; the nearest of a direction that has no
// recommendation is the closest option, with what is in its way; any other has no label.
type roleView struct {
	Text  string
	Class string // tag class: good, warn
}

func configRole(rep *discover.Report, c *discover.Config) *roleView {
	for _, ch := range []*discover.Choice{rep.Recommended.Incoming, rep.Recommended.Outgoing} {
		if ch != nil && sameEndpoint(c, ch.Protocol, ch.Host, ch.Port, ch.Security) {
			if c.Verdict == discover.Usable {
				return &roleView{"best", "good"}
			}
			return &roleView{"recommended, though insecure: " + strings.Join(c.Blockers, ", "), "warn"}
		}
	}
	for _, n := range []*discover.Near{rep.Nearest.Incoming, rep.Nearest.Outgoing} {
		if n != nil && sameEndpoint(c, n.Protocol, n.Host, n.Port, n.Security) {
			text := "closest option, not usable"
			if c.Verdict == discover.Insecure {
				text = "closest option, not safe"
			}
			why := c.Blockers
			if len(why) == 0 && c.ErrorKind != "" {
				why = []string{string(c.ErrorKind)}
			}
			if len(why) > 0 {
				text += ": " + strings.Join(why, ", ")
			}
			return &roleView{text, "warn"}
		}
	}
	return nil
}

func sameEndpoint(c *discover.Config, p probe.Protocol, host string, port int, sec probe.Security) bool {
	return c.Protocol == p && strings.EqualFold(c.Host, host) && c.Port == port && c.Security == sec
}

func newChoice(dir string, c *discover.Choice) *choiceView {
	if c == nil {
		return nil
	}
	return &choiceView{Direction: dir, Protocol: strings.ToUpper(string(c.Protocol)), Host: c.Host, Port: c.Port,
		Security: securityText(c.Security), Username: c.Username, Verdict: string(c.Verdict), Blockers: c.Blockers,
		Untrusted: c.Untrusted, LoginOK: c.LoginOK}
}

func newConfigView(c *discover.Config, at time.Time) configView {
	v := configView{
		Name: endpointName(c.Protocol, c.Host, c.Port, c.Security), Protocol: strings.ToUpper(string(c.Protocol)),
		Endpoint: fmt.Sprintf("%s:%d", c.Host, c.Port), Security: securityText(c.Security), Rank: c.Rank,
		Verdict: string(c.Verdict), VerdictText: c.VerdictText, Blockers: c.Blockers, Sources: c.Sources,
		Username: c.Username, Address: c.Address, Auth: c.AuthMethods, AuthPlain: c.AuthMethodsPlaintext,
		Greeting: c.Greeting, Capabilities: c.Capabilities, Warnings: c.Warnings,
		ErrorKind: string(c.ErrorKind), Error: c.Error, Took: fmt.Sprintf("%.0f ms", float64(c.Timings.Total.Microseconds())/1000),
	}
	if c.Verdict == "" {
		v.Verdict = string(discover.Unusable)
	}
	if t := c.TLS; t != nil {
		v.TLS = "TLS " + t.Version + ", " + t.Cipher
		v.Cert, v.CertBad, v.CertSoon = certText(t, at)
	}
	for _, l := range c.Transcript {
		v.Transcript = append(v.Transcript, lineView{At: fmt.Sprintf("%7.1f", float64(l.At.Microseconds())/1000), Dir: l.Dir, Who: lineWho[l.Dir], TLS: l.TLS, Layer: layer(l.TLS), Text: l.Text})
	}
	return v
}

// certText says what a helpdesk needs of a certificate: valid or why not, and until when.
func certText(t *probe.TLSInfo, at time.Time) (text string, bad, soon bool) {
	until := ""
	end, err := time.Parse(time.RFC3339, t.CertNotAfter)
	if err == nil {
		until = end.UTC().Format("2 Jan 2006")
	}
	if !t.CertValid {
		reason := strings.ReplaceAll(t.CertReason, "_", " ")
		if reason == "" {
			reason = "invalid"
		}
		if until != "" {
			return fmt.Sprintf("%s (valid until %s)", reason, until), true, false
		}
		return reason, true, false
	}
	if err != nil {
		return "valid", false, false
	}
	left := end.Sub(at)
	if left < certWarning {
		return fmt.Sprintf("valid until %s: expires in %s", until, days(left)), false, true
	}
	return "valid until " + until, false, false
}
