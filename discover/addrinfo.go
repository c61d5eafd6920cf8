package discover

import (
	"container/heap"
	"net/netip"
	"time"

	"github.com/mailscout/mailscout/probe"
)

// addrInfo is what the dispatcher knows about one server address (or, through a proxy that
// resolves names, one host name): its politeness budget, how fast it answers, and what it has
// shown. It is the evidence behind every early end of a wait.
type addrInfo struct {
	key string
	ip  netip.Addr // invalid for a host-name key

	// limit is how many sessions it gets at once: Options.PerIP, or 1 once it has refused a
	// session with "too many connections" while others were open (strict is then set).
	limit  int
	strict bool
	// held counts flights holding a slot: connecting or in session, and not stalled.
	held int
	live map[*flight]struct{} // every running flight accounted here, stalled or not

	rtt     time.Duration // the fastest connect seen; 0 while none has succeeded
	greeted bool          // some connection here received a complete greeting line
	silent  bool          // a full greeting timeout passed here, and nothing here ever greeted
	down    bool          // a full connect timeout passed here, and nothing here ever connected
	lastEnd time.Time     // when a session here last ended
	// tlsPorts are ports where a TLS handshake succeeded: they speak implicit TLS.
	tlsPorts map[int]bool

	queue     []*flight // queued flights, best first
	heapIndex int       // position in the dispatcher's ready heap, -1 when not there
	idleSince time.Time
}

// Politeness and patience, all relative to what the address has shown.
const (
	// cutFactor × the address's round trip is how long a connect or a first greeting line may
	// take before the wait is judged hopeless (a connect) or the probe stops counting as a
	// session (a greeting). Generous: a loaded server's greeting can take a few round trips.
	cutFactor = 8
	// cutFloor absorbs scheduling noise where round trips are tiny (a LAN, loopback). A lost
	// SYN's retransmission (1 s) is not waited for either way.
	cutFloor = 250 * time.Millisecond
	// unknownPatience is how long a connect or a silent session holds its slot while the
	// address's round trip is still unknown (or hidden behind a proxy). Long enough for any
	// terrestrial path, so that a slow but open port rarely loses its slot; short enough that
	// three dropped ports cannot hold an address for the connect timeout.
	unknownPatience = 500 * time.Millisecond
	// sessionFloor is the least time a connected session that has not greeted yet keeps its
	// slot. The server counts it from the moment it accepted the connection (Postfix's and
	// Dovecot's per-client limits count connections), and a loaded server's first words can
	// take a good fraction of a second: measured against Dovecot on a busy machine, an implicit
	// TLS handshake took 260–850 ms. Shorter, and a slow greeter would see more sessions than
	// the limit allows; longer, and probes on a silent host would queue behind each other.
	sessionFloor = time.Second
	// downGrace: once an address is known to be down, a new connect there gets this long.
	downGrace = time.Second
	// extraStalled is how many stalled flights an address may have beyond its limit: silent
	// probes must not queue behind each other, but a tarpit must not get unbounded sockets.
	extraStalled = 6
)

func newAddrInfo(key string, ip netip.Addr, limit int) *addrInfo {
	return &addrInfo{key: key, ip: ip, limit: limit, live: map[*flight]struct{}{}, tlsPorts: map[int]bool{}, heapIndex: -1}
}

// patience is how long a connect or a first greeting line may take here.
func (a *addrInfo) patience(proxied bool) time.Duration {
	if a.rtt <= 0 || proxied {
		return unknownPatience
	}
	return max(cutFactor*a.rtt, cutFloor)
}

// sessionPatience is how long a connected session may stay silent here and still count as one.
func (a *addrInfo) sessionPatience(proxied bool) time.Duration {
	return max(a.patience(proxied), sessionFloor)
}

// mayStart reports whether another flight may start here now.
func (a *addrInfo) mayStart() bool {
	return len(a.queue) > 0 && a.held < a.limit && len(a.live) < a.limit+extraStalled
}

// enqueue inserts f in priority order.
func (a *addrInfo) enqueue(f *flight) {
	i := len(a.queue)
	for i > 0 && f.prio.less(a.queue[i-1].prio) {
		i--
	}
	a.queue = append(a.queue, nil)
	copy(a.queue[i+1:], a.queue[i:])
	a.queue[i] = f
}

func (a *addrInfo) dequeue(f *flight) bool {
	for i, q := range a.queue {
		if q == f {
			a.queue = append(a.queue[:i], a.queue[i+1:]...)
			return true
		}
	}
	return false
}

// decision is the next thing the dispatcher will do to a running flight, and when.
type decision struct {
	at    time.Time
	stall bool       // stop counting it against the address's limit
	cut   *probe.Cut // stop it, for this reason
}

// next is the rule book: given what the address has shown, when does f's wait stop being
// worth a slot, and when is it pointless altogether?
func (a *addrInfo) next(f *flight, proxied bool, now time.Time) decision {
	switch {
	case f.greeted:
		return decision{}
	case !f.connected:
		switch {
		case a.rtt > 0 && !proxied:
			// Another port answered in rtt; this one is silent many times that: filtered.
			return decision{at: f.started.Add(a.patience(proxied)), cut: &probe.Cut{Reason: probe.CutFiltered, Addr: a.ip, RTT: a.rtt}}
		case a.down:
			return decision{at: f.started.Add(downGrace), cut: &probe.Cut{Reason: probe.CutHostDown, Addr: a.ip}}
		case f.holds:
			return decision{at: f.started.Add(unknownPatience), stall: true}
		}
	default: // connected, no greeting line yet
		switch {
		case f.plaintext() && a.tlsPorts[f.target.Port]:
			return decision{at: now, cut: &probe.Cut{Reason: probe.CutImplicitTLS, Addr: a.ip}}
		case a.silent:
			return decision{at: f.connectedAt.Add(a.patience(proxied)), cut: &probe.Cut{Reason: probe.CutSilentHost, Addr: a.ip}}
		case f.holds && !a.strict:
			// (An address that refused a second session keeps its one slot for whoever has
			// it, slow greeting or not: another connection beside it would be refused again.)
			return decision{at: f.connectedAt.Add(a.sessionPatience(proxied)), stall: true}
		}
	}
	return decision{}
}

// readyHeap orders the addresses that may start a flight by their best queued flight.
type readyHeap []*addrInfo

func (h readyHeap) Len() int           { return len(h) }
func (h readyHeap) Less(i, j int) bool { return h[i].queue[0].prio.less(h[j].queue[0].prio) }
func (h readyHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIndex, h[j].heapIndex = i, j
}
func (h *readyHeap) Push(x any) {
	a := x.(*addrInfo)
	a.heapIndex = len(*h)
	*h = append(*h, a)
}
func (h *readyHeap) Pop() any {
	old := *h
	a := old[len(old)-1]
	old[len(old)-1] = nil
	a.heapIndex = -1
	*h = old[:len(old)-1]
	return a
}

// fix puts a in the heap, moves it, or takes it out, as its state now says.
func (h *readyHeap) fix(a *addrInfo) {
	switch ok := a.mayStart(); {
	case ok && a.heapIndex < 0:
		heap.Push(h, a)
	case ok:
		heap.Fix(h, a.heapIndex)
	case a.heapIndex >= 0:
		heap.Remove(h, a.heapIndex)
	}
}
