package discover

import (
	"context"
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
