package awstest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The test credentials. Every client of the proxy signs with them: [Server.Config], [Env],
// the seeding clients, and the instance role of the project's fake IMDS, which hands out the
// same key pair with SessionToken (as an instance role hands out temporary credentials).
// The proxy accepts the key pair with no session token or with SessionToken, and no other
// credentials.
const (
	AccessKeyID     = "test"
	SecretAccessKey = "test"
	SessionToken    = "test"
)

// credential is a key pair the verifier knows, with the session tokens it may come with ("" for
// none).
type credential struct {
	secret string
	tokens []string
}

var knownCredentials = map[string]credential{
	AccessKeyID: {secret: SecretAccessKey, tokens: []string{"", SessionToken}},
}

// The SigV4 parts this verifier checks. It is written from the Signature Version 4 specification,
// not from the SDK's signer, so that a signer that gets something wrong fails here as it would
// against AWS.
const (
	sigAlgorithm  = "AWS4-HMAC-SHA256"
	sigTerminator = "aws4_request"
	amzDateLayout = "20060102T150405Z"
	// maxSkew is how far X-Amz-Date may be from the server's clock (AWS: 5 minutes).
	maxSkew = 5 * time.Minute
)

// The answers, as SSM and Secrets Manager give them (JSON 1.1, HTTP 400).
const (
	msgMissingToken = "Missing Authentication Token"
	msgInvalidToken = "The security token included in the request is invalid."
	msgBadSignature = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

// validRegion is the shape of an AWS region name (us-east-1, us-gov-west-1, cn-north-1, ...).
// The proxy serves every region, so any region of that shape is the one the request was sent to.
var validRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// authError is a request the verifier refuses, with AWS's code and message.
type authError struct {
	code, message string
}

func (e *authError) Error() string { return e.code + ": " + e.message }

func incomplete(format string, a ...any) *authError {
	return &authError{"IncompleteSignatureException", fmt.Sprintf(format, a...)}
}

func invalidSignature(format string, a ...any) *authError {
	return &authError{"InvalidSignatureException", fmt.Sprintf(format, a...)}
}

// sigAuth is the parsed Authorization header.
type sigAuth struct {
	algorithm     string
	credential    string   // AKID/DATE/REGION/SERVICE/aws4_request
	signedHeaders []string // lower-case, as listed
	signature     string
}

// scope is the credential's slash-delimited elements, keyid/date/region/service/term (a
// trailing slash ignored, as AWS does).
func (a sigAuth) scope() []string { return strings.Split(strings.TrimRight(a.credential, "/"), "/") }

// parseAuthorization reads "ALGORITHM Credential=..., SignedHeaders=..., Signature=...". missing
// lists AWS's message for each parameter that is not there.
func parseAuthorization(h string) (a sigAuth, missing []string, err *authError) {
	alg, params, _ := strings.Cut(strings.TrimSpace(h), " ")
	a.algorithm = alg
	var seen []string
	for p := range strings.SplitSeq(params, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return a, nil, incomplete("'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'", p, h)
		}
		switch k {
		case "Credential":
			a.credential = v
		case "SignedHeaders":
			for n := range strings.SplitSeq(v, ";") {
				if n != "" {
					a.signedHeaders = append(a.signedHeaders, strings.ToLower(n))
				}
			}
		case "Signature":
			a.signature = v
		default:
			continue
		}
		seen = append(seen, k)
	}
	for _, k := range []string{"Credential", "Signature", "SignedHeaders"} {
		if !slices.Contains(seen, k) {
			missing = append(missing, fmt.Sprintf("Authorization header requires '%s' parameter.", k))
		}
	}
	return a, missing, nil
}

