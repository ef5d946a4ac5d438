package awstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/sivchari/kumo"
)

// kumoSlot is held by the one running Server: kumo's storage is process-wide.
var kumoSlot = make(chan struct{}, 1)

// maxBody bounds what the proxy reads of a request; AWS's own limits are far below it.
const maxBody = 8 << 20

// Server is kumo plus the fault-injecting proxy in front of it.
type Server struct {
	// URL is the proxy's base URL ("http://127.0.0.1:PORT"): what clients under test use.
	URL string
	// EmulatorURL is kumo's own URL, bypassing the proxy (no counting, no faults).
	EmulatorURL string

	kumo    *kumo.Server
	ln      net.Listener
	httpSrv *http.Server
	fwd     *http.Client    // proxy -> kumo
	tr      *http.Transport // shared by fwd and the seeding clients
	ssm     *ssm.Client     // seeding, straight to kumo
	sm      *secretsmanager.Client

	closing   chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	handlers sync.WaitGroup
	closed   bool
	calls    map[string]int
	log      []*Call
	faults   []*faultState
	latency  time.Duration
	bucket   *tokenBucket
	clock    func() time.Time            // see WithClock; nil: time.Now
	history  map[string][]paramVersion   // parameter name -> versions seeded through the helper
	labels   map[string]map[string]int64 // parameter name -> label -> version
	previous map[string]string           // secret name -> the version id that is AWSPREVIOUS
	// describePaging shapes DescribeParameters pages (SetDescribePaging).
	describePaging DescribePaging
	// STS (sts.go): the assumable roles, the keys AssumeRole handed out, its calls.
	roles     map[string]AssumableRole
	assumed   map[string]assumedCred
	assumeLog []AssumeRoleCall
}

// Call is one request that reached the proxy.
type Call struct {
	Action string    // "GetParametersByPath", "GetSecretValue", ...
	Start  time.Time // when the proxy received it
	End    time.Time // when the proxy finished answering; zero while in flight
	// Region is the region the request was signed for (the SigV4 credential scope). kumo
	// keeps one store whatever the region, so this is how a test sees where a request
	// would have gone in AWS.
	Region string
	// UserAgent is the request's User-Agent, which CloudTrail records.
	UserAgent string
	// AccessKeyID is the access key id the request was signed with (the SigV4 credential
	// scope's): the test credentials' AccessKeyID, or one AssumeRole handed out.
	AccessKeyID string
}

// Option configures Start.
type Option func(*Server)

// WithLatency sets the added latency per request (see SetLatency).
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency = d } }

// WithRateLimit sets a token bucket in front of every action (see SetRateLimit).
func WithRateLimit(rps float64, burst int) Option {
	return func(s *Server) { s.bucket = newTokenBucket(rps, burst) }
}

// WithFaults adds faults from the start (see AddFault).
func WithFaults(fs ...Fault) Option {
	return func(s *Server) {
		for _, f := range fs {
			s.faults = append(s.faults, newFaultState(f))
		}
	}
}

// WithClock sets the server's clock: what the SigV4 check compares X-Amz-Date with (AWS refuses
// a signature more than 5 minutes from its time) and what the Date header of every answer says
// (what clients correct their clock skew from). A test moves it to make a client's clock look
// wrong without sleeping or changing the client. The default is time.Now.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.clock = now } }

// Start starts kumo and the proxy, both on 127.0.0.1 with random ports. It waits until any
// other Server of this process is closed (kumo's state is process-wide) and then deletes the
// parameters and secrets left in kumo, so each Server starts empty.
func Start(opts ...Option) (*Server, error) {
	kumoSlot <- struct{}{}
	s, err := start(opts)
	if err != nil {
		<-kumoSlot
		return nil, err
	}
	return s, nil
}

