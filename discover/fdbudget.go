package discover

import "syscall"

// descriptorBudget splits this process's file descriptor limit between DNS lookups (a UDP or
// TCP socket each; A and AAAA go in parallel) and probes (each may hold two sockets: an
// address race, a legacy-TLS check), keeping some for the rest of the process (autoconfig
// fetches, standard streams, a service's listener and clients). Running out would otherwise
// show up as failures of the network.
func descriptorBudget(concurrency int) (lookups, flights int) {
	soft := 1 << 20
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < 1<<20 {
		soft = int(lim.Cur)
	}
	free := soft - reservedDescriptors
	lookups = min(max(free/8, 4), maxLookups)
	flights = min(max((free-2*lookups)/2, 2), concurrency*4)
	return lookups, flights
}

// reservedDescriptors are kept for everything but lookups and probes.
const reservedDescriptors = 32

// maxLookups bounds the DNS lookups in flight over a whole engine: enough for a batch's
// discoveries to run side by side at any round-trip time.
const maxLookups = 256
