// Package health is --health-check: parsing a CHECK (an http:// or https:// URL, or
// tcp://HOST:PORT) and probing it once, with what the probe saw said in a few words.
package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Check is a parsed --health-check.
type Check struct {
	url  *url.URL // http, https
	addr string   // tcp: host:port
}

// ProbeTimeout bounds one probe: a command that accepts and never answers fails it.
const ProbeTimeout = 2 * time.Second

// Parse reads CHECK. Errors name what is wrong, never more than the input's scheme and
// shape (a URL may hold a token: it is not echoed).
func Parse(s string) (*Check, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return nil, errors.New("a health check is http://HOST[:PORT]/PATH, https://... or tcp://HOST:PORT")
	}
	switch scheme {
	case "http", "https":
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.User != nil {
			return nil, fmt.Errorf("a health check %s:// URL needs a host and no user info", scheme)
		}
		return &Check{url: u}, nil
	case "tcp":
		host, port, err := net.SplitHostPort(rest)
		if err != nil || port == "" || strings.ContainsAny(rest, "/?#@") {
			return nil, errors.New("a tcp:// health check is tcp://HOST:PORT")
		}
		return &Check{addr: net.JoinHostPort(host, port)}, nil
	}
	return nil, fmt.Errorf("a health check is http://, https:// or tcp://, not %q", scheme+"://")
}

// TCPPort is the port of a tcp:// check, and whether it is one (a nil Check is none).
func (c *Check) TCPPort() (string, bool) {
	if c == nil || c.addr == "" {
		return "", false
	}
	_, port, _ := net.SplitHostPort(c.addr)
	return port, true
}

// String is the check as given, without its query (which may hold a token).
func (c *Check) String() string {
	if c.url != nil {
		u := *c.url
		u.RawQuery, u.Fragment = "", ""
		return u.String()
	}
	return "tcp://" + c.addr
}

var client = &http.Client{
	// A redirect is an answer, as curl -f without -L counts it: 3xx passes.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport: &http.Transport{
		Proxy:             nil, // a check of this host, never through HTTP_PROXY
		DisableKeepAlives: true,
	},
}

// Probe checks once: an HTTP answer 2xx or 3xx, or a TCP connection accepted. The error
// says what was seen ("HTTP 503", "connection refused"), never a body.
func (c *Check) Probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	// The caller's deadline may be the nearer one (a probe with the old command paused).
	within := ProbeTimeout
	if dl, ok := ctx.Deadline(); ok {
		within = time.Until(dl).Round(10 * time.Millisecond)
	}
	if c.url == nil {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return brief(err, within)
		}
		return conn.Close()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "secretexec-health-check")
	resp, err := client.Do(req)
	if err != nil {
		return brief(err, within)
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// brief is a network error without the URL (which may hold a token in its query); a
// deadline says how long the probe had.
func brief(err error, within time.Duration) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no answer within %s", within)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
