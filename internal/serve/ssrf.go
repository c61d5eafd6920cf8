package serve

import (
	"net/netip"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/internal/netaddr"
	"github.com/mailscout/mailscout/probe"
)

// The SSRF guard. A service that probes whatever a stranger names must not become a way into
// the network it runs in: a domain whose MX points at 10.0.0.5, an autoconfig file that
// redirects to 169.254.169.254, a /v1/probe of 127.0.0.1:25. The rules, all lifted by
// Config.AllowPrivate:
//
//   - a target that is an IP address rather than a domain is refused (private_address when
//     the address is not public, bad_target otherwise: an address is not a mail domain);
//   - discoveries run with discover.PrivateRefuse: the engine never connects to, nor fetches
//     autoconfig from or through a redirect to, a non-public address, whatever named it;
//   - a discovery in which every server that was looked at turned out to be non-public
//     answers private_address (privateOnly) instead of a report of refusals;
//   - /v1/probe resolves the host itself, refuses when no address is public, and hands the
//     probe only the public addresses, so DNS cannot answer differently the second time
//     (rebinding).
//
// "Public" is netaddr.Classify's: everything but loopback, private, link-local, shared (CGNAT),
// documentation, unspecified, multicast and reserved ranges, IPv4 embedded in IPv6 included.

// checkTargetDomain refuses a target whose domain is an IP address.
func checkTargetDomain(domain string, allowPrivate bool) error {
	ip, err := netip.ParseAddr(domain)
	if err != nil {
		return nil
	}
	if c := netaddr.Classify(ip); c != netaddr.Public && !allowPrivate {
		return newError(codePrivateAddress, "%s is a %s address, not on the public Internet: this service does not probe it", ip, c)
	}
	return newError(codeBadTarget, "%s is an IP address, not a mail domain: give an address or a domain, or use /v1/probe for one server", ip)
}

// privateOnly reports a discovery whose only servers were refused as non-public: no server
// answered or failed for any other reason. Lookups that found nothing (dns) and probes that
// were canceled say nothing either way.
func privateOnly(rep *discover.Report) bool {
	refused := false
	for _, p := range rep.Probes {
		switch {
		case p.OK:
			return false
		case p.ErrorKind == probe.KindNotAllowed:
			refused = true
		case p.ErrorKind == probe.KindDNS, p.ErrorKind == probe.KindCanceled:
		default:
			return false
		}
	}
	return refused
}

// publicAddrs splits addresses into those the policy allows and the first refused one.
func publicAddrs(addrs []netip.Addr, allowPrivate bool) (ok []netip.Addr, refused netip.Addr, class netaddr.Class) {
	for _, a := range addrs {
		c := netaddr.Classify(a)
		if c == netaddr.Public || allowPrivate {
			ok = append(ok, a)
		} else if !refused.IsValid() {
			refused, class = a, c
		}
	}
	return ok, refused, class
}
