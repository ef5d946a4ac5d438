package awstest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Kind is what a Fault does to a call. Its value is the word used in the text form.
type Kind string

// The fault kinds. Error answers use AWS's JSON 1.1 error body
// ({"__type":CODE,"message":MSG}) and the HTTP status AWS uses.
const (
	// Throttle answers 400 ThrottlingException "Rate exceeded" (the SDK retries it).
	Throttle Kind = "throttle"
	// Status500 answers 500 InternalServerError (SSM) / InternalServiceError (Secrets Manager).
	Status500 Kind = "500"
	// Status503 answers 503 ServiceUnavailable.
	Status503 Kind = "503"
	// Reset closes the connection with a TCP RST before any answer.
	Reset Kind = "reset"
	// Slow waits Delay, then answers normally.
	Slow Kind = "slow"
	// Hang never answers: it holds the request until the client gives up or Close.
	Hang Kind = "hang"
	// Garbled answers 200 with a body that is not valid JSON.
	Garbled Kind = "garbled"
	// AccessDenied answers 400 AccessDeniedException "User: ROLE is not authorized to perform:
	// SERVICE:ACTION on resource: ARN because no identity-based policy allows the
	// SERVICE:ACTION action", with the resource ARN built from the request.
	AccessDenied Kind = "denied"
	// KMSDenied denies kms:Decrypt. It only fires on a call that would return decrypted
	// secret material: SSM with WithDecryption on a SecureString answers 400
	// AccessDeniedException naming kms:Decrypt; Secrets Manager GetSecretValue answers 400
	// AccessDeniedException "Access to KMS is not allowed".
	KMSDenied Kind = "kms"
	// DecryptionFailure (Secrets Manager) answers 400 DecryptionFailure "Secrets Manager can't
	// decrypt the protected secret text using the provided KMS key."; like KMSDenied it only
	// fires on a call that returns a secret value. For SSM it acts as KMSDenied.
	DecryptionFailure Kind = "decrypt"
	// ShortBody sends the real answer with a Content-Length 16 bytes longer than its body,
	// then closes the connection: the SDK parses the answer, then fails to discard the rest
	// of a body that never comes (and logs so). Like KMSDenied it fires only on an answer
	// that holds secret material.
	ShortBody Kind = "shortbody"
	// Redirect answers 307 with a Location and no body, as a proxy or captive portal in the
	// way may.
	Redirect Kind = "redirect"
	// Endless answers 200 with no parameters and a new NextToken every time: pages that
	// never end. SameToken answers with the NextToken it was sent ("loop" if none): a
	// paginator that would go round forever.
	Endless   Kind = "endless"
	SameToken Kind = "sametoken"
)

var kinds = []Kind{Throttle, Status500, Status503, Reset, Slow, Hang, Garbled, AccessDenied, KMSDenied, DecryptionFailure, ShortBody, Redirect, Endless, SameToken}

// The identity and account the AccessDenied messages name.
const (
	Account = "123456789012"
	Role    = "arn:aws:sts::123456789012:assumed-role/app/i-0123"
)

// Fault describes calls to break.
type Fault struct {
	Action string        // API action, e.g. "GetParametersByPath"; "*" or "" matches all
	Kind   Kind          // what to do
	Count  int           // how many matching calls it answers; 0 means every one
	Delay  time.Duration // for Slow
}

// String returns the fault in the text form ParseFault reads.
func (f Fault) String() string {
	action := f.Action
	if action == "" {
		action = "*"
	}
	s := fmt.Sprintf("%s %s", action, f.Kind)
	if f.Count > 0 {
		s += " " + strconv.Itoa(f.Count)
	}
	if f.Delay > 0 {
		s += " " + f.Delay.String()
	}
	return s
}

