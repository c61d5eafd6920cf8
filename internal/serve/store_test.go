package serve

import (
	"context"
	"errors"
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
				{4, 0},  // skips the fast one, the DNS failure and the imap-only one
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

			clientCases := []struct {
				since time.Time
				want  int
			}{
				{t0, 6},
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
			if err != nil || n != 6 {
				t.Errorf("prune: %d, %v; want 6", n, err)
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
