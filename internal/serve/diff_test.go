package serve

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/probe"
)

// diffFixture is a small report: IMAP and SMTP work, POP3 is refused.
func diffFixture(at time.Time) *discover.Report {
	ok := func(p probe.Protocol, host string, port int, notAfter time.Time, mechs ...string) discover.Config {
		return discover.Config{Result: probe.Result{Protocol: p, Host: host, Port: port, Security: probe.TLS, OK: true, AuthMethods: mechs,
			TLS: &probe.TLSInfo{Version: "1.3", CertValid: true, CertNotAfter: notAfter.UTC().Format(time.RFC3339)}}, Verdict: discover.Usable}
	}
	return &discover.Report{
		Complete:  true,
		Diagnosis: discover.Diagnosis{Status: discover.StatusOK},
		Recommended: discover.Recommended{
			Incoming: &discover.Choice{Protocol: probe.IMAP, Host: "imap.x.example", Port: 993, Security: probe.TLS},
			Outgoing: &discover.Choice{Protocol: probe.SMTP, Host: "smtp.x.example", Port: 465, Security: probe.TLS},
		},
		Probes: []discover.Config{
			ok(probe.IMAP, "imap.x.example", 993, at.Add(90*24*time.Hour), "PLAIN", "LOGIN"),
			ok(probe.SMTP, "smtp.x.example", 465, at.Add(60*24*time.Hour), "PLAIN"),
			{Result: probe.Result{Protocol: probe.POP3, Host: "pop.x.example", Port: 995, Security: probe.TLS, ErrorKind: probe.KindRefused, Error: "connect: connection refused"},
				Verdict: discover.Unusable, Blockers: []string{"refused"}},
		},
	}
}