func start(opts []Option) (*Server, error) {
	s := &Server{
		closing:  make(chan struct{}),
		calls:    map[string]int{},
		history:  map[string][]paramVersion{},
		labels:   map[string]map[string]int64{},
		previous: map[string]string{},
	}
	for _, o := range opts {
		o(s)
	}
	s.kumo = kumo.NewServer()
	s.EmulatorURL = s.kumo.URL
	s.tr = &http.Transport{
		Proxy:               nil, // never an HTTP(S)_PROXY from the environment: 127.0.0.1 only
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	s.fwd = &http.Client{Transport: serialSecrets{s.tr}}
	cfg := isolatedConfig(s.EmulatorURL, serialSecrets{s.tr})
	s.ssm = ssm.NewFromConfig(cfg)
	s.sm = secretsmanager.NewFromConfig(cfg)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.wipe(ctx); err != nil {
		s.kumo.Close()
		s.tr.CloseIdleConnections()
		return nil, fmt.Errorf("awstest: clearing emulator state: %w", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.kumo.Close()
		s.tr.CloseIdleConnections()
		return nil, fmt.Errorf("awstest: %w", err)
	}
	s.ln = ln
	s.URL = "http://" + ln.Addr().String()
	s.httpSrv = &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.httpSrv.Serve(ln) }()
	return s, nil
}

// New starts a Server for a test and closes it when the test ends. It fails the test if the
// server cannot start.
func New(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := Start(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Close stops the proxy and kumo. Requests held by Hang or Slow faults end at once. When it
// returns, no goroutine of the proxy is left. Close may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		_ = s.httpSrv.Close()
		s.handlers.Wait()
		s.kumo.Close()
		s.tr.CloseIdleConnections()
		<-kumoSlot
	})
}

// Config returns an isolated SDK config aimed at the proxy: the static test credentials,
// region us-east-1, no shared config files, no environment. Tests change what they need,
// e.g. RetryMaxAttempts.
func (s *Server) Config() aws.Config {
	return isolatedConfig(s.URL, &http.Transport{Proxy: nil})
}

// Env is the whole AWS environment of a process under test that talks to endpoint, the
// counterpart of Config for a child process: the static test credentials, region
// us-east-1, shared config and credentials files that do not exist (below dir) and no
// instance metadata. Callers add PATH, HOME and whatever else the process needs.
func Env(endpoint, dir string) []string {
	return []string{
		"AWS_ENDPOINT_URL=" + endpoint,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, ".aws-none", "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, ".aws-none", "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Env is Env(s.URL, dir): the environment of a process under test that talks to the proxy.
func (s *Server) Env(dir string) []string { return Env(s.URL, dir) }

// Calls returns how many requests for action reached the proxy since the start or the last
// ResetCalls; "*" counts all of them.
func (s *Server) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if action == "*" {
		return len(s.log)
	}
	return s.calls[action]
}

// TotalCalls returns how many requests reached the proxy since the start or ResetCalls.
func (s *Server) TotalCalls() int { return s.Calls("*") }

// ResetCalls forgets the counts and the request log.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.log = nil
}

// Requests returns a copy of the request log in arrival order.
func (s *Server) Requests() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.log))
	for i, c := range s.log {
		out[i] = *c
	}
	return out
}

// MaxInFlight returns the largest number of logged requests that were being answered at the
// same time: what a test of concurrency limits asserts.
func (s *Server) MaxInFlight() int {
	type edge struct {
		t     time.Time
		delta int
	}
	var edges []edge
	now := time.Now()
	for _, c := range s.Requests() {
		end := c.End
		if end.IsZero() {
			end = now
		}
		edges = append(edges, edge{c.Start, +1}, edge{end, -1})
	}
	// Ends sort before starts at the same instant, so back-to-back calls do not overlap.
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.t.Compare(b.t); c != 0 {
			return c
		}
		return a.delta - b.delta
	})
	n, max := 0, 0
	for _, e := range edges {
		n += e.delta
		if n > max {
			max = n
		}
	}
	return max
}

// SetLatency adds d before every request is answered (0 turns it off).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetRateLimit puts a token bucket of burst tokens, refilled at rps per second, in front of
// every action; a request that finds it empty gets ThrottlingException "Rate exceeded".
// rps <= 0 turns it off. The bucket starts full.
func (s *Server) SetRateLimit(rps float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bucket = newTokenBucket(rps, burst)
}

// signedKey is the access key id of a SigV4 Authorization header's credential scope, or "".
func signedKey(auth string) string {
	a, _, err := parseAuthorization(auth)
	if scope := a.scope(); err == nil && len(scope) == 5 {
		return scope[0]
	}
	return ""
}

// signedRegion is the region of a SigV4 Authorization header's credential scope
// (Credential=AKID/DATE/REGION/SERVICE/aws4_request), or "".
func signedRegion(auth string) string {
	a, _, err := parseAuthorization(auth)
	if scope := a.scope(); err == nil && len(scope) == 5 {
		return scope[2]
	}
	return ""
}

