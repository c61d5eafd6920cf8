package mailsim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Service is one listening port of a host.
type Service struct {
	Port     int    // the logical (well-known) port clients dial
	Config   Config // the server behind it; Hostname defaults to the host's name
	Filtered bool   // no server: connections hang, as behind a dropping firewall
}

// Host is a named machine with addresses and services.
type Host struct {
	Name string
	// Addrs are the host's addresses as DNS publishes them. They are logical: the world's
	// Network maps each addr:port to a loopback listener and nothing is ever sent to them.
	// Empty means one address assigned from TEST-NET-1 (192.0.2.0/24, RFC 5737).
	Addrs    []string
	Services []Service
}

// WorldSpec declares a network as data, so a scenario reads like a description of it.
type WorldSpec struct {
	Hosts []Host
	Zones []Zone
	Web   []WebFile
	// RTT is a simulated round-trip time added to every connect, DNS answer, HTTP and mail
	// server write, for benchmarks that compare against the physical minimum.
	RTT time.Duration
	// Bind makes the world real: every host must have loopback addresses (127.0.0.0/8), and its
	// servers listen on those addresses and on the services' own ports (root is needed below
	// 1024), web hosts on 80 and 443. Programs outside this process — real proxies, real
	// clients — can then reach them, with the world's DNS server naming them.
	Bind bool
	// Users are accounts every mail server of the world knows (a service's own Config.Users
	// take precedence).
	Users map[string]string
	// DNSListen is the DNS server's address (UDP and TCP); default any free loopback port. A
	// bound world inside a network namespace can take 127.0.0.1:53 and be the resolver of every
	// program there.
	DNSListen string
}

// World runs every server of a spec on loopback: mail servers, a DNS server answering for the
// zones, and a web server for autoconfig files, all behind one Network and one CA.
type World struct {
	Spec    WorldSpec
	CA      *CA
	Net     *Network
	servers []*Server
	addrs   map[string][]netip.Addr // host name (lower case, no trailing dot) → addresses
	next    int                     // next auto-assigned address
	dns     *dnsServer
	web     *webServer
	bg      sync.WaitGroup
	queries atomic.Int64
	gauges  map[string]*Gauge  // host name → its servers' open connections
	byPort  map[string]*Server // "host:port" → its server (unbound worlds)
}

// StartWorld starts every service of spec. Close stops them all.
func StartWorld(spec WorldSpec) (*World, error) {
	ca, err := NewCA("mailscout Test CA")
	if err != nil {
		return nil, err
	}
	w := &World{Spec: spec, CA: ca, Net: NewNetwork(), addrs: map[string][]netip.Addr{}, gauges: map[string]*Gauge{}, byPort: map[string]*Server{}}
	w.Net.RTT = spec.RTT
	for _, h := range spec.Hosts {
		if err := w.addHost(h); err != nil {
			w.Close()
			return nil, err
		}
	}
	if err := w.startWeb(); err != nil {
		w.Close()
		return nil, err
	}
	if err := w.startDNS(); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

func (w *World) ensureHost(name string) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if _, ok := w.addrs[name]; ok {
		return
	}
	w.next++
	w.addrs[name] = []netip.Addr{netip.AddrFrom4([4]byte{192, 0, 2, byte(w.next)})}
}

