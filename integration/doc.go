// Package integration tests mailscout, the built binary, against real servers and proxies from
// Debian packages, inside a network namespace that .ci/integration.sh creates: only loopback
// exists there, the test world's DNS server answers on 127.0.0.1:53 for every program, and its
// mail and web servers listen on 127.0.1.x and 127.0.2.x at their real ports. Nothing leaves
// the machine.
//
// The tests need the build tag "integration"; `go test ./...` does not see them. They refuse to
// run (and say why) outside the namespace the script prepares: see README.md, "Integration".
package integration
