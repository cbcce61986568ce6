package daemontest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Decisions are the kept decisions of a scaler, newest first, from the
// decisions API; a limit of 0 leaves the API's default.
func (p *Process) Decisions(scaler string, limit int) ([]scaling.Decision, error) {
	q := url.Values{"scaler": {scaler}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	resp, err := http.Get("http://" + p.Addr + "/api/v1/decisions?" + q.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Decisions []scaling.Decision `json:"decisions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("decoding decisions of %s: %w", scaler, err)
	}
	return body.Decisions, nil
}

// Scalers are the scalers the decisions API keeps decisions of.
func (p *Process) Scalers() ([]string, error) {
	resp, err := http.Get("http://" + p.Addr + "/api/v1/decisions")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Scalers []string `json:"scalers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("decoding the scalers: %w", err)
	}
	return body.Scalers, nil
}
