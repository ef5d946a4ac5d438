package awstest

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// STS: a small AssumeRole in front of kumo. kumo's own STS (v0.33.1) answers any RoleArn and
// RoleSessionName with keys nobody checks; this one checks what AWS checks (the role exists
// and trusts the caller, the external id its trust policy asks for, the session name and
// duration rules), issues keys the SigV4 check then accepts, refuses them once expired
// (ExpiredTokenException), and logs each call, so a test can see that the requests were
// signed with the assumed role's keys (Call.AccessKeyID).

// AssumableRole is a role that AssumeRole may be called on with the base test credentials.
type AssumableRole struct {
	ARN        string
	ExternalID string // the sts:ExternalId its trust policy asks for; "" for none
	// Lifetime of the credentials it hands out (0: DurationSeconds, as asked). Tests of
	// renewal make it short.
	Lifetime time.Duration
}

// AssumeRoleCall is one AssumeRole request the proxy answered (successfully or not).
type AssumeRoleCall struct {
	RoleARN, SessionName, ExternalID string
	Duration                         int    // DurationSeconds, 0 when not sent
	Caller                           string // the access key id that signed it
	Issued                           string // the access key id handed out, "" on failure
}

// AddRole makes a role assumable.
func (s *Server) AddRole(r AssumableRole) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.roles == nil {
		s.roles = map[string]AssumableRole{}
	}
	s.roles[r.ARN] = r
}

// AssumeRoleCalls returns the AssumeRole requests so far, in arrival order.
func (s *Server) AssumeRoleCalls() []AssumeRoleCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AssumeRoleCall(nil), s.assumeLog...)
}

// Assumed reports whether akid is an access key id AssumeRole handed out.
func (s *Server) Assumed(akid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.assumed[akid]
	return ok
}

// assumedCred is a key pair AssumeRole handed out.
type assumedCred struct {
	credential
	expires time.Time
}

// credentials are the key pairs the SigV4 check accepts now: the test credentials and the
// assumed ones that have not expired. expired says akid was assumed but has expired.
func (s *Server) credentials(akid string) (creds map[string]credential, expired bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	creds = map[string]credential{AccessKeyID: knownCredentials[AccessKeyID]}
	if a, ok := s.assumed[akid]; ok {
		if s.now().After(a.expires) {
			return creds, true
		}
		creds[akid] = a.credential
	}
	return creds, false
}

// stsForm reads a Query-protocol request (STS): its form and Action.
func stsForm(r *http.Request, body []byte) (url.Values, bool) {
	if r.Header.Get("X-Amz-Target") != "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("Action") == "" {
		return nil, false
	}
	return form, true
}

var sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
var externalIDRE = regexp.MustCompile(`^[\w+=,.@:/-]+$`) // and 2 to 1224 long

// assumeRole answers an STS AssumeRole as AWS does, for the roles of AddRole.
func (s *Server) assumeRole(w http.ResponseWriter, form url.Values, caller string) {
	call := AssumeRoleCall{
		RoleARN: form.Get("RoleArn"), SessionName: form.Get("RoleSessionName"),
		ExternalID: form.Get("ExternalId"), Caller: caller,
	}
	call.Duration, _ = strconv.Atoi(form.Get("DurationSeconds"))
	defer func() {
		s.mu.Lock()
		s.assumeLog = append(s.assumeLog, call)
		s.mu.Unlock()
	}()
	if form.Get("Version") != "2011-06-15" {
		writeSTSError(w, http.StatusBadRequest, "InvalidAction", "Could not find operation AssumeRole for version "+form.Get("Version"))
		return
	}
	var bad []string
	if !sessionNameRE.MatchString(call.SessionName) {
		bad = append(bad, fmt.Sprintf("Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", call.SessionName))
	}
	if id := call.ExternalID; id != "" && (len(id) < 2 || len(id) > 1224 || !externalIDRE.MatchString(id)) {
		bad = append(bad, "Value at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*")
	}
	if call.Duration != 0 && (call.Duration < 900 || call.Duration > 43200) {
		bad = append(bad, fmt.Sprintf("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200", call.Duration))
	}
	if len(bad) > 0 {
		writeSTSError(w, http.StatusBadRequest, "ValidationError", fmt.Sprintf("%d validation error(s) detected: %s", len(bad), strings.Join(bad, "; ")))
		return
	}
	s.mu.Lock()
	role, ok := s.roles[call.RoleARN]
	s.mu.Unlock()
	if !ok || role.ExternalID != call.ExternalID {
		// AWS says the same whether the role does not exist, does not trust the caller, or
		// its trust policy's sts:ExternalId does not match.
		writeSTSError(w, http.StatusForbidden, "AccessDenied", fmt.Sprintf("User: arn:aws:iam::%s:user/test is not authorized to perform: sts:AssumeRole on resource: %s", Account, call.RoleARN))
		return
	}
	life := role.Lifetime
	if life == 0 {
		life = time.Duration(max(call.Duration, 3600)) * time.Second
	}
	s.mu.Lock()
	if s.assumed == nil {
		s.assumed = map[string]assumedCred{}
	}
	n := len(s.assumed) + 1
	akid := fmt.Sprintf("ASIAAWSTEST%09d", n)
	cred := assumedCred{credential{secret: fmt.Sprintf("assumed-secret-%d", n), tokens: []string{fmt.Sprintf("assumed-token-%d", n)}}, s.now().Add(life)}
	s.assumed[akid] = cred
	s.mu.Unlock()
	call.Issued = akid

	roleName := call.RoleARN[strings.LastIndexByte(call.RoleARN, '/')+1:]
	type credentials struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	type result struct {
		Credentials     credentials
		AssumedRoleUser struct{ AssumedRoleId, Arn string }
	}
	var out struct {
		XMLName          xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
		AssumeRoleResult result
		ResponseMetadata struct{ RequestId string }
	}
	out.AssumeRoleResult.Credentials = credentials{akid, cred.secret, cred.tokens[0], cred.expires.UTC().Format(time.RFC3339)}
	out.AssumeRoleResult.AssumedRoleUser.AssumedRoleId = "AROAAWSTEST:" + call.SessionName
	out.AssumeRoleResult.AssumedRoleUser.Arn = fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", Account, roleName, call.SessionName)
	out.ResponseMetadata.RequestId = fmt.Sprintf("awstest-sts-%d", n)
	b, _ := xml.Marshal(out)
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write(b)
}

// writeSTSError writes an STS (Query protocol) error.
func writeSTSError(w http.ResponseWriter, status int, code, message string) {
	var out struct {
		XMLName   xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
		Error     struct{ Type, Code, Message string }
		RequestId string
	}
	out.Error.Type, out.Error.Code, out.Error.Message = "Sender", code, message
	out.RequestId = "awstest-sts-error"
	b, _ := xml.Marshal(out)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
