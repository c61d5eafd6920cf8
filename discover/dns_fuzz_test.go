package discover_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mailscout/mailscout/discover"
)

// rawDNS is a loopback DNS server (UDP and TCP on one port) that answers every query with the
// same bytes, its ID set to the query's: whatever a resolver, or something pretending to be
// one, might send.
type rawDNS struct {
	answer atomic.Pointer[[]byte]
	pc     net.PacketConn
	ln     net.Listener
	done   chan struct{}
}

func startRawDNS(tb testing.TB) *rawDNS {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &rawDNS{pc: pc, done: make(chan struct{})}
	empty := []byte{}
	s.answer.Store(&empty)
	if ln, err := net.Listen("tcp", pc.LocalAddr().String()); err == nil {
		s.ln = ln // without it, a truncated answer's TCP retry is refused, which is fine too
	}
	go s.serveUDP()
	if s.ln != nil {
		go s.serveTCP()
	}
	tb.Cleanup(s.close)
	return s
}

func (s *rawDNS) reply(query []byte) []byte {
	out := append([]byte(nil), *s.answer.Load()...)
	if len(out) >= 2 && len(query) >= 2 {
		copy(out, query[:2])
	}
	return out
}

func (s *rawDNS) serveUDP() {
	buf := make([]byte, 65536)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		s.pc.WriteTo(s.reply(buf[:n]), from)
	}
}

func (s *rawDNS) serveTCP() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err == nil {
			q := make([]byte, binary.BigEndian.Uint16(l[:]))
			if _, err := io.ReadFull(c, q); err == nil {
				a := s.reply(q)
				c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(a))))
				c.Write(a)
			}
		}
		c.Close()
	}
}

func (s *rawDNS) close() {
	s.pc.Close()
	if s.ln != nil {
		s.ln.Close()
	}
}

