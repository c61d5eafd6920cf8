package mailsim

import (
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Zone is one domain's DNS data. Host addresses come from the World's hosts.
type Zone struct {
	Domain string
	MX     []MX
	NullMX bool  // publishes "MX 0 ." (RFC 7505: the domain accepts no mail)
	SRV    []SRV // RFC 6186 / RFC 8314 service records
	// Signed makes answers for names in this zone carry the AD bit, as a validating resolver's
	// would for a DNSSEC-signed zone.
	Signed bool
	// TCPOnly truncates every UDP answer for this zone (TC bit), forcing a TCP retry.
	TCPOnly bool
	// ServFail answers SERVFAIL for every name in this zone.
	ServFail bool
	// Truncated sets the TC bit on every answer, over TCP too (a broken or hostile server).
	Truncated bool
	// CNAMEs are aliases: a question for Name is answered with a CNAME to Target (and, when
	// the target is in the world, its records).
	CNAMEs []CNAME
	// Foreign adds to every answer a record whose owner is another name (which a resolver must
	// not take as part of the answer).
	Foreign bool
	// WildcardMX makes every name one label below Domain a mail domain with these MX records:
	// a thousand customer domains of one provider, declared in one line.
	WildcardMX []MX
	// WildcardAddr, when set, is the address of every name under Domain that the world does
	// not otherwise know: shared hosting, where every customer's host names lead to one box.
	WildcardAddr string
}

// CNAME is one alias record.
type CNAME struct{ Name, Target string }

// MX is one mail exchanger.
type MX struct {
	Host       string
	Preference uint16
}

// SRV is one service record; Service is e.g. "_submissions._tcp", Target "." means "not offered".
type SRV struct {
	Service          string
	Target           string
	Port             uint16
	Priority, Weight uint16
}

// dnsServer answers from the world's zones and hosts over UDP and TCP on loopback.
type dnsServer struct {
	w        *World
	udp, tcp *dns.Server
	addr     string
}

func (w *World) startDNS() error {
	pc, ln, err := listenUDPAndTCP(w.Spec.DNSListen)
	if err != nil {
		return err
	}
	s := &dnsServer{w: w, addr: pc.LocalAddr().String()}
	h := dns.HandlerFunc(s.serve)
	udpStarted, tcpStarted := make(chan struct{}), make(chan struct{})
	s.udp = &dns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: func() { close(udpStarted) }}
	s.tcp = &dns.Server{Listener: ln, Handler: h, NotifyStartedFunc: func() { close(tcpStarted) }}
	w.bg.Add(2)
	go func() { defer w.bg.Done(); s.udp.ActivateAndServe() }()
	go func() { defer w.bg.Done(); s.tcp.ActivateAndServe() }()
	<-udpStarted
	<-tcpStarted
	w.dns = s
	return nil
}

func (s *dnsServer) close() {
	s.udp.Shutdown()
	s.tcp.Shutdown()
}

func (s *dnsServer) serve(rw dns.ResponseWriter, req *dns.Msg) {
	if s.w.Spec.RTT > 0 {
		time.Sleep(s.w.Spec.RTT)
	}
	s.w.countQuery()
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = false
	m.RecursionAvailable = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		rw.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(dns.Fqdn(q.Name))
	zone := s.w.zoneFor(name)
	_, udp := rw.RemoteAddr().(*net.UDPAddr)
	switch {
	case zone != nil && zone.ServFail:
		m.Rcode = dns.RcodeServerFailure
	case zone != nil && (zone.TCPOnly && udp || zone.Truncated):
		m.Truncated = true
	default:
		m.Answer, m.Rcode = s.w.answer(name, q.Qtype, zone)
		if zone != nil && zone.Foreign {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: "victim.invalid.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}, A: []byte{192, 0, 2, 254}},
				&dns.MX{Hdr: dns.RR_Header{Name: "victim.invalid.", Rrtype: dns.TypeMX, Class: dns.ClassINET, Ttl: 300}, Mx: "evil.invalid."})
		}
		// A validating resolver sets AD for signed data when the query asked for it, by AD or DO
		// (RFC 6840 §5.7).
		wantsAD := req.AuthenticatedData || req.IsEdns0() != nil && req.IsEdns0().Do()
		m.AuthenticatedData = zone != nil && zone.Signed && wantsAD
	}
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		m.SetEdns0(opt.UDPSize(), opt.Do())
		size = int(opt.UDPSize())
	}
	if udp {
		m.Truncate(size) // an answer too big for the datagram sets TC, as real servers do
	}
	rw.WriteMsg(m)
}