func (w *World) addHost(h Host) error {
	name := strings.ToLower(strings.TrimSuffix(h.Name, "."))
	for _, a := range h.Addrs {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return fmt.Errorf("mailsim: host %s: %w", h.Name, err)
		}
		w.addrs[name] = append(w.addrs[name], ip)
	}
	w.ensureHost(name)
	for _, svc := range h.Services {
		port := strconv.Itoa(svc.Port)
		logical := []string{net.JoinHostPort(name, port)}
		for _, a := range w.addrs[name] {
			logical = append(logical, net.JoinHostPort(a.String(), port))
		}
		if svc.Filtered {
			for _, l := range logical {
				w.Net.Filter(l)
			}
			continue
		}
		cfg := svc.Config
		if cfg.Hostname == "" {
			cfg.Hostname = name
		}
		if w.gauges[name] == nil {
			w.gauges[name] = &Gauge{}
		}
		cfg.Gauge = w.gauges[name]
		if w.Spec.Bind {
			if err := w.startBound(name, svc.Port, cfg); err != nil {
				return err
			}
			continue
		}
		if cfg.Users == nil {
			cfg.Users = w.Spec.Users
		}
		if w.Spec.RTT > 0 && cfg.WriteLatency == 0 {
			cfg.WriteLatency = w.Spec.RTT
		}
		s, err := Start(cfg, w.CA)
		if err != nil {
			return fmt.Errorf("mailsim: %s: %w", logical[0], err)
		}
		w.servers = append(w.servers, s)
		w.byPort[logical[0]] = s
		for _, l := range logical {
			w.Net.Route(l, s.Addr())
		}
	}
	return nil
}

// startBound starts one server per address of the host, on the service's real port.
func (w *World) startBound(name string, port int, cfg Config) error {
	for _, a := range w.addrs[name] {
		if !a.IsLoopback() {
			return fmt.Errorf("mailsim: bound world: %s has the non-loopback address %s", name, a)
		}
		cfg.Listen = net.JoinHostPort(a.String(), strconv.Itoa(port))
		s, err := Start(cfg, w.CA)
		if err != nil {
			return fmt.Errorf("mailsim: %s: %w", cfg.Listen, err)
		}
		w.servers = append(w.servers, s)
		w.Net.Route(net.JoinHostPort(name, strconv.Itoa(port)), s.Addr())
	}
	return nil
}

// host returns the declared or implied host of a DNS name, or nil.
func (w *World) host(fqdn string) []netip.Addr {
	a, ok := w.addrs[strings.TrimSuffix(fqdn, ".")]
	if !ok {
		return nil
	}
	return a
}

// Addrs returns the addresses DNS publishes for a host.
func (w *World) Addrs(host string) []netip.Addr { return w.addrs[strings.ToLower(host)] }

// DNSAddr is the loopback address (UDP and TCP) of the world's DNS server.
func (w *World) DNSAddr() string { return w.dns.addr }

// DNSQueries is the number of DNS questions answered so far.
func (w *World) DNSQueries() int64 { return w.queries.Load() }

func (w *World) countQuery() { w.queries.Add(1) }

// DialContext dials a logical address of the world.
func (w *World) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return w.Net.DialContext(ctx, network, address)
}

// ResolvesRemotely is false (it makes a World a probe.Dialer).
func (w *World) ResolvesRemotely() bool { return false }

// Accepted is the number of connections all mail servers of the world have accepted.
func (w *World) Accepted() int {
	n := 0
	for _, s := range w.servers {
		n += s.Accepted()
	}
	return n
}

// MaxConcurrent is the most connections a host's servers had open at once: what a client's
// politeness towards that host's address amounted to.
func (w *World) MaxConcurrent(host string) int { return w.gauges[strings.ToLower(host)].Max() }

// AcceptedAt maps each endpoint ("host:port") to the connections its server accepted.
func (w *World) AcceptedAt() map[string]int {
	out := map[string]int{}
	for ep, s := range w.byPort {
		out[ep] = s.Accepted()
	}
	return out
}

// LoginAttempts maps each host name to the login attempts its servers saw.
func (w *World) LoginAttempts() map[string][]string {
	out := map[string][]string{}
	for _, s := range w.servers {
		out[s.cfg.Hostname] = append(out[s.cfg.Hostname], s.LoginAttempts()...)
	}
	return out
}

// Close stops every server and waits for their goroutines.
func (w *World) Close() error {
	var errs []error
	for _, s := range w.servers {
		errs = append(errs, s.Close())
	}
	if w.dns != nil {
		w.dns.close()
	}
	if w.web != nil {
		w.web.close()
	}
	w.bg.Wait()
	return errors.Join(errs...)
}
