package serve

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
)

func storedResult(target, domain string, fast bool, protocols, status string, at time.Time) *result {
	return &result{Key: key{target: target, fast: fast, protocols: protocols}, Created: at,
		Report: &discover.Report{Target: target, Domain: domain, Diagnosis: discover.Diagnosis{Status: status, Summary: "summary of " + target}}}
}

func TestStore(t *testing.T) {
	for _, path := range []string{"", filepath.Join(t.TempDir(), "results.db")} {
		t.Run("path="+path, func(t *testing.T) {
			ctx := context.Background()
			st, err := openStore(path)
			if err != nil {
				t.Fatal(err)
			}
			defer st.close()
			t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			rows := []*result{
				storedResult("alice@x.example", "x.example", false, allProtocols, discover.StatusOK, t0),                       // 0
				storedResult("x.example", "x.example", true, allProtocols, discover.StatusOK, t0.Add(time.Hour)),               // 1 fast
				storedResult("bob@x.example", "x.example", false, allProtocols, discover.StatusDNSFailed, t0.Add(2*time.Hour)), // 2 dns
				storedResult("bob@x.example", "x.example", false, "imap", discover.StatusOK, t0.Add(3*time.Hour)),              // 3 imap only
				storedResult("carol@x.example", "x.example", false, allProtocols, discover.StatusPartial, t0.Add(4*time.Hour)), // 4
				storedResult("y.example", "y.example", false, allProtocols, discover.StatusOK, t0.Add(5*time.Hour)),            // 5 other domain
				storedResult("dave@x.example", "x.example", false, allProtocols, discover.StatusOK, t0.Add(40*24*time.Hour)),   // 6 much later
				// 7: the bare domain, when the service ran out of descriptors: no answer for anyone
				storedResult("x.example", "x.example", false, allProtocols, discover.StatusLocalFailure, t0.Add(150*time.Minute)),
			}
			for _, r := range rows {
				if r.ID, err = st.save(ctx, r); err != nil {
					t.Fatal(err)
				}
				if !validID(r.ID) {
					t.Fatalf("ID %q", r.ID)
				}
			}
			got, err := st.get(ctx, rows[4].ID)
			if err != nil || got.Report.Diagnosis.Summary != "summary of carol@x.example" || !got.Created.Equal(rows[4].Created) || got.Key != rows[4].Key {
				t.Fatalf("get: %+v, %v", got, err)
			}
			if _, err := st.get(ctx, "AAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, errNoResult) {
				t.Errorf("get of nothing: %v", err)
			}

			prevCases := []struct {
				of   int
				want int // -1: none
			}{
				{4, 0},  // skips the fast one, the DNS and local failures and the imap-only one
				{6, 4},  // the newest before
				{0, -1}, // the first
				{1, -1}, // the only fast one
				{5, -1}, // another domain
			}
			for _, tc := range prevCases {
				p, err := st.previous(ctx, rows[tc.of])
				switch {
				case tc.want < 0 && !errors.Is(err, errNoResult):
					t.Errorf("previous of %d: %v, %v", tc.of, p, err)
				case tc.want >= 0 && (err != nil || p.ID != rows[tc.want].ID):
					t.Errorf("previous of %d: %v, %v; want %d", tc.of, p, err, tc.want)
				}
			}

			// Only a discovery of the bare domain serves mail clients: row 1, never the newer
			// discoveries of addresses (their usernames are those users').
			clientCases := []struct {
				since time.Time
				want  int
			}{
				{t0, 1},
				{t0.Add(2 * time.Hour), -1},
				{t0.Add(41 * 24 * time.Hour), -1},
			}
			for _, tc := range clientCases {
				p, err := st.latestForClients(ctx, "x.example", tc.since)
				if tc.want < 0 != errors.Is(err, errNoResult) || tc.want >= 0 && p.ID != rows[tc.want].ID {
					t.Errorf("latestForClients since %s: %v, %v", tc.since, p, err)
				}
			}

			h, err := st.history(ctx, "x.example", 3)
			if err != nil || len(h) != 3 || h[0].ID != rows[6].ID || h[1].ID != rows[4].ID || h[2].ID != rows[3].ID {
				t.Errorf("history: %+v, %v", h, err)
			}

			n, err := st.prune(ctx, t0.Add(30*24*time.Hour))
			if err != nil || n != 7 { // all but row 6
				t.Errorf("prune: %d, %v; want 7", n, err)
			}
			if _, err := st.get(ctx, rows[0].ID); !errors.Is(err, errNoResult) {
				t.Errorf("a pruned result is still there: %v", err)
			}
			if _, err := st.get(ctx, rows[6].ID); err != nil {
				t.Errorf("a recent result was pruned: %v", err)
			}
		})
	}
}

