// Package serve is `mailscout serve`: discovery as an HTTP service, for three audiences.
//
//   - Programs use the JSON API (/v1/discover, /v1/discover/stream, /v1/probe,
//     /v1/results/{id}), documented by the OpenAPI document at /v1/openapi.json. Its bodies are
//     the CLI's JSON contracts, unchanged, so a script can move from `mailscout discover --json`
//     to the service without a new parser.
//   - Mail clients set themselves up from the service: Mozilla autoconfig, Microsoft
//     Autodiscover (POX) and Apple configuration profiles, rendered by package clientconfig
//     from a verified discovery.
//   - A helpdesk uses the page at /: live progress, the diagnosis, the settings to read to a
//     customer, every failure with its reason, a permalink and what changed since the last check.
//
// All three share one discover.Engine (DNS answers, per-endpoint probe results and per-address
// politeness are shared across every discovery) and, in front of it, one cache and one set of
// in-flight discoveries keyed by (target, fast, protocols), so a hundred requests for one domain
// cost one discovery. Results are kept in SQLite for permalinks and history, bounded per domain
// and in all (store.go); a permalink shows other targets of its domain only as time and status.
//
// The service is meant to face strangers, so by default it refuses to point its probes at
// anything but the public Internet (see ssrf.go), bounds what each client and the whole
// service may ask for (ratelimit.go, discoverer.go), never accepts a password except in a POST
// body over TLS, and renders every byte a server sent as text under a strict
// Content-Security-Policy.
package serve
