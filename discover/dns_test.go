package discover_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
)

func TestDNSResolver(t *testing.T) {
	w, err := mailsim.StartWorld(mailsim.WorldSpec{
		Zones: []mailsim.Zone{
			{Domain: "signed.example", Signed: true, MX: []mailsim.MX{{Host: "b.signed.example", Preference: 20}, {Host: "a.signed.example", Preference: 10}},
				SRV: []mailsim.SRV{{Service: "_imaps._tcp", Target: "imap.signed.example", Port: 993, Priority: 1, Weight: 5}, {Service: "_pop3s._tcp", Target: "."}}},
			{Domain: "big.example", TCPOnly: true, MX: []mailsim.MX{{Host: "mx.big.example", Preference: 0}}},
		},
		Hosts: []mailsim.Host{
			{Name: "imap.signed.example", Addrs: []string{"192.0.2.80", "2001:db8::80"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	// The first server is dead: the resolver moves on to the next.
	dead, _ := net.ListenPacket("udp", "127.0.0.1:0")
	deadAddr := dead.LocalAddr().String()
	dead.Close()
	r := &discover.DNSResolver{Servers: []string{deadAddr, w.DNSAddr()}, Timeout: 300 * time.Millisecond, Attempts: 1}

	mx, err := r.LookupMX(ctx, "signed.example")
	if err != nil || !mx.Authentic || len(mx.Records) != 2 || mx.TTL != 300*time.Second {
		t.Fatalf("MX = %+v err=%v", mx, err)
	}
	srv, err := r.LookupSRV(ctx, "_imaps._tcp.signed.example")
	if err != nil || len(srv.Records) != 1 || srv.Records[0] != (discover.SRV{Target: "imap.signed.example", Port: 993, Priority: 1, Weight: 5}) {
		t.Errorf("SRV = %+v %v", srv, err)
	}
	if srv, err := r.LookupSRV(ctx, "_pop3s._tcp.signed.example"); err != nil || len(srv.Records) != 1 || srv.Records[0].Target != "" {
		t.Errorf("SRV '.' = %+v %v", srv, err)
	}
	addrs, err := r.LookupAddr(ctx, "imap.signed.example")
	if err != nil || len(addrs.Records) != 2 || !addrs.Records[0].Is6() || !addrs.Records[1].Is4() {
		t.Errorf("addrs = %v %v", addrs, err)
	}
	if _, err := r.LookupAddr(ctx, "nope.signed.example"); !errors.Is(err, discover.ErrNXDomain) {
		t.Errorf("NXDOMAIN: %v", err)
	}
	if mx, err := r.LookupMX(ctx, "big.example"); err != nil || len(mx.Records) != 1 {
		t.Errorf("TCP fallback: %+v %v", mx, err)
	}
	if mx, err := r.LookupMX(ctx, "imap.signed.example"); err != nil || len(mx.Records) != 0 || !mx.Authentic {
		t.Errorf("no MX records: %+v %v", mx, err)
	}
}