// request is what the proxy knows of one call.
type request struct {
	service string // "ssm" or "secretsmanager" ("" if unknown)
	action  string
	region  string // the credential scope's: where the request would have gone in AWS
	body    []byte
	http    *http.Request
}

// now is the server's time (see WithClock).
func (s *Server) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.handlers.Add(1)
	return true
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		writeAPIError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "Service Unavailable")
		return
	}
	defer s.handlers.Done()
	// Every answer carries the server's time, as AWS's do.
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))

	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return
	}
	req := &request{body: body, http: r}
	req.service, req.action = splitTarget(r.Header.Get("X-Amz-Target"))
	form, isSTS := stsForm(r, body)
	if isSTS {
		req.service, req.action = "sts", form.Get("Action")
	}
	req.region = signedRegion(r.Header.Get("Authorization"))
	akid := signedKey(r.Header.Get("Authorization"))

	call := &Call{Action: req.action, Start: time.Now(), Region: req.region, UserAgent: r.Header.Get("User-Agent"), AccessKeyID: akid}
	s.mu.Lock()
	s.calls[req.action]++
	s.log = append(s.log, call)
	latency, bucket := s.latency, s.bucket
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		call.End = time.Now()
		s.mu.Unlock()
	}()

	if !s.sleep(r.Context(), latency) {
		resetConn(w)
		return
	}
	// AWS authenticates a request before anything else looks at it. The scope's service must be
	// the one the target names (AWS knows it from the endpoint); other targets go to kumo as
	// they are, checked for all but the service.
	scoped := req.service
	if scoped != "ssm" && scoped != "secretsmanager" && scoped != "sts" {
		scoped = ""
	}
	creds, expired := s.credentials(akid)
	if expired {
		e := &authError{"ExpiredTokenException", "The security token included in the request is expired"}
		if isSTS {
			e.code = "ExpiredToken"
			writeSTSError(w, http.StatusBadRequest, e.code, e.message)
		} else {
			writeAPIError(w, http.StatusBadRequest, e.code, e.message)
		}
		return
	}
	if e := verifySigV4(r, body, scoped, s.now(), creds); e != nil {
		if isSTS {
			writeSTSError(w, http.StatusBadRequest, e.code, e.message)
		} else {
			writeAPIError(w, http.StatusBadRequest, e.code, e.message)
		}
		return
	}
	if bucket != nil && !bucket.take(time.Now()) {
		writeAPIError(w, http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
		return
	}
	if f, ok := s.takeFault(req.action, false); ok {
		if done := s.applyFault(w, req, f); done {
			return
		}
	}
	if isSTS {
		if req.action != "AssumeRole" {
			writeSTSError(w, http.StatusBadRequest, "InvalidAction", "awstest answers AssumeRole only")
			return
		}
		s.assumeRole(w, form, akid)
		return
	}
	if status, code, msg, bad := validate(req); bad {
		writeAPIError(w, status, code, msg)
		return
	}

	var resp *response
	switch {
	case req.service == "ssm" && req.action == "GetParameters":
		resp, err = s.getParameters(r.Context(), req)
	case req.service == "ssm" && req.action == "DescribeParameters":
		resp, err = s.describeParameters(r.Context(), req)
	case req.service == "secretsmanager" && req.action == "GetSecretValue":
		resp, err = s.getSecretValue(r.Context(), req)
	case req.service == "ssm" && req.action == "GetParametersByPath":
		resp, err = s.forward(r.Context(), req)
		var in struct{ WithDecryption bool }
		_ = json.Unmarshal(body, &in)
		if err == nil && resp.status == http.StatusOK && !in.WithDecryption {
			resp.body = maskSecure(resp.body)
		}
	default:
		resp, err = s.forward(r.Context(), req)
	}
	if err != nil {
		if r.Context().Err() == nil {
			writeAPIError(w, http.StatusInternalServerError, "InternalServerError", "awstest: "+err.Error())
		}
		return
	}
	if s.kmsFault(w, req, resp) {
		return
	}
	// kumo answers Secrets Manager's ResourceNotFoundException with 404; AWS uses 400.
	if req.service == "secretsmanager" && resp.status == http.StatusNotFound {
		resp.status = http.StatusBadRequest
	}
	resp.write(w)
}