// ParseFault reads one fault from its text form:
//
//	[fault] ACTION KIND [COUNT] [DELAY]
//
// COUNT is a non-negative integer (absent or 0: every call), DELAY a Go duration; they may
// come in either order. A slow fault without DELAY waits one second.
func ParseFault(line string) (Fault, error) {
	fields := strings.Fields(line)
	if len(fields) > 0 && fields[0] == "fault" {
		fields = fields[1:]
	}
	if len(fields) < 2 || len(fields) > 4 {
		return Fault{}, fmt.Errorf("fault %q: want ACTION KIND [COUNT] [DELAY]", line)
	}
	f := Fault{Action: fields[0], Kind: Kind(strings.ToLower(fields[1]))}
	if !validKind(f.Kind) {
		return Fault{}, fmt.Errorf("fault %q: unknown kind %q (want one of %s)", line, fields[1], kindList())
	}
	var haveCount, haveDelay bool
	for _, a := range fields[2:] {
		if n, err := strconv.Atoi(a); err == nil && !haveCount {
			if n < 0 {
				return Fault{}, fmt.Errorf("fault %q: negative count", line)
			}
			f.Count, haveCount = n, true
			continue
		}
		if d, err := time.ParseDuration(a); err == nil && !haveDelay {
			f.Delay, haveDelay = d, true
			continue
		}
		return Fault{}, fmt.Errorf("fault %q: %q is neither a count nor a duration", line, a)
	}
	if f.Kind == Slow && f.Delay == 0 {
		f.Delay = time.Second
	}
	return f, nil
}

func validKind(k Kind) bool {
	for _, v := range kinds {
		if k == v {
			return true
		}
	}
	return false
}

func kindList() string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// AddFault adds f after the faults already set. A call is answered by the first fault that
// matches its action and has uses left.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, newFaultState(f))
}

// AddFaultText parses line with ParseFault and adds the fault.
func (s *Server) AddFaultText(line string) error {
	f, err := ParseFault(line)
	if err != nil {
		return err
	}
	s.AddFault(f)
	return nil
}

// ClearFaults removes every fault, the rate limit, the latency and the DescribeParameters
// paging.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.describePaging = DescribePaging{}
	s.faults = nil
	s.bucket = nil
	s.latency = 0
}

type faultState struct {
	Fault
	left int // uses left when Count > 0
}

func newFaultState(f Fault) *faultState {
	if f.Action == "" {
		f.Action = "*"
	}
	return &faultState{Fault: f, left: f.Count}
}

// contentKind reports the kinds that depend on the answer (they fire only on secret material).
func contentKind(k Kind) bool { return k == KMSDenied || k == DecryptionFailure || k == ShortBody }

// takeFault finds the first fault for action of the given class (content or not) and uses it.
func (s *Server) takeFault(action string, content bool) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if contentKind(f.Kind) != content || (f.Action != "*" && f.Action != action) {
			continue
		}
		if f.Count > 0 {
			f.left--
			if f.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return f.Fault, true
	}
	return Fault{}, false
}

