package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Error codes of the JSON API. The values are a public contract: they are listed in the
// OpenAPI document and the README, and TestErrorCodesDocumented keeps the three in step.
const (
	codeBadRequest       = "bad_request"        // a parameter other than the target is malformed
	codeBadTarget        = "bad_target"         // the target is not an address or a domain
	codePrivateAddress   = "private_address"    // every server the target names is on a non-public address
	codeLoginNotAllowed  = "login_not_allowed"  // credentials were sent but --allow-login is off, or sent in a URL
	codeTLSRequired      = "tls_required"       // credentials over plain HTTP
	codeNotFound         = "not_found"          // no such result, page, or usable configuration
	codeMethodNotAllowed = "method_not_allowed" // the path exists, the method does not
	codeTooLarge         = "too_large"          // the request body is over its limit
	codeRateLimited      = "rate_limited"       // this client asked too often
	codeInternal         = "internal"           // a bug or a storage failure
	codeBusy             = "busy"               // --max-concurrent discoveries are running
	codeUnavailable      = "unavailable"        // the service is shutting down
	codeTimeout          = "timeout"            // the discovery did not finish within the request's deadline
)

// errorStatus is the HTTP status of each code.
var errorStatus = map[string]int{
	codeBadRequest:       http.StatusBadRequest,
	codeBadTarget:        http.StatusBadRequest,
	codePrivateAddress:   http.StatusForbidden,
	codeLoginNotAllowed:  http.StatusForbidden,
	codeTLSRequired:      http.StatusForbidden,
	codeNotFound:         http.StatusNotFound,
	codeMethodNotAllowed: http.StatusMethodNotAllowed,
	codeTooLarge:         http.StatusRequestEntityTooLarge,
	codeRateLimited:      http.StatusTooManyRequests,
	codeInternal:         http.StatusInternalServerError,
	codeBusy:             http.StatusServiceUnavailable,
	codeUnavailable:      http.StatusServiceUnavailable,
	codeTimeout:          http.StatusGatewayTimeout,
}

// apiError is an error that knows how the API reports it. RetryAfter, when set, becomes the
// Retry-After header (429, 503, 504), so well-behaved clients back off by themselves.
type apiError struct {
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newError(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// asAPIError turns any error into an apiError; an unknown error is a bug, reported as internal
// without its text, which may name files or addresses that are nobody else's business.
func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return &apiError{Code: codeInternal, Message: "internal error"}
}

// status is the HTTP status of the error's code.
func (e *apiError) status() int {
	if s, ok := errorStatus[e.Code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// writeError writes {"error":{"code":…,"message":…}} with the code's status.
func writeError(w http.ResponseWriter, err error) {
	ae := asAPIError(err)
	if ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", retryAfter(ae.RetryAfter))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(ae.status())
	_ = json.NewEncoder(w).Encode(errorBody(ae))
}

// retryAfter is a Retry-After value: whole seconds, rounded up, at least 1, so that a client
// that waits as told finds the limit lifted (every answer of the service says the same).
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}

type errorJSON struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func errorBody(ae *apiError) errorJSON {
	var b errorJSON
	b.Error.Code, b.Error.Message = ae.Code, ae.Message
	return b
}