// verifySigV4 checks the Signature Version 4 of r (whose body is body) the way AWS does, in
// AWS's order, for a request to service ("ssm", "secretsmanager"; "" skips the check of the
// scope's service), at the server time now, against the credentials creds (by access key ID).
// It returns nil for a request AWS would accept.
func verifySigV4(r *http.Request, body []byte, service string, now time.Time, creds map[string]credential) *authError {
	authz := r.Header.Get("Authorization")
	if !strings.HasPrefix(strings.TrimSpace(authz), "AWS4-") {
		return &authError{"MissingAuthenticationTokenException", msgMissingToken}
	}
	a, missing, err := parseAuthorization(authz)
	if err != nil {
		return err
	}
	dateHeader, stamp := "x-amz-date", r.Header.Get("X-Amz-Date")
	if stamp == "" {
		dateHeader, stamp = "date", r.Header.Get("Date")
	}
	if stamp == "" {
		missing = append(missing, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if len(missing) > 0 {
		return incomplete("%s Authorization=%s", strings.Join(missing, " "), authz)
	}

	t, perr := time.Parse(amzDateLayout, stamp)
	if perr != nil {
		return incomplete("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", stamp)
	}
	now = now.UTC().Truncate(time.Second)
	if t.Before(now.Add(-maxSkew)) {
		return invalidSignature("Signature expired: %s is now earlier than %s (%s - 5 min.)",
			stamp, now.Add(-maxSkew).Format(amzDateLayout), now.Format(amzDateLayout))
	}
	if t.After(now.Add(maxSkew)) {
		return invalidSignature("Signature not yet current: %s is still later than %s (%s + 5 min.)",
			stamp, now.Add(maxSkew).Format(amzDateLayout), now.Format(amzDateLayout))
	}

	// Headers that must be signed: host (it binds the signature to the endpoint), the header
	// the date came from, and a session token (the SDK signs it; AWS documents that some
	// services require it signed, others let it be added after signing).
	if !slices.Contains(a.signedHeaders, "host") {
		return invalidSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	if !slices.Contains(a.signedHeaders, dateHeader) {
		return invalidSignature("'%s' must be a 'SignedHeader' in the AWS Authorization.", http.CanonicalHeaderKey(dateHeader))
	}
	if _, ok := r.Header["X-Amz-Security-Token"]; ok && !slices.Contains(a.signedHeaders, "x-amz-security-token") {
		return invalidSignature("'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.")
	}
	if a.algorithm != sigAlgorithm {
		return incomplete("Unsupported AWS 'algorithm': '%s' (only %s for now).", a.algorithm, sigAlgorithm)
	}

	scope := a.scope()
	if len(scope) != 5 {
		return incomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", a.credential)
	}
	akid, day, region, svc, term := scope[0], scope[1], scope[2], scope[3], scope[4]
	var bad []string
	if !validRegion.MatchString(region) {
		bad = append(bad, fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", region))
	}
	if service != "" && svc != service {
		bad = append(bad, fmt.Sprintf("Credential should be scoped to correct service: '%s'.", service))
	}
	if term != sigTerminator {
		bad = append(bad, fmt.Sprintf("Credential should be scoped with a valid terminator: '%s', not '%s'.", sigTerminator, term))
	}
	if day != stamp[:8] {
		bad = append(bad, fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", day, stamp[:8], stamp))
	}
	if len(bad) > 0 {
		return invalidSignature("%s", strings.Join(bad, " "))
	}

	cred, ok := creds[akid]
	if !ok {
		return &authError{"UnrecognizedClientException", msgInvalidToken}
	}

	payloadHash := sha256Hex(body)
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		// The header is what the client signed; a body that does not hash to it fails as a
		// body that does not match the signature would.
		if h != payloadHash {
			return invalidSignature("%s", msgBadSignature)
		}
		payloadHash = h
	}
	creq := canonicalRequest(r, a.signedHeaders, payloadHash)
	sts := strings.Join([]string{sigAlgorithm, stamp, strings.Join(scope[1:], "/"), sha256Hex([]byte(creq))}, "\n")
	want := hmacSHA256(signingKey(cred.secret, day, region, svc), sts)
	got, herr := hex.DecodeString(a.signature)
	if herr != nil || !hmac.Equal(got, want) {
		return invalidSignature("%s", msgBadSignature)
	}

	if !slices.Contains(cred.tokens, r.Header.Get("X-Amz-Security-Token")) {
		return &authError{"UnrecognizedClientException", msgInvalidToken}
	}
	return nil
}

// canonicalRequest is SigV4's
//
//	METHOD\nCANONICAL_URI\nCANONICAL_QUERY\nCANONICAL_HEADERS\n\nSIGNED_HEADERS\nPAYLOAD_HASH
func canonicalRequest(r *http.Request, signed []string, payloadHash string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.URL))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.RawQuery))
	b.WriteByte('\n')
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(canonicalHeaderValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// canonicalURI is the path as sent, URI-encoded once more: every service but S3 encodes each
// path segment twice. An empty path is "/".
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	return uriEncode(p, false)
}

// canonicalQuery sorts the query's name=value pairs by name, then value, each URI-encoded.
func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	var pairs []string
	for kv := range strings.SplitSeq(raw, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		pairs = append(pairs, uriEncode(k, true)+"="+uriEncode(v, true))
	}
	slices.SortFunc(pairs, func(a, b string) int {
		ak, av, _ := strings.Cut(a, "=")
		bk, bv, _ := strings.Cut(b, "=")
		if c := strings.Compare(ak, bk); c != 0 {
			return c
		}
		return strings.Compare(av, bv)
	})
	return strings.Join(pairs, "&")
}

// uriEncode percent-encodes every byte but the unreserved characters A-Z a-z 0-9 - . _ ~ (and
// '/' unless encodeSlash), with upper-case hex, as SigV4 asks.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// canonicalHeaderValue is the request's value of header name: each value trimmed and its inner
// runs of spaces collapsed to one, the values joined with ','. Go's server moves Host out of the
// header map into r.Host.
func canonicalHeaderValue(r *http.Request, name string) string {
	var values []string
	switch name {
	case "host":
		values = []string{r.Host}
	default:
		values = slices.Clone(r.Header.Values(name))
		if len(values) == 0 && name == "content-length" && r.ContentLength >= 0 {
			values = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	}
	for i, v := range values {
		values[i] = collapseSpaces(v)
	}
	return strings.Join(values, ",")
}

// collapseSpaces trims v and turns each run of spaces inside it into one space.
func collapseSpaces(v string) string {
	v = strings.Trim(v, " \t")
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' && i > 0 && v[i-1] == ' ' {
			continue
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// signingKey is HMAC("AWS4"+secret, day) chained over region, service and "aws4_request".
func signingKey(secret, day, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), day)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, sigTerminator)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
