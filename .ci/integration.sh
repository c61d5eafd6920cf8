#!/usr/bin/env bash
# Runs the integration suite (integration/, build tag "integration") against real proxies and,
# as the suite grows, real mail servers, inside a network namespace of its own: only loopback
# exists there, so nothing can leave the machine. Needs root. Safe to run twice: it removes
# what a previous run left. Usage: sudo bash .ci/integration.sh [-test.run REGEXP]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"

if [ "$(id -u)" != 0 ]; then
  echo "integration.sh: needs root (network namespace, ports below 1024, a system user for dante)" >&2
  exit 1
fi
command -v ip >/dev/null || { echo "integration.sh: needs ip (iproute2)" >&2; exit 1; }

# Debian packages, without letting apt start their daemons host-wide.
need=()
for pkg in dante-server microsocks tinyproxy postfix dovecot-imapd dovecot-pop3d nsd nginx-light nftables; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  apt-get update -qq
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Debian's postfix package, installed with "No configuration", leaves no /etc/postfix/main.cf;
# "postfix -c DIR" still reads it. An empty one changes nothing: the tests' instances have their
# own configuration directories.
[ -e /etc/postfix/main.cf ] || printf 'compatibility_level = 3.6\n' > /etc/postfix/main.cf

# A system user for dante's username method (it checks the system password database).
user=mailscout-proxy
password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
echo "$user:$password" | chpasswd

ns=mailscout-it
work=""
cleanup() {
  ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "/etc/netns/$ns"
  [ -z "$work" ] || rm -rf "$work"
}
cleanup # what an earlier run may have left
trap cleanup EXIT

# Build outside the namespace (the module proxy is not reachable from inside).
work=$(mktemp -d)
go build -o "$work/mailscout" .
go test -c -tags integration -o "$work/integration.test" ./integration
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
# Loopback aliases the servers bind to (Postfix insists on addresses an interface really has).
# Connections to them come from 127.0.0.1, not from the alias itself: servers treat a client
# whose address is their own as local and trusted (Dovecot then offers plaintext login before
# STARTTLS), which real clients never are.
for a in 127.0.1.10 127.0.1.11 127.0.2.10 127.0.2.11 127.0.2.12 127.0.2.13 127.0.2.14 127.0.2.15 127.0.2.20 127.0.2.21 127.0.2.22 127.0.2.23 127.0.2.24 127.0.2.30 127.0.2.31; do
  ip netns exec "$ns" ip addr add "$a/32" dev lo
  ip netns exec "$ns" ip route replace local "$a" dev lo table local proto kernel scope host src 127.0.0.1
done
# Inside, the test world's DNS server on 127.0.0.1:53 is every program's resolver.
mkdir -p "/etc/netns/$ns"
echo "nameserver 127.0.0.1" > "/etc/netns/$ns/resolv.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' > "/etc/netns/$ns/hosts"

cd integration # the test binary runs in its package directory, as go test would
ip netns exec "$ns" env MAILSCOUT_BIN="$work/mailscout" MAILSCOUT_IT_NETNS="$ns" \
  MAILSCOUT_IT_HOLD="${MAILSCOUT_IT_HOLD:-}" MAILSCOUT_PROXY_USER="$user" MAILSCOUT_PROXY_PASSWORD="$password" \
  "$work/integration.test" -test.v -test.count=1 -test.timeout=15m "$@"