// The service enforces the retention period by itself, starting at once.
func TestRetention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	st, err := openStore(path)
	if err != nil {
		t.Fatal(err)
	}
	old := storedResult("x.example", "x.example", false, allProtocols, discover.StatusOK, time.Now().Add(-31*24*time.Hour))
	recent := storedResult("x.example", "x.example", false, allProtocols, discover.StatusOK, time.Now().Add(-29*24*time.Hour))
	for _, r := range []*result{old, recent} {
		if r.ID, err = st.save(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	st.close()
	ts := newTestServer(t, func(c *Config) { c.DB = path })
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, errOld := ts.store.get(context.Background(), old.ID)
		_, errRecent := ts.store.get(context.Background(), recent.ID)
		if errors.Is(errOld, errNoResult) && errRecent == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s: old %v, recent %v", errOld, errRecent)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDecodeReportRejectsGarbage(t *testing.T) {
	for _, blob := range [][]byte{nil, []byte("not gzip"), func() []byte { b, _ := encodeReport(&discover.Report{}); return b[:len(b)/2] }()} {
		if _, err := decodeReport(blob); err == nil {
			t.Errorf("decoded %q", blob)
		}
	}
}

// count is the number of results stored, by domain.
func count(t *testing.T, st *store) map[string]int {
	t.Helper()
	rows, err := st.db.Query(`SELECT domain, count(*) FROM results GROUP BY domain`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var d string
		var n int
		if err := rows.Scan(&d, &n); err != nil {
			t.Fatal(err)
		}
		out[d] = n
	}
	return out
}

// The store is bounded as results are saved: the newest perDomain results of each domain stay,
// and past maxRows in all the oldest go first; trim applies both to what is already there.
func TestStoreBounds(t *testing.T) {
	ctx := context.Background()
	st, err := openStore(filepath.Join(t.TempDir(), "bounded.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	st.perDomain, st.maxRows = 3, 5
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ids := map[string]string{}
	save := func(name, domain string, at time.Duration) {
		r := storedResult(name+"@"+domain, domain, false, allProtocols, discover.StatusOK, t0.Add(at))
		if ids[name], err = st.save(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(name string) bool {
		_, err := st.get(ctx, ids[name])
		return err == nil
	}
	steps := []struct {
		name       string
		do         func()
		want       map[string]int
		gone, kept []string
	}{
		{"under the bounds", func() {
			save("x1", "x.example", 1*time.Minute)
			save("x2", "x.example", 2*time.Minute)
			save("x3", "x.example", 3*time.Minute)
		},
			map[string]int{"x.example": 3}, nil, []string{"x1", "x2", "x3"}},
		{"a fourth of a domain pushes its oldest out", func() { save("x4", "x.example", 4*time.Minute) },
			map[string]int{"x.example": 3}, []string{"x1"}, []string{"x2", "x3", "x4"}},
		{"the result just saved stays, however old", func() { save("x0", "x.example", 0) },
			map[string]int{"x.example": 4}, nil, []string{"x0", "x2", "x3", "x4"}},
		{"past the total the oldest go, whatever their domain", func() { save("y1", "y.example", 5*time.Minute); save("z1", "z.example", 6*time.Minute) },
			map[string]int{"x.example": 3, "y.example": 1, "z.example": 1}, []string{"x0"}, []string{"x2", "y1", "z1"}},
		{"lower bounds apply to what is there", func() {
			st.perDomain, st.maxRows = 1, 2
			if n, err := st.trim(ctx); err != nil || n != 3 {
				t.Errorf("trim: %d, %v; want 3", n, err)
			}
		}, map[string]int{"y.example": 1, "z.example": 1}, []string{"x4"}, []string{"y1", "z1"}},
	}
	for _, s := range steps {
		s.do()
		if got := count(t, st); !maps.Equal(got, s.want) {
			t.Errorf("%s: %v, want %v", s.name, got, s.want)
		}
		for _, n := range s.gone {
			if exists(n) {
				t.Errorf("%s: %s is still there", s.name, n)
			}
		}
		for _, n := range s.kept {
			if !exists(n) {
				t.Errorf("%s: %s is gone", s.name, n)
			}
		}
		var total int64
		for _, n := range count(t, st) {
			total += int64(n)
		}
		if st.rows != total {
			t.Errorf("%s: the store counts %d results, the table has %d", s.name, st.rows, total)
		}
	}
}

// Through the service: --history-per-domain and --max-results bound what discoveries store.
func TestStoreBoundsThroughService(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.HistoryPerDomain, c.MaxResults = 2, 3 })
	steps := []struct {
		target string
		want   map[string]int
	}{
		{"a@" + domGood, map[string]int{domGood: 1}},
		{"b@" + domGood, map[string]int{domGood: 2}},
		{"c@" + domGood, map[string]int{domGood: 2}},
		{"a@" + domHostile, map[string]int{domGood: 2, domHostile: 1}},
		{"b@" + domHostile, map[string]int{domGood: 1, domHostile: 2}},
	}
	for _, s := range steps {
		if resp, body := ts.get(t, "/v1/discover?target="+s.target); resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", s.target, resp.StatusCode, clip(string(body)))
		}
		if got := count(t, ts.store); !maps.Equal(got, s.want) {
			t.Errorf("after %s: %v, want %v", s.target, got, s.want)
		}
	}
}
