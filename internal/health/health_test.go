package health

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" for an error
	}{
		{"http://127.0.0.1:8000/health", "http://127.0.0.1:8000/health"},
		{"https://api.example.com/docs/?token=abc", "https://api.example.com/docs/"},
		{"tcp://127.0.0.1:5432", "tcp://127.0.0.1:5432"},
		{"tcp://[::1]:80", "tcp://[::1]:80"},
		{"tcp://host", ""},
		{"tcp://host:80/x", ""},
		{"ftp://host/", ""},
		{"127.0.0.1:80", ""},
		{"http:///path", ""},
		{"http://user:pw@host/", ""},
	} {
		c, err := Parse(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%q: no error", tc.in)
		case tc.want != "" && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case tc.want != "" && c.String() != tc.want:
			t.Errorf("%q: %q, want %q", tc.in, c.String(), tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("%q: the error echoes the input: %v", tc.in, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"http://h/", "tcp://h:1", "https://[::1]:8/x?y", "tcp://:", "http://", "x://y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err == nil && c.String() == "" {
			t.Errorf("%q: parsed to nothing", s)
		}
	})
}

// TestProbe: 2xx and 3xx pass (a redirect is not followed), 4xx and 5xx fail with the
// status; a TCP listener passes, a closed port fails.
func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
		case "/moved":
			http.Redirect(w, r, "/broken", http.StatusFound)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	for path, want := range map[string]string{"/ok": "", "/moved": "", "/broken": "HTTP 503"} {
		c, err := Parse(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Probe(ctx)
		if (want == "" && err != nil) || (want != "" && (err == nil || err.Error() != want)) {
			t.Errorf("%s: %v, want %q", path, err, want)
		}
	}
	c, _ := Parse("tcp://" + srv.Listener.Addr().String())
	if err := c.Probe(ctx); err != nil {
		t.Errorf("tcp: %v", err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	c, _ = Parse("tcp://" + addr)
	if err := c.Probe(ctx); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("closed port: %v", err)
	}
}

// TestProbeTimeoutSaysTheDeadline: a probe cut short by the caller's deadline (a probe
// with the old command paused has 500ms) says that deadline, not ProbeTimeout.
func TestProbeTimeoutSaysTheDeadline(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer srv.Close()
	defer close(hang)
	c, err := Parse(srv.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := c.Probe(ctx); err == nil || err.Error() != "no answer within 300ms" {
		t.Errorf("%v, want \"no answer within 300ms\"", err)
	}
}
