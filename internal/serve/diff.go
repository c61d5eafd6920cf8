package serve

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/probe"
)

// A Change is one thing that differs between two checks of a domain, in words a helpdesk can
// act on: a port that closed, a certificate that now expires in 9 days, a mechanism that
// vanished, a different recommended server.
type Change struct {
	Kind     string // one of the change kinds below
	Endpoint string // "imap mail.example.com:993 tls"; "" for the report as a whole
	Text     string
	Bad      bool // worse than before: the page shows it as a warning
}

// Change kinds.
const (
	changeStatus       = "status"
	changeRecommended  = "recommended"
	changeFailing      = "endpoint_failing" // usable before, not now
	changeUsable       = "endpoint_usable"  // usable now, not before
	changeNew          = "endpoint_new"     // usable, and not looked at before
	changeGone         = "endpoint_gone"    // usable before, not named by any source now
	changeCertExpiring = "cert_expiring"
	changeCertRenewed  = "cert_renewed"
	changeMechAdded    = "mechanism_added"
	changeMechRemoved  = "mechanism_removed"
)

// certWarning is how close an expiry must be to be worth a word (Let's Encrypt renews 30 days
// ahead, so a certificate 14 days from its end has missed at least two renewal runs).
const certWarning = 14 * 24 * time.Hour

// snapshot is a report and when it was taken (certificate lifetimes are counted from then).
type snapshot struct {
	rep *discover.Report
	at  time.Time
}

// endpointState is what one check saw of one endpoint.
type endpointState struct {
	usable   bool
	reason   string    // why not usable: blockers, else the error
	notAfter time.Time // the certificate's end, zero without a valid certificate
	mechs    []string  // SASL mechanisms usable there
}