// zoneFor returns the most specific zone containing name.
func (w *World) zoneFor(name string) *Zone {
	var best *Zone
	for i := range w.Spec.Zones {
		z := &w.Spec.Zones[i]
		d := dns.Fqdn(strings.ToLower(z.Domain))
		if dns.IsSubDomain(d, name) && (best == nil || len(d) > len(dns.Fqdn(best.Domain))) {
			best = z
		}
	}
	return best
}

// answer builds the answer section and rcode for one question.
func (w *World) answer(name string, qtype uint16, zone *Zone) ([]dns.RR, int) {
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: 300}
	}
	var rrs []dns.RR
	exists := false
	if zone != nil {
		for hops := 0; hops < 10; hops++ {
			target := ""
			for _, c := range zone.CNAMEs {
				if dns.Fqdn(strings.ToLower(c.Name)) == name {
					target = dns.Fqdn(strings.ToLower(c.Target))
				}
			}
			if target == "" || qtype == dns.TypeCNAME {
				break
			}
			rrs = append(rrs, &dns.CNAME{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 300}, Target: target})
			name, exists = target, true
		}
	}
	addrs := w.host(name)
	if addrs == nil && zone != nil && zone.WildcardAddr != "" {
		if a, err := netip.ParseAddr(zone.WildcardAddr); err == nil {
			addrs = []netip.Addr{a}
		}
	}
	if addrs != nil {
		exists = true
		for _, a := range addrs {
			switch {
			case qtype == dns.TypeA && a.Is4():
				rrs = append(rrs, &dns.A{Hdr: hdr(dns.TypeA), A: a.AsSlice()})
			case qtype == dns.TypeAAAA && a.Is6():
				rrs = append(rrs, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: a.AsSlice()})
			}
		}
	}
	if zone != nil && len(zone.WildcardMX) > 0 {
		apex := dns.Fqdn(strings.ToLower(zone.Domain))
		if label, rest, ok := strings.Cut(name, "."); ok && rest == apex && label != "" {
			exists = true
			if qtype == dns.TypeMX {
				for _, mx := range zone.WildcardMX {
					rrs = append(rrs, &dns.MX{Hdr: hdr(dns.TypeMX), Preference: mx.Preference, Mx: dns.Fqdn(mx.Host)})
				}
			}
		}
	}
	if zone != nil {
		apex := dns.Fqdn(strings.ToLower(zone.Domain))
		if name == apex {
			exists = true
			if qtype == dns.TypeMX {
				if zone.NullMX {
					rrs = append(rrs, &dns.MX{Hdr: hdr(dns.TypeMX), Preference: 0, Mx: "."})
				}
				for _, mx := range zone.MX {
					rrs = append(rrs, &dns.MX{Hdr: hdr(dns.TypeMX), Preference: mx.Preference, Mx: dns.Fqdn(mx.Host)})
				}
			}
		}
		for _, srv := range zone.SRV {
			if name == dns.Fqdn(srv.Service+"."+zone.Domain) {
				exists = true
				if qtype == dns.TypeSRV {
					rrs = append(rrs, &dns.SRV{Hdr: hdr(dns.TypeSRV), Priority: srv.Priority, Weight: srv.Weight, Port: srv.Port, Target: dns.Fqdn(srv.Target)})
				}
			}
		}
	}
	if !exists {
		return nil, dns.RcodeNameError
	}
	return rrs, dns.RcodeSuccess
}

// listenUDPAndTCP finds a loopback port free for both UDP and TCP: DNS clients fall back from
// one to the other on the same address. A port free for UDP may be taken for TCP; try again.
func listenUDPAndTCP(fixed string) (net.PacketConn, net.Listener, error) {
	if fixed != "" {
		pc, err := net.ListenPacket("udp", fixed)
		if err != nil {
			return nil, nil, err
		}
		ln, err := net.Listen("tcp", fixed)
		if err != nil {
			pc.Close()
			return nil, nil, err
		}
		return pc, ln, nil
	}
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		lastErr = err
	}
	return nil, nil, lastErr
}
