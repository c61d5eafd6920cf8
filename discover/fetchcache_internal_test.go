package discover

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailscout/mailscout/internal/netaddr"
)

// A shared autoconfig fetch goes only to discoveries allowed every class of address it touched.
func TestFetchCacheSharesByClass(t *testing.T) {
	var fetches atomic.Int32
	fetchVia := func(addrs ...string) func(context.Context) (fetchResult, error) {
		return func(ctx context.Context) (fetchResult, error) {
			fetches.Add(1)
			var ips []netip.Addr
			for _, a := range addrs {
				ips = append(ips, netip.MustParseAddr(a))
			}
			markTouched(ctx, ips)
			return fetchResult{Body: []byte("doc")}, nil
		}
	}
	allow := func(ok ...netaddr.Class) func([]netaddr.Class) bool {
		return func(cs []netaddr.Class) bool {
			for _, c := range cs {
				if !slices.Contains(ok, c) {
					return false
				}
			}
			return true
		}
	}
	for _, tc := range []struct {
		name   string
		addrs  []string
		second func([]netaddr.Class) bool
		want   int32 // fetches for two discoveries
	}{
		{"public", []string{"203.0.114.1"}, allow(), 1},
		{"private, second allowed", []string{"10.1.2.3"}, allow(netaddr.Private), 1},
		{"private, second not allowed", []string{"10.1.2.3"}, allow(), 2},
		{"two classes, second allowed one", []string{"10.1.2.3", "127.0.0.1"}, allow(netaddr.Private), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fetches.Store(0)
			c := newFetchCache(time.Minute)
			ctx := context.Background()
			if _, err := c.get(ctx, "https://autoconfig.example/", false, allow(netaddr.Private, netaddr.Loopback), fetchVia(tc.addrs...)); err != nil {
				t.Fatal(err)
			}
			if _, err := c.get(ctx, "https://autoconfig.example/", false, tc.second, fetchVia(tc.addrs...)); err != nil {
				t.Fatal(err)
			}
			if got := fetches.Load(); got != tc.want {
				t.Errorf("%d fetches, want %d", got, tc.want)
			}
		})
	}
}

// The cache stays bounded however many distinct documents a batch fetches within the TTL.
func TestFetchCacheBounded(t *testing.T) {
	c := newFetchCache(time.Hour)
	fetch := func(context.Context) (fetchResult, error) { return fetchResult{Body: []byte("doc")}, nil }
	all := func([]netaddr.Class) bool { return true }
	for i := range 3 * maxFetchEntries {
		if _, err := c.get(context.Background(), fmt.Sprintf("https://autoconfig.d%d.example/", i), false, all, fetch); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.entries); n > maxFetchEntries {
		t.Errorf("%d entries, want at most %d", n, maxFetchEntries)
	}
}

// Fetching the same URL again within the TTL is free, and a fresh fetch replaces the entry.
func TestFetchCacheFresh(t *testing.T) {
	c := newFetchCache(time.Hour)
	n := 0
	fetch := func(context.Context) (fetchResult, error) { n++; return fetchResult{Body: []byte("doc")}, nil }
	all := func([]netaddr.Class) bool { return true }
	for _, fresh := range []bool{false, false, true, false} {
		if _, err := c.get(context.Background(), "https://autoconfig.example/", fresh, all, fetch); err != nil {
			t.Fatal(err)
		}
	}
	if n != 2 {
		t.Errorf("%d fetches, want 2 (the first and the fresh one)", n)
	}
}

// A fetch abandoned because its caller's time ran out is taken over by one of the discoveries
// waiting on it, and the others wait on that one: never all of them at once at a slow host.
func TestFetchCacheHandsOverAbandonedFetch(t *testing.T) {
	c := newFetchCache(time.Minute)
	all := func([]netaddr.Class) bool { return true }
	var fetches, inFlight, maxInFlight atomic.Int32
	release := make(chan struct{})
	fetch := func(ctx context.Context) (fetchResult, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
		}
		if fetches.Add(1) == 1 {
			<-ctx.Done() // the first caller's host is slow; its own deadline ends the fetch
			return fetchResult{}, ctx.Err()
		}
		<-release
		return fetchResult{Body: []byte("doc")}, nil
	}
	leaderCtx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	leaderErr := make(chan error, 1)
	go func() { _, err := c.get(leaderCtx, "https://autoconfig.example/", false, all, fetch); leaderErr <- err }()
	for fetches.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	const waiters = 20
	got := make(chan string, waiters)
	for range waiters {
		go func() {
			r, err := c.get(context.Background(), "https://autoconfig.example/", false, all, fetch)
			got <- fmt.Sprintf("%s %v", r.Body, err)
		}()
	}
	if err := <-leaderErr; err == nil {
		t.Fatal("the leader's fetch did not end with its deadline")
	}
	for fetches.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // room for a stampede, if there is one
	close(release)
	for range waiters {
		if r := <-got; r != "doc <nil>" {
			t.Errorf("a waiter got %q", r)
		}
	}
	if f, m := fetches.Load(), maxInFlight.Load(); f != 2 || m != 1 {
		t.Errorf("%d fetches, at most %d at once; want 2, one at a time", f, m)
	}
}

// A full cache keeps the documents many discoveries use: a provider's, among a batch's one-off
// documents of single domains.
func TestFetchCacheKeepsMostUsed(t *testing.T) {
	c := newFetchCache(time.Hour)
	all := func([]netaddr.Class) bool { return true }
	var fetches atomic.Int32
	fetch := func(context.Context) (fetchResult, error) {
		fetches.Add(1)
		return fetchResult{Body: []byte("doc")}, nil
	}
	const provider = "https://autoconfig.provider.example/mail/config-v1.1.xml"
	for i := range 3 * maxFetchEntries {
		if _, err := c.get(context.Background(), provider, false, all, fetch); err != nil {
			t.Fatal(err)
		}
		if _, err := c.get(context.Background(), fmt.Sprintf("https://autoconfig.d%d.example/", i), false, all, fetch); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := fetches.Load(), int32(1+3*maxFetchEntries); got != want {
		t.Errorf("%d fetches, want %d: the provider's document was fetched %d times", got, want, got-want+1)
	}
	if n := len(c.entries); n > maxFetchEntries {
		t.Errorf("%d entries, want at most %d", n, maxFetchEntries)
	}
}
