package dialrace

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func TestInterleave(t *testing.T) {
	for _, tc := range []struct{ in, want []netip.Addr }{
		{nil, []netip.Addr{}},
		{addrs("192.0.2.1"), addrs("192.0.2.1")},
		{addrs("192.0.2.1", "192.0.2.2", "2001:db8::1"), addrs("2001:db8::1", "192.0.2.1", "192.0.2.2")},
		{addrs("2001:db8::1", "2001:db8::2", "192.0.2.1"), addrs("2001:db8::1", "192.0.2.1", "2001:db8::2")},
		{addrs("::ffff:192.0.2.1", "2001:db8::1"), addrs("2001:db8::1", "::ffff:192.0.2.1")},
	} {
		if got := Interleave(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Interleave(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// fakeDialer answers per address: "ok" connects at once, "fail" fails at once, "hang" waits for
// its context. It records the order of attempts and counts open connections.
type fakeDialer struct {
	mu       sync.Mutex
	behave   map[string]string
	attempts []string
	open     int
}

type fakeConn struct {
	net.Conn
	d    *fakeDialer
	addr string
}

func (c *fakeConn) Close() error {
	c.d.mu.Lock()
	c.d.open--
	c.d.mu.Unlock()
	return nil
}

func (d *fakeDialer) dial(ctx context.Context, _, address string) (net.Conn, error) {
	host, _, _ := net.SplitHostPort(address)
	d.mu.Lock()
	d.attempts = append(d.attempts, host)
	d.mu.Unlock()
	switch d.behave[host] {
	case "ok":
		d.mu.Lock()
		d.open++
		d.mu.Unlock()
		return &fakeConn{d: d, addr: host}, nil
	case "hang":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return nil, errors.New("refused by " + host)
}

func TestDial(t *testing.T) {
	for _, tc := range []struct {
		name     string
		behave   map[string]string
		addrs    []netip.Addr
		want     string // address connected to, "" for an error
		attempts []string
	}{
		{"single", map[string]string{"192.0.2.1": "ok"}, addrs("192.0.2.1"), "192.0.2.1", []string{"192.0.2.1"}},
		{"IPv6 first", map[string]string{"192.0.2.1": "ok", "2001:db8::1": "ok"}, addrs("192.0.2.1", "2001:db8::1"), "2001:db8::1", []string{"2001:db8::1"}},
		{"failure starts the next at once", map[string]string{"192.0.2.1": "ok", "2001:db8::1": "fail"}, addrs("192.0.2.1", "2001:db8::1"), "192.0.2.1", []string{"2001:db8::1", "192.0.2.1"}},
		{"a silent address loses after its head start", map[string]string{"192.0.2.1": "ok", "2001:db8::1": "hang"}, addrs("2001:db8::1", "192.0.2.1"), "192.0.2.1", []string{"2001:db8::1", "192.0.2.1"}},
		{"all fail", map[string]string{}, addrs("192.0.2.1", "2001:db8::1"), "", []string{"2001:db8::1", "192.0.2.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &fakeDialer{behave: tc.behave}
			c, err := Dial(context.Background(), d.dial, tc.addrs, 25)
			if tc.want == "" {
				if err == nil {
					t.Fatal("want an error")
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if got := c.(*fakeConn).addr; got != tc.want {
					t.Errorf("connected to %s, want %s", got, tc.want)
				}
				c.Close()
			}
			d.mu.Lock()
			defer d.mu.Unlock()
			if !slices.Equal(d.attempts, tc.attempts) {
				t.Errorf("attempts %v, want %v", d.attempts, tc.attempts)
			}
		})
	}
}

// A connection that succeeds after the winner is closed, not leaked.
func TestDialClosesLateWinners(t *testing.T) {
	release := make(chan struct{})
	d := &fakeDialer{behave: map[string]string{"192.0.2.1": "ok"}}
	slow := func(ctx context.Context, network, address string) (net.Conn, error) {
		if host, _, _ := net.SplitHostPort(address); host == "2001:db8::1" {
			<-release // ignores its context, like a dial that completes just as it is canceled
			d.mu.Lock()
			d.open++
			d.mu.Unlock()
			return &fakeConn{d: d, addr: host}, nil
		}
		return d.dial(ctx, network, address)
	}
	c, err := Dial(context.Background(), slow, addrs("2001:db8::1", "192.0.2.1"), 25)
	if err != nil {
		t.Fatal(err)
	}
	close(release)
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		d.mu.Lock()
		open := d.open
		d.mu.Unlock()
		if open == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections left open", open)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDialCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	d := &fakeDialer{behave: map[string]string{"192.0.2.1": "hang", "2001:db8::1": "hang"}}
	go func() {
		time.Sleep(10 * time.Millisecond)
		cancel()
	}()
	_, err := Dial(ctx, d.dial, addrs("192.0.2.1", "2001:db8::1"), 25)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestDialNoAddresses(t *testing.T) {
	if _, err := Dial(context.Background(), (&fakeDialer{}).dial, nil, 25); err == nil {
		t.Fatal("want an error")
	}
}