// response is a buffered answer, so that a fault can look at it before it is sent.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) write(w http.ResponseWriter) {
	for k, v := range r.header {
		if strings.EqualFold(k, "Content-Length") || strings.EqualFold(k, "Date") {
			continue // Date: the proxy's own (see WithClock)
		}
		w.Header()[k] = v
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}

// forward sends the request to kumo unchanged and buffers the answer.
func (s *Server) forward(ctx context.Context, req *request) (*response, error) {
	return s.post(ctx, req.http.Header, req.body)
}

// post sends a JSON 1.1 request to kumo with the given headers (X-Amz-Target among them).
func (s *Server) post(ctx context.Context, h http.Header, body []byte) (*response, error) {

	out, err := http.NewRequestWithContext(ctx, http.MethodPost, s.EmulatorURL+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		switch strings.ToLower(k) {
		case "content-length", "connection", "accept-encoding", "host":
			continue
		}
		out.Header[k] = v
	}
	res, err := s.fwd.Do(out)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return nil, err
	}
	return &response{status: res.StatusCode, header: res.Header, body: b}, nil
}

// sleep waits d; false if the client went away or the server is closing.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}

// splitTarget splits "AmazonSSM.GetParameter" into ("ssm", "GetParameter").
func splitTarget(target string) (service, action string) {
	prefix, action, ok := strings.Cut(target, ".")
	if !ok {
		return "", target
	}
	switch prefix {
	case "AmazonSSM":
		return "ssm", action
	case "secretsmanager":
		return "secretsmanager", action
	}
	return strings.ToLower(prefix), action
}

// kumoSecrets keeps kumo's Secrets Manager race out of the tests: its GetSecretValue
// (v0.33.1) writes the secret's LastAccessedDate while holding only a read lock, a data race
// with any other request reading that secret, which the race detector reports when a test
// reads one secret from several processes at once. So requests for one secret (by name or
// ARN) go to kumo one at a time, requests that read many secrets (ListSecrets,
// BatchGetSecretValue) alone, and requests for different secrets together, as AWS answers
// them. Every client of kumo here (the proxy and the seeding clients) goes through
// serialSecrets. The added latency and faults stay concurrent; only kumo's own
// sub-millisecond work for one secret is serialized.
var kumoSecrets struct {
	all sync.RWMutex // read: one secret's request; write: a many-secret request
	mu  sync.Mutex
	ids map[string]*sync.Mutex
}

// secretLock returns the lock of one secret, by the name its id contains.
func secretLock(id string) *sync.Mutex {
	key := secretKey(id)
	kumoSecrets.mu.Lock()
	defer kumoSecrets.mu.Unlock()
	if kumoSecrets.ids == nil {
		kumoSecrets.ids = map[string]*sync.Mutex{}
	}
	m := kumoSecrets.ids[key]
	if m == nil {
		m = &sync.Mutex{}
		kumoSecrets.ids[key] = m
	}
	return m
}

// secretKey is the secret name in a SecretId: a name as is; an ARN's name without the
// 6-character suffix AWS adds ("...:secret:app/prod-AbC123" -> "app/prod"). A partial ARN
// (no suffix) whose name ends in "-" and six letters or digits would get another key than
// its name; the race detector would then report it, not hide it.
func secretKey(id string) string {
	_, name, ok := strings.Cut(id, ":secret:")
	if !ok || !strings.HasPrefix(id, "arn:") {
		return id
	}
	if i := len(name) - 7; i > 0 && name[i] == '-' {
		return name[:i]
	}
	return name
}

type serialSecrets struct{ rt http.RoundTripper }

func (t serialSecrets) RoundTrip(r *http.Request) (*http.Response, error) {
	target := r.Header.Get("X-Amz-Target")
	if !strings.HasPrefix(target, "secretsmanager.") {
		return t.rt.RoundTrip(r)
	}
	var id string
	if r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		var in struct{ SecretId string }
		_ = json.Unmarshal(body, &in)
		id = in.SecretId
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		r.ContentLength = int64(len(body))
	}
	if id != "" {
		kumoSecrets.all.RLock()
		defer kumoSecrets.all.RUnlock()
		m := secretLock(id)
		m.Lock()
		defer m.Unlock()
	} else {
		kumoSecrets.all.Lock()
		defer kumoSecrets.all.Unlock()
	}
	res, err := t.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	// Read the whole answer under the lock: kumo is done with the secret once it has sent it.
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(b))
	return res, nil
}