// applyFault answers req according to f; false means the call goes on normally (Slow).
func (s *Server) applyFault(w http.ResponseWriter, req *request, f Fault) bool {
	switch f.Kind {
	case Throttle:
		writeAPIError(w, http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
	case Status500:
		code := "InternalServerError"
		if req.service == "secretsmanager" {
			code = "InternalServiceError"
		}
		writeAPIError(w, http.StatusInternalServerError, code, "An error occurred on the server side.")
	case Status503:
		writeAPIError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "Service Unavailable")
	case Reset:
		resetConn(w)
	case Slow:
		if s.sleep(req.http.Context(), f.Delay) {
			return false
		}
		resetConn(w) // the client left or the server is closing: no answer at all
	case Hang:
		select {
		case <-req.http.Context().Done():
		case <-s.closing:
		}
		// Returning would send an empty 200, which the SDK reads as success.
		resetConn(w)
	case Garbled:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"Parameters":[{"Name":"/garbled","Value":`))
	case AccessDenied:
		writeAPIError(w, http.StatusBadRequest, "AccessDeniedException", deniedMessage(req))
	case Endless, SameToken:
		var in struct{ NextToken string }
		_ = json.Unmarshal(req.body, &in)
		next := in.NextToken
		switch {
		case f.Kind == Endless:
			next = uuid.NewString()
		case next == "":
			next = "loop"
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(map[string]any{"Parameters": []any{}, "NextToken": next})
	case Redirect:
		w.Header().Set("Location", "http://portal.invalid/login")
		w.WriteHeader(http.StatusTemporaryRedirect)
	default:
		return false
	}
	return true
}

// writeShort writes resp by hand on the hijacked connection, declaring 16 bytes more than
// its body, and closes the connection.
func writeShort(w http.ResponseWriter, resp *response) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", resp.status, http.StatusText(resp.status))
	fmt.Fprintf(buf, "Content-Type: %s\r\n", resp.header.Get("Content-Type"))
	fmt.Fprintf(buf, "Content-Length: %d\r\n\r\n", len(resp.body)+16)
	_, _ = buf.Write(resp.body)
	_ = buf.Flush()
}

// resetConn hijacks the connection and closes it with SO_LINGER 0, which sends a TCP RST.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// deniedMessage is AWS's IAM denial text for the request's action and resource.
func deniedMessage(req *request) string {
	perm := iamAction(req)
	return fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
		Role, perm, resourceARN(req), perm)
}

func iamAction(req *request) string {
	svc := req.service
	if svc == "" {
		svc = "unknown"
	}
	return svc + ":" + req.action
}

// resourceARN builds the ARN an IAM denial names, from the request body.
func resourceARN(req *request) string {
	var body struct {
		Name          string
		Names         []string
		Path          string
		SecretId      string
		SecretIdList  []string
		ParameterName string
	}
	_ = json.Unmarshal(req.body, &body)
	region := req.region
	switch req.service {
	case "ssm":
		name := body.Name
		switch {
		case body.Path != "":
			name = body.Path
		case len(body.Names) > 0:
			name = body.Names[0]
		}
		if name == "" {
			return fmt.Sprintf("arn:aws:ssm:%s:%s:*", region, Account)
		}
		if strings.HasPrefix(name, "arn:") {
			return name
		}
		return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", region, Account, strings.TrimPrefix(name, "/"))
	case "secretsmanager":
		id := body.SecretId
		if id == "" && len(body.SecretIdList) > 0 {
			id = body.SecretIdList[0]
		}
		if id == "" {
			return "*"
		}
		if strings.HasPrefix(id, "arn:") {
			return id
		}
		return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s", region, Account, id)
	}
	return "*"
}

// kmsMessage is the AccessDeniedException text SSM passes on from KMS.
func kmsMessage(req *request) string {
	region := req.region
	return fmt.Sprintf("User: %s is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:%s:%s:key/0b6f6a5e-2c49-4c2f-9c39-6d1e0c0b7a11 because no identity-based policy allows the kms:Decrypt action (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException; Request ID: %s; Proxy: null)",
		Role, region, Account, uuid.NewString())
}

const (
	smKMSDenied      = "Access to KMS is not allowed"
	smDecryptFailure = "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
)

// kmsFault applies a KMSDenied, DecryptionFailure or ShortBody fault if resp carries secret
// material.
func (s *Server) kmsFault(w http.ResponseWriter, req *request, resp *response) bool {
	if resp.status != http.StatusOK || !carriesSecret(req, resp) {
		return false
	}
	f, ok := s.takeFault(req.action, true)
	if !ok {
		return false
	}
	switch {
	case f.Kind == ShortBody:
		writeShort(w, resp)
	case req.service == "secretsmanager" && f.Kind == DecryptionFailure:
		writeAPIError(w, http.StatusBadRequest, "DecryptionFailure", smDecryptFailure)
	case req.service == "secretsmanager":
		writeAPIError(w, http.StatusBadRequest, "AccessDeniedException", smKMSDenied)
	default:
		writeAPIError(w, http.StatusBadRequest, "AccessDeniedException", kmsMessage(req))
	}
	return true
}

// carriesSecret reports whether an answer holds decrypted secret material.
func carriesSecret(req *request, resp *response) bool {
	switch {
	case req.service == "secretsmanager" && req.action == "GetSecretValue":
		return true
	case req.service == "ssm":
		var in struct{ WithDecryption bool }
		_ = json.Unmarshal(req.body, &in)
		if !in.WithDecryption {
			return false
		}
		var out struct {
			Parameter  *struct{ Type string }
			Parameters []struct{ Type string }
		}
		_ = json.Unmarshal(resp.body, &out)
		if out.Parameter != nil && out.Parameter.Type == "SecureString" {
			return true
		}
		for _, p := range out.Parameters {
			if p.Type == "SecureString" {
				return true
			}
		}
	}
	return false
}

// writeAPIError writes an AWS JSON 1.1 error.
func writeAPIError(w http.ResponseWriter, status int, code, message string) {
	errorResponse(status, code, message).write(w)
}

// tokenBucket is a plain token bucket with its own lock.
type tokenBucket struct {
	mu     sync.Mutex
	rps    float64
	burst  float64
	tokens float64
	last   time.Time
}

func newTokenBucket(rps float64, burst int) *tokenBucket {
	if rps <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	return &tokenBucket{rps: rps, burst: float64(burst), tokens: float64(burst), last: time.Now()}
}

func (b *tokenBucket) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(b.burst, b.tokens+el*b.rps)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}
