// Package netaddr classifies IP addresses by who can reach them: the public Internet, or only
// some private part of it (this machine, a LAN, a provider's shared space, documentation and
// reserved ranges). Discovery uses it to keep a hostile domain from steering its requests at
// internal services (an autoconfig redirect to 127.0.0.1 or to a cloud metadata address), and
// the service mode uses it to refuse such targets outright.
//
// The ranges are IANA's special-purpose address registries (RFC 6890 and its updates); IPv4
// addresses embedded in IPv6 (mapped, NAT64, 6to4) are judged by the IPv4 address inside;
// the deprecated IPv4-compatible (::/96) and the translated (::ffff:0:0:0/96) forms are reserved.
// net/netip knows some of these (IsPrivate, IsLoopback, …) but not the shared, documentation,
// benchmarking and reserved ranges, so the table is written out here.
package netaddr

import (
	"net/netip"
)

// Class is where an address lives. Public is the only class that is reachable from anywhere.
type Class string

const (
	Public        Class = "public"
	Loopback      Class = "loopback"      // 127.0.0.0/8, ::1
	Private       Class = "private"       // RFC 1918, fc00::/7 (unique local)
	LinkLocal     Class = "link-local"    // 169.254.0.0/16 (cloud metadata lives here), fe80::/10
	Shared        Class = "shared"        // 100.64.0.0/10, carrier-grade NAT (RFC 6598)
	Documentation Class = "documentation" // TEST-NET-1/2/3, 2001:db8::/32, 3fff::/20
	Unspecified   Class = "unspecified"   // 0.0.0.0/8, ::
	Multicast     Class = "multicast"     // 224.0.0.0/4, ff00::/8
	Reserved      Class = "reserved"      // everything else special-purpose: 240/4, 198.18/15, 192.0.0/24, …
)

type prefixClass struct {
	p netip.Prefix
	c Class
}

var table = func() []prefixClass {
	rows := []struct {
		prefix string
		class  Class
	}{
		{"0.0.0.0/8", Unspecified},
		{"10.0.0.0/8", Private},
		{"100.64.0.0/10", Shared},
		{"127.0.0.0/8", Loopback},
		{"169.254.0.0/16", LinkLocal},
		{"172.16.0.0/12", Private},
		{"192.0.0.0/24", Reserved}, // IETF protocol assignments
		{"192.0.2.0/24", Documentation},
		{"192.31.196.0/24", Reserved}, // AS112
		{"192.52.193.0/24", Reserved}, // AMT
		{"192.88.99.0/24", Reserved},  // deprecated 6to4 relay anycast
		{"192.168.0.0/16", Private},
		{"192.175.48.0/24", Reserved}, // direct delegation AS112
		{"198.18.0.0/15", Reserved},   // benchmarking (RFC 2544)
		{"198.51.100.0/24", Documentation},
		{"203.0.113.0/24", Documentation},
		{"224.0.0.0/4", Multicast},
		{"240.0.0.0/4", Reserved}, // includes 255.255.255.255
		{"::/128", Unspecified},
		{"::1/128", Loopback},
		{"::/96", Reserved},           // IPv4-compatible, deprecated (RFC 4291 §2.5.5.1): never routed
		{"::ffff:0:0:0/96", Reserved}, // IPv4-translated (RFC 2765 SIIT): only behind a translator
		{"100::/64", Reserved},        // discard-only
		{"2001::/23", Reserved},       // IETF protocol assignments (Teredo, ORCHID, …)
		{"2001:db8::/32", Documentation},
		{"3fff::/20", Documentation},
		{"5f00::/16", Reserved}, // SRv6 SIDs
		{"fc00::/7", Private},
		{"fe80::/10", LinkLocal},
		{"fec0::/10", Reserved}, // deprecated site-local
		{"ff00::/8", Multicast},
	}
	out := make([]prefixClass, len(rows))
	for i, r := range rows {
		out[i] = prefixClass{netip.MustParsePrefix(r.prefix), r.class}
	}
	return out
}()

// Embedding prefixes: the IPv4 address inside decides.
var (
	nat64      = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour  = netip.MustParsePrefix("2002::/16")
)

// Classify says where a lives. An invalid address is Reserved.
func Classify(a netip.Addr) Class {
	if !a.IsValid() {
		return Reserved
	}
	a = a.WithZone("")
	if a.Is4In6() {
		a = a.Unmap()
	}
	if a.Is6() {
		switch {
		case nat64.Contains(a):
			b := a.As16()
			return Classify(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case nat64Local.Contains(a):
			return Private
		case sixToFour.Contains(a):
			b := a.As16()
			return Classify(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	for _, r := range table {
		if r.p.Contains(a) {
			return r.c
		}
	}
	return Public
}

// IsPublic reports whether a is reachable from the public Internet.
func IsPublic(a netip.Addr) bool { return Classify(a) == Public }