func TestDiff(t *testing.T) {
	prevAt := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	curAt := prevAt.Add(7 * 24 * time.Hour)
	const imap, smtp, pop = "imap imap.x.example:993 tls", "smtp smtp.x.example:465 tls", "pop3 pop.x.example:995 tls"
	type want struct {
		kind, endpoint, text string
		bad                  bool
	}
	cases := []struct {
		name string
		prev func(*discover.Report)
		cur  func(*discover.Report)
		want []want
	}{
		{name: "nothing changed"},
		{name: "a port closed",
			cur: func(r *discover.Report) {
				r.Probes[0].OK, r.Probes[0].TLS, r.Probes[0].ErrorKind, r.Probes[0].Error = false, nil, probe.KindRefused, "connect: connection refused"
				r.Probes[0].Verdict, r.Probes[0].Blockers = discover.Unusable, []string{"refused"}
				r.Recommended.Incoming = nil
				r.Diagnosis.Status = discover.StatusPartial
			},
			want: []want{
				{changeStatus, "", "from ok to partial", true},
				{changeRecommended, "", "No incoming server is recommended any more (last time: " + imap + ")", true},
				{changeFailing, imap, "stopped working: refused (connect: connection refused)", true},
			}},
		{name: "a port opened",
			prev: func(r *discover.Report) { r.Diagnosis.Status = discover.StatusPartial },
			cur: func(r *discover.Report) {
				r.Probes[2].OK, r.Probes[2].ErrorKind, r.Probes[2].Error, r.Probes[2].Verdict, r.Probes[2].Blockers = true, "", "", discover.Usable, nil
			},
			want: []want{
				{changeStatus, "", "from partial to ok", false},
				{changeUsable, pop, "works now (before: refused", false},
			}},
		{name: "certificate now close to its end",
			cur: func(r *discover.Report) {
				r.Probes[1].TLS.CertNotAfter = curAt.Add(9*24*time.Hour + time.Hour).Format(time.RFC3339)
			},
			want: []want{{changeCertExpiring, smtp, "now expires in 9 days", true}}},
		{name: "certificate close to its end both times: said once",
			prev: func(r *discover.Report) {
				r.Probes[1].TLS.CertNotAfter = curAt.Add(5 * 24 * time.Hour).Format(time.RFC3339)
			},
			cur: func(r *discover.Report) {
				r.Probes[1].TLS.CertNotAfter = curAt.Add(5 * 24 * time.Hour).Format(time.RFC3339)
			}},
		{name: "certificate renewed",
			cur: func(r *discover.Report) {
				r.Probes[0].TLS.CertNotAfter = curAt.Add(200 * 24 * time.Hour).Format(time.RFC3339)
			},
			want: []want{{changeCertRenewed, imap, "was renewed", false}}},
		{name: "a mechanism vanished and one appeared",
			cur:  func(r *discover.Report) { r.Probes[0].AuthMethods = []string{"PLAIN", "SCRAM-SHA-256"} },
			want: []want{{changeMechAdded, imap, "now offers SCRAM-SHA-256", false}, {changeMechRemoved, imap, "no longer offers LOGIN", true}}},
		{name: "recommended server changed",
			cur: func(r *discover.Report) {
				r.Recommended.Outgoing = &discover.Choice{Protocol: probe.SMTP, Host: "smtp.x.example", Port: 587, Security: probe.StartTLS}
			},
			want: []want{{changeRecommended, "", "changed from " + smtp + " to smtp smtp.x.example:587 starttls", false}}},
		{name: "a working server is no longer named",
			cur:  func(r *discover.Report) { r.Probes = r.Probes[1:] },
			want: []want{{changeGone, imap, "no longer named", true}}},
		{name: "an incomplete check proves no absence",
			cur: func(r *discover.Report) { r.Probes, r.Complete = r.Probes[1:], false }},
		{name: "a canceled probe says nothing",
			cur: func(r *discover.Report) {
				r.Probes[0].OK, r.Probes[0].ErrorKind, r.Probes[0].Verdict, r.Complete = false, probe.KindCanceled, discover.Unusable, false
			}},
		{name: "a new server",
			cur: func(r *discover.Report) {
				n := r.Probes[1]
				n.Port = 587
				r.Probes = append(r.Probes, n)
			},
			want: []want{{changeNew, "smtp smtp.x.example:587 tls", "is new and works", false}}},
	}
	for _, tc := range cases {
		prev, cur := diffFixture(prevAt), diffFixture(prevAt)
		if tc.prev != nil {
			tc.prev(prev)
		}
		if tc.cur != nil {
			tc.cur(cur)
		}
		got := diffReports(snapshot{prev, prevAt}, snapshot{cur, curAt})
		if len(got) != len(tc.want) {
			t.Errorf("%s: %d changes, want %d: %+v", tc.name, len(got), len(tc.want), got)
			continue
		}
		for i, w := range tc.want {
			g := got[i]
			if g.Kind != w.kind || g.Endpoint != w.endpoint || !strings.Contains(g.Text, w.text) || g.Bad != w.bad {
				t.Errorf("%s: change %d is %+v, want %+v", tc.name, i, g, w)
			}
		}
	}
}

// The order is stable: report-wide changes first, then endpoints by name.
func TestDiffOrder(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	prev, cur := diffFixture(at), diffFixture(at)
	for i := range cur.Probes {
		cur.Probes[i].AuthMethods = append(cur.Probes[i].AuthMethods, "XOAUTH2")
	}
	cur.Diagnosis.Status = discover.StatusInsecureOnly
	got := diffReports(snapshot{prev, at}, snapshot{cur, at})
	var eps []string
	for _, c := range got[1:] {
		eps = append(eps, c.Endpoint)
	}
	if got[0].Kind != changeStatus || !slices.IsSorted(eps) {
		t.Errorf("order: %+v", got)
	}
}

func TestDays(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "less than a day", 25 * time.Hour: "1 day", 9*24*time.Hour + time.Minute: "9 days",
	} {
		if got := days(d); got != want {
			t.Errorf("days(%v) = %q, want %q", d, got, want)
		}
	}
}
