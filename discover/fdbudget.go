package discover

import "syscall"

// descriptorBudget is how many probes may run at once, stalled ones included, given this
// process's file descriptor limit: each probe may hold two sockets (an address race, a
// legacy-TLS check), and DNS lookups, autoconfig fetches and the rest of the process need some
// too. Running out would otherwise show up as failures of the network.
func descriptorBudget(concurrency int) int {
	budget := concurrency * 4
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < 1<<20 {
		budget = min(budget, (int(lim.Cur)-reservedDescriptors)/2)
	}
	return max(budget, 2)
}

// reservedDescriptors are kept for everything but probes: DNS lookups (at most 2×maxLookups),
// autoconfig fetches, standard streams, a service's listeners and clients.
const reservedDescriptors = 2*maxLookups + 32
