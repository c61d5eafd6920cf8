package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/idna"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/internal/report"
	"github.com/mailscout/mailscout/probe"
)

// apiProbe is GET /v1/probe: one endpoint in every mode that makes sense for its port (or the
// one asked), the probe --json contract. The host is resolved here, with the service's
// resolver, and only its public addresses are probed (see ssrf.go), at most two of each family.
// The probes run on the engine (discover.Engine.Probe), under the same politeness as every
// discovery: --per-ip sessions per address, --connect-rate, --concurrency, and sharing results
// with discoveries.
func (s *Server) apiProbe(w http.ResponseWriter, r *http.Request) {
	if err := s.admit(r); err != nil {
		writeError(w, err)
		return
	}
	q := r.URL.Query()
	targets, err := probeTargets(q.Get("endpoint"), q.Get("protocol"), q.Get("security"))
	if err != nil {
		writeError(w, err)
		return
	}
	transcript, err := boolParam(q, "transcript")
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	host := targets[0].Host
	addrs, lookupErr := s.resolve(ctx, host)
	if lookupErr != nil {
		results := make([]probe.Result, len(targets))
		for i, t := range targets {
			results[i] = dnsFailure(t, &s.cfg.Engine.Probe, lookupErr)
		}
		writeProbeResults(w, results)
		return
	}
	allowed, _, class := publicAddrs(addrs, s.cfg.AllowPrivate)
	if len(allowed) == 0 {
		// The address itself stays out of the answer: strangers must not learn what the
		// service's resolver says about internal names.
		writeError(w, newError(codePrivateAddress, "%s resolves to a %s address, not on the public Internet: this service does not probe it", host, class))
		return
	}
	client := s.client(r)
	if err := s.disc.admit(client); err != nil {
		writeError(w, err)
		return
	}
	defer s.disc.release(client)
	for i := range targets {
		targets[i].Addrs = allowed
	}
	results := s.engine.Probe(ctx, targets...)
	if !transcript { // the engine keeps dialogues for the page; the CLI leaves them out unless asked
		for i := range results {
			results[i].Transcript = nil
		}
	}
	writeProbeResults(w, results)
}

func writeProbeResults(w http.ResponseWriter, results []probe.Result) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = report.ProbeJSON(w, results)
}

// resolve returns the host's addresses: the literal itself, or what the service's resolver says.
func (s *Server) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	ans, err := s.cfg.Engine.Resolver.LookupAddr(ctx, host)
	if err != nil {
		return nil, err
	}
	if len(ans.Records) == 0 {
		return nil, fmt.Errorf("DNS A/AAAA %s: no address", host)
	}
	return ans.Records, nil
}

// dnsFailure is the result probe.Run gives for a host that does not resolve, made here because
// the lookup was the service's own.
func dnsFailure(t probe.Target, opts *probe.Options, err error) probe.Result {
	msg := err.Error()
	if errors.Is(err, discover.ErrNXDomain) {
		msg = fmt.Sprintf("connect: %s does not exist (NXDOMAIN)", t.Host)
	}
	return probe.Result{
		Protocol: t.Protocol, Host: t.Host, Port: t.Port, Security: t.Security, Proxy: probe.ProxyURL(opts.Dial),
		ErrorKind: probe.KindDNS, Error: msg,
		Capabilities: []string{}, AuthMethods: []string{}, AuthMethodsPlaintext: []string{}, Warnings: []probe.Warning{},
		Timeouts: probe.Timeouts{Connect: opts.ConnectTimeout, Greeting: opts.GreetingTimeout, Operation: opts.OperationTimeout, Deadline: opts.Deadline},
	}
}

// standardPorts are probed for an endpoint without a port, as the CLI's probe does: implicit
// TLS first (RFC 8314), then STARTTLS; SMTP's relay port 25 is not a client's port.
var standardPorts = map[probe.Protocol][]int{
	probe.SMTP: {465, 587},
	probe.IMAP: {993, 143},
	probe.POP3: {995, 110},
}

// probeTargets expands HOST[:PORT] with the protocol and security parameters, inferring what
// is missing from the port as `mailscout probe` does (probe.ProtocolForPort, probe.ModesForPort).
func probeTargets(endpoint, protoParam, secParam string) ([]probe.Target, error) {
	if endpoint == "" {
		return nil, newError(codeBadTarget, "endpoint is missing: give HOST:PORT, e.g. imap.example.com:993")
	}
	host, portStr, err := net.SplitHostPort(endpoint)
	if err != nil {
		host, portStr = strings.Trim(endpoint, "[]"), ""
	}
	host, err = endpointHost(host)
	if err != nil {
		return nil, err
	}
	var proto probe.Protocol
	if protoParam != "" {
		if proto, err = probe.ParseProtocol(protoParam); err != nil {
			return nil, newError(codeBadRequest, "protocol: %v", err)
		}
	}
	var modes []probe.Security
	if secParam != "" {
		m, err := probe.ParseSecurity(secParam)
		if err != nil {
			return nil, newError(codeBadRequest, "security: %v", err)
		}
		modes = []probe.Security{m}
	}
	var out []probe.Target
	add := func(p probe.Protocol, port int) {
		ms := modes
		if ms == nil {
			ms = probe.ModesForPort(port)
		}
		for _, m := range ms {
			out = append(out, probe.Target{Protocol: p, Host: host, Port: port, Security: m})
		}
	}
	if portStr != "" {
		port, err := strconv.Atoi(portStr)
		if err != nil || port < 1 || port > 65535 {
			return nil, newError(codeBadTarget, "port %q is not a number from 1 to 65535", portStr)
		}
		if proto == "" {
			p, ok := probe.ProtocolForPort(port)
			if !ok {
				return nil, newError(codeBadRequest, "port %d is not a well-known mail port: add protocol=smtp, imap or pop3", port)
			}
			proto = p
		}
		add(proto, port)
		return out, nil
	}
	for _, p := range []probe.Protocol{probe.SMTP, probe.IMAP, probe.POP3} {
		if proto == "" || proto == p {
			for _, port := range standardPorts[p] {
				add(p, port)
			}
		}
	}
	return out, nil
}

// endpointHost accepts an IP address or a host name (IDNs become punycode) and nothing else:
// the name goes into SNI, EHLO checks and the report.
func endpointHost(h string) (string, error) {
	if ip, err := netip.ParseAddr(h); err == nil {
		if ip.Zone() != "" {
			return "", newError(codeBadTarget, "%q: an address with a zone is not a mail server", h)
		}
		return ip.String(), nil
	}
	a, err := idna.Lookup.ToASCII(strings.TrimSuffix(h, "."))
	if err != nil || a == "" || len(a) > 253 {
		return "", newError(codeBadTarget, "%q is not a host name or an IP address", h)
	}
	// As in discover.ParseTarget: x/net/idna maps some inputs (invalid UTF-8, for one) to an
	// ASCII form it refuses itself; only a name valid in its ASCII form is a host name.
	if again, err := idna.Lookup.ToASCII(a); err != nil || again != a {
		return "", newError(codeBadTarget, "%q is not a host name or an IP address", h)
	}
	for _, c := range a {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", newError(codeBadTarget, "%q is not a host name or an IP address", h)
		}
	}
	for _, label := range strings.Split(a, ".") {
		if label == "" || len(label) > 63 { // "..", "a..b", ".a": no host name has an empty label
			return "", newError(codeBadTarget, "%q is not a host name or an IP address", h)
		}
	}
	return strings.ToLower(a), nil
}
