package discover

import (
	"bufio"
	"context"
	"math/rand"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailscout/mailscout/probe"
)

// stubResolver knows no name: these tests give targets their addresses.
type stubResolver struct{}

func (stubResolver) LookupMX(context.Context, string) (Answer[MX], error) {
	return Answer[MX]{}, ErrNXDomain
}
func (stubResolver) LookupSRV(context.Context, string) (Answer[SRV], error) {
	return Answer[SRV]{}, ErrNXDomain
}
func (stubResolver) LookupAddr(context.Context, string) (Answer[netip.Addr], error) {
	return Answer[netip.Addr]{}, ErrNXDomain
}

// smtpServer is a loopback SMTP server for the dispatcher's own tests. Mode "hang" greets, then
// never answers; "ok" answers everything and QUIT after quitDelay; "421crowd" refuses with 421
// when another session is open.
type smtpServer struct {
	ln        net.Listener
	mode      string
	quitDelay time.Duration
	mu        sync.Mutex
	open      int
	maxOpen   int
	wg        sync.WaitGroup
	conns     map[net.Conn]bool
}

func startSMTP(t *testing.T, mode string, quitDelay time.Duration) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, mode: mode, quitDelay: quitDelay, conns: map[net.Conn]bool{}}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.open++
			s.maxOpen = max(s.maxOpen, s.open)
			crowded := s.open > 1
			s.conns[c] = true
			s.mu.Unlock()
			s.wg.Go(func() {
				defer func() {
					c.Close()
					s.mu.Lock()
					s.open--
					delete(s.conns, c)
					s.mu.Unlock()
				}()
				if s.mode == "421crowd" && crowded {
					c.Write([]byte("421 too many connections\r\n"))
					return
				}
				c.Write([]byte("220 test ESMTP\r\n"))
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if s.mode == "hang" {
						continue
					}
					cmd := strings.ToUpper(strings.TrimSpace(line))
					switch {
					case strings.HasPrefix(cmd, "EHLO"):
						c.Write([]byte("250-test\r\n250 HELP\r\n"))
					case strings.HasPrefix(cmd, "QUIT"):
						time.Sleep(s.quitDelay)
						c.Write([]byte("221 bye\r\n"))
						return
					default:
						c.Write([]byte("250 ok\r\n"))
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *smtpServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func testEngine(t *testing.T, mod func(*Options)) *Engine {
	o := DefaultOptions()
	o.Resolver = stubResolver{}
	o.Probe.ConnectTimeout = 3 * time.Second
	o.Probe.GreetingTimeout = 2 * time.Second
	o.Probe.OperationTimeout = 10 * time.Second
	o.Private = PrivateAllow
	if mod != nil {
		mod(&o)
	}
	e, err := NewEngine(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var lo = []netip.Addr{netip.MustParseAddr("127.0.0.1")}

func tgt(port int) probe.Target {
	return probe.Target{Protocol: probe.SMTP, Host: "localhost", Port: port, Security: probe.Plain, Addrs: lo}
}

func counters(d *dispatcher) (running, total int, held map[string]int, live map[string]int, lingering int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	held, live = map[string]int{}, map[string]int{}
	for k, a := range d.addrs {
		held[k] = a.held
		live[k] = len(a.live)
	}
	return d.running, d.total, held, live, len(d.lingering)
}

// waitFor polls cond (under the dispatcher's lock) until it holds, or fails the test.
func waitFor(t *testing.T, d *dispatcher, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d.mu.Lock()
		ok := cond()
		d.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Close answers every job, also one queued at an address whose slots are all taken (such an
// address is out of the ready heap).
func TestCloseDeliversQueuedJobs(t *testing.T) {
	h := startSMTP(t, "hang", 0)
	q := startSMTP(t, "ok", 0)
	e := testEngine(t, func(o *Options) { o.PerIP = 1 })
	got := make(chan []probe.Result, 1)
	go func() { got <- e.Probe(context.Background(), tgt(h.port()), tgt(q.port())) }()
	waitFor(t, e.disp, "one session held and one queued", func() bool {
		a := e.disp.addrs["127.0.0.1"]
		return a != nil && a.held == 1 && len(a.queue) == 1
	})
	e.Close()
	select {
	case rs := <-got:
		if rs[1].ErrorKind != probe.KindCanceled {
			t.Errorf("the queued probe: %s %q", rs[1].ErrorKind, rs[1].Error)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Engine.Probe still blocked 10 s after Engine.Close: the queued job was never answered")
	}
}

// slowDialer ignores its context for a while before dialing, as a dial already in the kernel
// does: it widens the window between a flight's cancellation and its end.
type slowDialer struct {
	probe.Dialer
	delay time.Duration
}

func (s slowDialer) DialContext(ctx context.Context, n, a string) (net.Conn, error) {
	time.Sleep(s.delay)
	return s.Dialer.DialContext(ctx, n, a)
}

// A job never joins a flight that was stopped for another caller's reason.
func TestNoJoinAfterWithdraw(t *testing.T) {
	s := startSMTP(t, "ok", 0)
	e := testEngine(t, func(o *Options) { o.Probe.Dial = slowDialer{probe.Direct, 300 * time.Millisecond} })
	defer e.Close()
	ctxA, cancelA := context.WithCancel(context.Background())
	gotA := make(chan probe.Result, 1)
	go func() { gotA <- e.Probe(ctxA, tgt(s.port()))[0] }()
	waitFor(t, e.disp, "A's flight running", func() bool { return e.disp.running == 1 })
	cancelA()
	waitFor(t, e.disp, "A's flight cut", func() bool {
		for _, a := range e.disp.addrs {
			for f := range a.live {
				if f.cut != nil {
					return true
				}
			}
		}
		return false
	})
	rb := e.Probe(context.Background(), tgt(s.port()))[0]
	<-gotA
	if !rb.OK {
		t.Errorf("B, never canceled, got A's cancellation: %s %q", rb.ErrorKind, rb.Error)
	}
}

// Close settles every slot at once: nothing changes in the dispatcher after Close returns,
// although a session's slot was waiting for the server's goodbye.
func TestCloseSettlesSlots(t *testing.T) {
	s := startSMTP(t, "ok", 2*time.Second)
	e := testEngine(t, nil)
	if rs := e.Probe(context.Background(), tgt(s.port())); !rs[0].OK {
		t.Fatalf("probe: %s", rs[0].Error)
	}
	e.Close()
	running, total, held, _, lingering := counters(e.disp)
	if running != 0 || total != 0 || held["127.0.0.1"] != 0 || lingering != 0 || len(e.disp.releases) != 0 {
		t.Errorf("after Close: running %d, total %d, held %v, lingering %d, releases pending %d",
			running, total, held, lingering, len(e.disp.releases))
	}
}

// Many probes with random cancellation, slow goodbyes and 421 retries: when all is done, every
// counter is back at zero and every result is in its place.
func TestCountersReturnToZero(t *testing.T) {
	servers := []*smtpServer{
		startSMTP(t, "ok", 0),
		startSMTP(t, "ok", 80*time.Millisecond),
		startSMTP(t, "ok", 400*time.Millisecond),
		startSMTP(t, "421crowd", 0),
	}
	e := testEngine(t, func(o *Options) { o.PerIP = 2; o.CacheTTL = 0 })
	defer e.Close()
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			rnd := rand.New(rand.NewSource(int64(i)))
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rnd.Intn(600))*time.Millisecond)
			defer cancel()
			var ts []probe.Target
			for range 1 + rnd.Intn(3) {
				ts = append(ts, tgt(servers[rnd.Intn(len(servers))].port()))
			}
			for k, r := range e.Probe(ctx, ts...) {
				if r.Port != ts[k].Port {
					t.Errorf("result %d for port %d, want %d", k, r.Port, ts[k].Port)
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, e.disp, "every counter back at zero", func() bool {
		for _, a := range e.disp.addrs {
			if a.held != 0 || len(a.live) != 0 {
				return false
			}
		}
		return e.disp.running == 0 && e.disp.total == 0 && len(e.disp.lingering) == 0 && len(e.disp.releases) == 0
	})
}

// When the discovery that started a flight withdraws, the joiner still waiting gets the result,
// counted as shared (as sharedHits counted it when it joined), and the flight's connection:
// the discoveries' counts add up to the engine's.
func TestJoinerInheritsWithdrawnFlight(t *testing.T) {
	s := startSMTP(t, "ok", 0)
	e := testEngine(t, func(o *Options) { o.Probe.Dial = slowDialer{probe.Direct, 300 * time.Millisecond} })
	defer e.Close()
	got := make(chan jobResult, 2)
	deliver := func(r jobResult) { got <- r }
	a := &job{target: tgt(s.port()), deliver: deliver}
	b := &job{target: tgt(s.port()), deliver: deliver}
	e.disp.submit(a)
	waitFor(t, e.disp, "A's flight running", func() bool { return e.disp.running == 1 })
	e.disp.submit(b)
	e.disp.withdraw(a, &probe.Cut{Reason: probe.CutCanceled})
	results := map[*job]jobResult{}
	for range 2 {
		select {
		case r := <-got:
			results[r.job] = r
		case <-time.After(10 * time.Second):
			t.Fatal("no result within 10 s")
		}
	}
	ra, rb := results[a], results[b]
	if ra.r.ErrorKind != probe.KindCanceled || ra.conns != 0 || ra.shared {
		t.Errorf("A (withdrawn): %s, conns %d, shared %v", ra.r.ErrorKind, ra.conns, ra.shared)
	}
	if !rb.r.OK || rb.conns != 1 || !rb.shared {
		t.Errorf("B (joined): ok %v %q, conns %d, shared %v; want ok, the flight's 1 connection, shared", rb.r.OK, rb.r.Error, rb.conns, rb.shared)
	}
	if st := e.Stats(); st.Connections != int64(ra.conns+rb.conns) || st.SharedHits != 1 {
		t.Errorf("engine: %d connections (discoveries %d), %d shared hits (want 1)", st.Connections, ra.conns+rb.conns, st.SharedHits)
	}
}