// diffReports lists what changed from prev to cur: the diagnosis, the recommendation, then
// each endpoint in a stable order.
func diffReports(prev, cur snapshot) []Change {
	var out []Change
	if a, b := prev.rep.Diagnosis.Status, cur.rep.Diagnosis.Status; a != b {
		out = append(out, Change{Kind: changeStatus, Bad: statusRank(b) > statusRank(a),
			Text: fmt.Sprintf("The diagnosis went from %s to %s.", words(a), words(b))})
	}
	out = append(out, recommendedChange("incoming", prev.rep.Recommended.Incoming, cur.rep.Recommended.Incoming)...)
	out = append(out, recommendedChange("outgoing", prev.rep.Recommended.Outgoing, cur.rep.Recommended.Outgoing)...)
	before, after := endpoints(prev.rep), endpoints(cur.rep)
	keys := slices.Sorted(maps.Keys(after))
	for k := range before {
		if _, ok := after[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		p, inPrev := before[k]
		c, inCur := after[k]
		switch {
		case inPrev && inCur && p.usable && !c.usable:
			out = append(out, Change{Kind: changeFailing, Endpoint: k, Bad: true, Text: fmt.Sprintf("%s stopped working: %s.", k, c.reason)})
		case inPrev && inCur && !p.usable && c.usable:
			out = append(out, Change{Kind: changeUsable, Endpoint: k, Text: fmt.Sprintf("%s works now (before: %s).", k, p.reason)})
		case !inPrev && c.usable:
			out = append(out, Change{Kind: changeNew, Endpoint: k, Text: fmt.Sprintf("%s is new and works.", k)})
		case !inCur && p.usable && cur.rep.Complete:
			out = append(out, Change{Kind: changeGone, Endpoint: k, Bad: true, Text: fmt.Sprintf("%s worked last time and is no longer named by any source.", k)})
		}
		if inCur {
			out = append(out, certChanges(k, p, inPrev, prev.at, c, cur.at)...)
		}
		if inPrev && inCur && p.usable && c.usable {
			out = append(out, mechChanges(k, p.mechs, c.mechs)...)
		}
	}
	return out
}

// certChanges: a certificate now close to its end (and not already last time), or renewed.
func certChanges(k string, p endpointState, inPrev bool, prevAt time.Time, c endpointState, at time.Time) []Change {
	if c.notAfter.IsZero() {
		return nil
	}
	if inPrev && !p.notAfter.IsZero() && c.notAfter.After(p.notAfter) {
		return []Change{{Kind: changeCertRenewed, Endpoint: k, Text: fmt.Sprintf("The certificate of %s was renewed: valid until %s.", k, c.notAfter.UTC().Format("2 January 2006"))}}
	}
	left := c.notAfter.Sub(at)
	if left < 0 || left >= certWarning {
		return nil
	}
	if inPrev && p.notAfter.Equal(c.notAfter) && p.notAfter.Sub(prevAt) < certWarning {
		return nil // already said last time
	}
	return []Change{{Kind: changeCertExpiring, Endpoint: k, Bad: true,
		Text: fmt.Sprintf("The certificate of %s now expires in %s (%s).", k, days(left), c.notAfter.UTC().Format("2 January 2006 15:04 MST"))}}
}

func mechChanges(k string, before, after []string) []Change {
	var out []Change
	for _, m := range after {
		if !slices.Contains(before, m) {
			out = append(out, Change{Kind: changeMechAdded, Endpoint: k, Text: fmt.Sprintf("%s now offers %s.", k, m)})
		}
	}
	for _, m := range before {
		if !slices.Contains(after, m) {
			out = append(out, Change{Kind: changeMechRemoved, Endpoint: k, Bad: true, Text: fmt.Sprintf("%s no longer offers %s.", k, m)})
		}
	}
	return out
}

func recommendedChange(dir string, prev, cur *discover.Choice) []Change {
	a, b := choiceName(prev), choiceName(cur)
	switch {
	case a == b:
		return nil
	case b == "":
		return []Change{{Kind: changeRecommended, Bad: true, Text: fmt.Sprintf("No %s server is recommended any more (last time: %s).", dir, a)}}
	case a == "":
		return []Change{{Kind: changeRecommended, Text: fmt.Sprintf("An %s server is recommended now: %s.", dir, b)}}
	}
	return []Change{{Kind: changeRecommended, Text: fmt.Sprintf("The recommended %s server changed from %s to %s.", dir, a, b)}}
}

func choiceName(c *discover.Choice) string {
	if c == nil {
		return ""
	}
	return endpointName(c.Protocol, c.Host, c.Port, c.Security)
}

func endpointName(p probe.Protocol, host string, port int, sec probe.Security) string {
	return fmt.Sprintf("%s %s:%d %s", p, host, port, sec)
}

// endpoints indexes what a report saw per endpoint. Canceled probes (fast mode, the deadline)
// say nothing about the server and are left out.
func endpoints(rep *discover.Report) map[string]endpointState {
	out := map[string]endpointState{}
	for _, p := range rep.Probes {
		if p.ErrorKind == probe.KindCanceled {
			continue
		}
		st := endpointState{usable: p.Verdict == discover.Usable, mechs: p.AuthMethods}
		switch {
		case len(p.Blockers) > 0:
			st.reason = strings.Join(p.Blockers, ", ")
		case p.Error != "":
			st.reason = p.Error
		default:
			st.reason = string(p.Verdict)
		}
		if p.Error != "" && len(p.Blockers) > 0 {
			st.reason += " (" + p.Error + ")"
		}
		if p.TLS != nil && p.TLS.CertValid {
			st.notAfter, _ = time.Parse(time.RFC3339, p.TLS.CertNotAfter)
		}
		out[endpointName(p.Protocol, p.Host, p.Port, p.Security)] = st
	}
	return out
}

// statusRank orders statuses from best to worst, for "worse than before".
func statusRank(s string) int {
	switch s {
	case discover.StatusOK:
		return 0
	case discover.StatusPartial:
		return 1
	case discover.StatusInsecureOnly:
		return 2
	case discover.StatusUnusable, discover.StatusLoginFailed:
		return 3
	case discover.StatusNoMail:
		return 4
	}
	return 5 // dns_failed, local_failure, unknown
}

// words is a status as a sentence says it: "insecure only".
func words(status string) string { return strings.ReplaceAll(status, "_", " ") }

// days says a duration in whole days, as people count them.
func days(d time.Duration) string {
	switch n := int(d / (24 * time.Hour)); n {
	case 0:
		return "less than a day"
	case 1:
		return "1 day"
	default:
		return fmt.Sprintf("%d days", n)
	}
}
