package sources

import (
	"net/http"

	"github.com/prometheus/sigv4"
)

// sigV4RoundTripper signs requests as Prometheus' remote write does
// (github.com/prometheus/sigv4): service "aps" unless the block names
// another, credentials from the block or the AWS default chain, found once
// here so that a config without them fails at load, not at every query.
//
// The Idempotency-Key marker (see Prometheus.send) is a header the
// transport never sends: signed, it would name a header the server does not
// receive, and the signature would not match. It is taken off before
// signing and put back on the signed request.
func sigV4RoundTripper(cfg *sigv4.SigV4Config, next http.RoundTripper) (http.RoundTripper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if next == nil {
		next = http.DefaultTransport
	}
	signer, err := sigv4.NewSigV4RoundTripper(cfg, idempotencyMarker{next: next, set: true})
	if err != nil {
		return nil, err
	}
	return idempotencyMarker{next: signer}, nil
}

// idempotencyMarker sets (set) or removes the Idempotency-Key marker on
// the request it passes on.
type idempotencyMarker struct {
	next http.RoundTripper
	set  bool
}

func (m idempotencyMarker) RoundTrip(req *http.Request) (*http.Response, error) {
	_, has := req.Header["Idempotency-Key"]
	if has == m.set {
		return m.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	if m.set {
		r.Header["Idempotency-Key"] = nil
	} else {
		delete(r.Header, "Idempotency-Key")
	}
	return m.next.RoundTrip(r)
}
