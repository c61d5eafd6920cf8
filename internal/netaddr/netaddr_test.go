package netaddr

import (
	"net/netip"
	"testing"
)

// The table is only ever tested, never dialled: no address below receives any traffic.
func TestClassify(t *testing.T) {
	tests := []struct {
		addr string
		want Class
	}{
		{"127.0.0.1", Loopback},
		{"127.255.255.254", Loopback},
		{"::1", Loopback},
		{"::ffff:127.0.0.1", Loopback}, // mapped
		{"10.1.2.3", Private},
		{"172.16.0.1", Private},
		{"172.31.255.255", Private},
		{"172.32.0.1", Public},
		{"192.168.1.1", Private},
		{"fd12:3456::1", Private},
		{"169.254.169.254", LinkLocal}, // cloud metadata
		{"fe80::1%eth0", LinkLocal},
		{"100.64.0.1", Shared},
		{"100.128.0.1", Public},
		{"192.0.2.1", Documentation},
		{"198.51.100.7", Documentation},
		{"203.0.113.9", Documentation},
		{"2001:db8::1", Documentation},
		{"0.0.0.0", Unspecified},
		{"::", Unspecified},
		{"224.0.0.251", Multicast},
		{"ff02::1", Multicast},
		{"255.255.255.255", Reserved},
		{"240.0.0.1", Reserved},
		{"198.18.0.1", Reserved},
		{"192.0.0.8", Reserved},
		{"64:ff9b::7f00:1", Loopback},     // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", LinkLocal}, // NAT64 of 169.254.169.254
		{"64:ff9b::808:808", Public},      // NAT64 of 8.8.8.8
		{"2002:7f00:1::", Loopback},       // 6to4 of 127.0.0.1
		{"2002:c000:0201::", Documentation},
		{"::7f00:1", Reserved},         // IPv4-compatible 127.0.0.1 (deprecated)
		{"::a9fe:a9fe", Reserved},      // IPv4-compatible 169.254.169.254
		{"::808:808", Reserved},        // IPv4-compatible, whatever is inside
		{"::ffff:0:7f00:1", Reserved},  // IPv4-translated (SIIT) 127.0.0.1
		{"::ffff:0:808:808", Reserved}, // IPv4-translated 8.8.8.8: only behind a translator
		{"::ffff:8.8.8.8", Public},     // mapped: judged by the IPv4 address inside
		{"8.8.8.8", Public},
		{"2606:4700::1111", Public},
		{"1.1.1.1", Public},
	}
	for _, tt := range tests {
		if got := Classify(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("Classify(%s) = %s, want %s", tt.addr, got, tt.want)
		}
	}
	if Classify(netip.Addr{}) != Reserved {
		t.Error("the zero address must not be public")
	}
}