// dnsSeed packs a response to name/qtype with the given answer and authority records.
func dnsSeed(f *testing.F, name string, qtype uint16, ad bool, rcode int, answer, ns []string) []byte {
	f.Helper()
	m := new(dns.Msg).SetQuestion(name, qtype)
	m.Response, m.AuthenticatedData, m.Rcode = true, ad, rcode
	for _, s := range answer {
		rr, err := dns.NewRR(s)
		if err != nil {
			f.Fatal(err)
		}
		m.Answer = append(m.Answer, rr)
	}
	for _, s := range ns {
		rr, err := dns.NewRR(s)
		if err != nil {
			f.Fatal(err)
		}
		m.Ns = append(m.Ns, rr)
	}
	b, err := m.Pack()
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// The resolver reads answers from the network. miekg/dns parses the message; what discovery
// makes of it is its own: the CNAME chain, which records count, the TTL, the AD bit. Whatever
// the answer: no panic, a bounded wait, errors that name the lookup, and only records the
// answer holds, of the type asked, in lower case without the root dot, authentic only with the
// AD bit.
func FuzzDNSAnswer(f *testing.F) {
	soa := "example.com. 30 IN SOA ns.example.com. host.example.com. 1 2 3 4 60"
	seeds := []struct {
		kind byte
		msg  []byte
	}{
		{0, dnsSeed(f, "example.com.", dns.TypeMX, true, 0, []string{"example.com. 300 IN MX 10 MX1.Example.COM.", "example.com. 300 IN MX 0 ."}, nil)},
		{0, dnsSeed(f, "example.com.", dns.TypeMX, false, 0, []string{"example.com. 60 IN CNAME alias.example.net.", "alias.example.net. 30 IN MX 5 mx.example.net.", "other.example. 1 IN MX 1 evil.example."}, nil)},
		{0, dnsSeed(f, "example.com.", dns.TypeMX, false, 0, []string{"example.com. 60 IN CNAME a.example.", "a.example. 60 IN CNAME example.com."}, nil)},
		{0, dnsSeed(f, "example.com.", dns.TypeMX, false, dns.RcodeNameError, nil, []string{soa})},
		{0, dnsSeed(f, "example.com.", dns.TypeMX, false, dns.RcodeServerFailure, nil, nil)},
		{1, dnsSeed(f, "_imaps._tcp.example.com.", dns.TypeSRV, true, 0, []string{"_imaps._tcp.example.com. 3600 IN SRV 0 1 993 imap.example.com.", "_imaps._tcp.example.com. 3600 IN SRV 0 0 0 ."}, nil)},
		{1, dnsSeed(f, "_imaps._tcp.example.com.", dns.TypeSRV, false, 0, nil, []string{soa})},
		{2, dnsSeed(f, "mail.example.com.", dns.TypeA, true, 0, []string{"mail.example.com. 60 IN A 192.0.2.1", "mail.example.com. 60 IN AAAA 2001:db8::1"}, nil)},
		{2, dnsSeed(f, "mail.example.com.", dns.TypeA, false, 0, []string{"mail.example.com. 60 IN CNAME x.example.", "x.example. 10 IN A 192.0.2.2"}, nil)},
	}
	for _, s := range seeds {
		f.Add(s.kind, s.msg)
	}
	truncated := dnsSeed(f, "example.com.", dns.TypeMX, false, 0, nil, nil)
	truncated[2] |= 0x02 // TC: the resolver retries over TCP, and gets the same again
	f.Add(byte(0), truncated)
	f.Add(byte(2), []byte{0, 0})

	srv := startRawDNS(f)
	r := &discover.DNSResolver{Servers: []string{srv.pc.LocalAddr().String()}, Timeout: 2 * time.Second, Attempts: 1}
	f.Fuzz(func(t *testing.T, kind byte, msg []byte) {
		srv.answer.Store(&msg)
		var parsed dns.Msg
		unpacked := parsed.Unpack(msg) == nil
		has := func(rrtype uint16, match func(dns.RR) bool) bool {
			for _, rr := range parsed.Answer {
				if rr.Header().Rrtype == rrtype && match(rr) {
					return true
				}
			}
			return false
		}
		// Lower case, and no root dot: a name may end in an escaped dot ("00\\." is a label
		// "00."), which is not the root (such names are no host names; discovery ignores them
		// with a bad_record warning, see sources.go).
		canon := func(h string) bool { return h == strings.ToLower(h) && !dns.IsFqdn(h) }
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		var (
			n         int
			authentic bool
			ttl       time.Duration
			err       error
		)
		switch kind % 3 {
		case 0:
			a, e := r.LookupMX(ctx, "example.com")
			n, authentic, ttl, err = len(a.Records), a.Authentic, a.TTL, e
			for _, mx := range a.Records {
				if !canon(mx.Host) || !has(dns.TypeMX, func(rr dns.RR) bool {
					x := rr.(*dns.MX)
					return x.Preference == mx.Preference && strings.TrimSuffix(strings.ToLower(x.Mx), ".") == mx.Host
				}) {
					t.Fatalf("MX %+v is not in the answer %v", mx, parsed.Answer)
				}
			}
		case 1:
			a, e := r.LookupSRV(ctx, "_imaps._tcp.example.com")
			n, authentic, ttl, err = len(a.Records), a.Authentic, a.TTL, e
			for _, s := range a.Records {
				if !canon(s.Target) || !has(dns.TypeSRV, func(rr dns.RR) bool {
					x := rr.(*dns.SRV)
					return x.Port == s.Port && x.Priority == s.Priority && x.Weight == s.Weight && strings.TrimSuffix(strings.ToLower(x.Target), ".") == s.Target
				}) {
					t.Fatalf("SRV %+v is not in the answer %v", s, parsed.Answer)
				}
			}
		case 2:
			a, e := r.LookupAddr(ctx, "mail.example.com")
			n, authentic, ttl, err = len(a.Records), a.Authentic, a.TTL, e
			for _, ip := range a.Records {
				if !ip.IsValid() || ip.Zone() != "" ||
					!has(dns.TypeA, func(rr dns.RR) bool { return rr.(*dns.A).A.Equal(ip.AsSlice()) }) &&
						!has(dns.TypeAAAA, func(rr dns.RR) bool { return rr.(*dns.AAAA).AAAA.Equal(ip.AsSlice()) }) {
					t.Fatalf("address %v is not in the answer %v", ip, parsed.Answer)
				}
			}
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("the lookup took %v", took)
		}
		if n > 0 && !unpacked {
			t.Fatalf("%d records from an answer that does not parse", n)
		}
		if n > len(parsed.Answer) {
			t.Fatalf("%d records from %d in the answer", n, len(parsed.Answer))
		}
		if authentic && !parsed.AuthenticatedData {
			t.Fatal("authentic without the AD bit")
		}
		if ttl < 0 || ttl > (1<<32-1)*time.Second {
			t.Fatalf("TTL %v", ttl)
		}
		var le *discover.LookupError
		if err != nil && !errors.As(err, &le) {
			t.Fatalf("error %T %v does not name the lookup", err, err)
		}
	})
}
