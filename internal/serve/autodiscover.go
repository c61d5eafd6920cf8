package serve

import (
	"bytes"
	"errors"
	"net/http"
	"time"

	"github.com/mailscout/mailscout/clientconfig"
)

// autodiscover is POST /autodiscover/autodiscover.xml (any capitalisation): Microsoft's POX
// Autodiscover with the Outlook request schema, answered in the 2006a response schema with an
// IMAP, a POP3 and an SMTP Protocol element where each is usable. Everything this endpoint
// says is an Autodiscover document, errors included, because that is all an Autodiscover
// client reads. Outlook parses an error document only from a 200 answer (anything else is a
// failed endpoint, and it moves on), so every answer about the request or the domain comes with
// HTTP 200, as Exchange sends it: ErrorCode 600 (the request cannot be read, or is a GET), 601
// (a schema other than Outlook's), 500 (a domain the service does not answer for) and 501
// (incoming or outgoing mail has no usable server, the Message says which: a client cannot set
// up an account with one alone; or every server of the domain is non-public). Only the
// service's own refusals (rate limit, busy, timeout, shutdown) keep their HTTP status, with
// Retry-After and ErrorCode 603: Outlook moves on, and asks again later.
func (s *Server) autodiscover(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
	case http.MethodGet, http.MethodHead:
		// Exchange answers a GET (a person or a connectivity test opening the URL) with this.
		writeAutodiscoverError(w, http.StatusOK, clientconfig.AutodiscoverInvalidRequest, "Invalid Request: POST an Autodiscover request", 0)
		return
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		writeAutodiscoverError(w, http.StatusMethodNotAllowed, clientconfig.AutodiscoverInvalidRequest, "Invalid Request: "+r.Method+" is not allowed; POST an Autodiscover request", 0)
		return
	}
	if err := s.admit(r); err != nil {
		s.autodiscoverFailure(w, err)
		return
	}
	req, err := clientconfig.ParseAutodiscoverRequest(http.MaxBytesReader(w, r.Body, clientconfig.MaxAutodiscoverRequest+1))
	if err != nil {
		status := http.StatusOK
		var tooLarge *http.MaxBytesError
		if errors.Is(err, clientconfig.ErrRequestTooLarge) || errors.As(err, &tooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		writeAutodiscoverError(w, status, clientconfig.AutodiscoverErrorCode(err), err.Error(), 0)
		return
	}
	t, hasAddr, err := s.parseAddress(req.EMailAddress)
	if err != nil || !hasAddr {
		writeAutodiscoverError(w, http.StatusOK, clientconfig.AutodiscoverInvalidRequest, "Invalid Request: EMailAddress is not an e-mail address", 0)
		return
	}
	domain := s.clientDomain(t, true, r, "autodiscover.")
	if domain == "" {
		writeAutodiscoverError(w, http.StatusOK, clientconfig.AutodiscoverAddressNotFound, "The email address cannot be found.", 0)
		return
	}
	acct, err := s.clientAccount(r.Context(), r, domain)
	if err != nil {
		s.autodiscoverFailure(w, err)
		return
	}
	acct.Email = t.Address
	var buf bytes.Buffer
	if err := clientconfig.WriteAutodiscover(&buf, acct.Account); err != nil {
		if errors.Is(err, clientconfig.ErrNothingUsable) {
			// Not the usable half: Outlook and Thunderbird set up an account only with both an
			// incoming and an outgoing server, so the message says which one has nothing usable.
			writeAutodiscoverError(w, http.StatusOK, clientconfig.AutodiscoverNoConfiguration, "No verified configuration for "+domain+": "+unusable(acct)+".", 0)
			return
		}
		s.log.Error("client document", "domain", domain, "err", scrubAddress(err.Error(), t.Address))
		writeAutodiscoverError(w, http.StatusInternalServerError, clientconfig.AutodiscoverInternalError, "The Autodiscover server threw an internal error.", 0)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// autodiscoverFailure answers one of the service's own errors as an Autodiscover document. A
// domain whose servers are all non-public is a domain with nothing usable (501, HTTP 200);
// the rest are the service's refusals (603, with their HTTP status and Retry-After).
func (s *Server) autodiscoverFailure(w http.ResponseWriter, err error) {
	ae := asAPIError(err)
	if ae.Code == codePrivateAddress {
		writeAutodiscoverError(w, http.StatusOK, clientconfig.AutodiscoverNoConfiguration, ae.Code+": "+ae.Message, 0)
		return
	}
	writeAutodiscoverError(w, ae.status(), clientconfig.AutodiscoverInternalError, ae.Code+": "+ae.Message, ae.RetryAfter)
}

func writeAutodiscoverError(w http.ResponseWriter, status, code int, message string, retry time.Duration) {
	var buf bytes.Buffer
	if err := clientconfig.WriteAutodiscoverError(&buf, code, message); err != nil {
		writeError(w, newError(codeInternal, "encoding the Autodiscover error failed"))
		return
	}
	if retry > 0 {
		w.Header().Set("Retry-After", retryAfter(retry))
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
