package testserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
)

// Service is one listening port of a host.
type Service struct {
	Port     int    // the logical (well-known) port clients dial
	Config   Config // the server behind it; Hostname defaults to the host's name
	Filtered bool   // no server: connections hang, as behind a dropping firewall
}

// Host is a named machine with services.
type Host struct {
	Name     string
	Services []Service
}

// WorldSpec declares a network as data, so a scenario reads like a description of it.
type WorldSpec struct {
	Hosts []Host
}

// World runs every server of a spec on loopback behind one Network, with one CA.
type World struct {
	Spec    WorldSpec
	CA      *CA
	Net     *Network
	servers []*Server
}

// StartWorld starts every service of spec. Close stops them all.
func StartWorld(spec WorldSpec) (*World, error) {
	ca, err := NewCA("mailscout Test CA")
	if err != nil {
		return nil, err
	}
	w := &World{Spec: spec, CA: ca, Net: NewNetwork()}
	for _, h := range spec.Hosts {
		for _, svc := range h.Services {
			logical := net.JoinHostPort(h.Name, strconv.Itoa(svc.Port))
			if svc.Filtered {
				w.Net.Filter(logical)
				continue
			}
			cfg := svc.Config
			if cfg.Hostname == "" {
				cfg.Hostname = h.Name
			}
			s, err := Start(cfg, ca)
			if err != nil {
				w.Close()
				return nil, fmt.Errorf("testserver: %s: %w", logical, err)
			}
			w.servers = append(w.servers, s)
			w.Net.Route(logical, s.Addr())
		}
	}
	return w, nil
}

// DialContext dials a logical host:port of the world.
func (w *World) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return w.Net.DialContext(ctx, network, address)
}

// Accepted is the number of connections all servers of the world have accepted.
func (w *World) Accepted() int {
	n := 0
	for _, s := range w.servers {
		n += s.Accepted()
	}
	return n
}

// Close stops every server.
func (w *World) Close() error {
	var errs []error
	for _, s := range w.servers {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}
