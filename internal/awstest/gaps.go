package awstest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"
)

// validate applies AWS's request limits that kumo does not check.
func validate(req *request) (status int, code, msg string, bad bool) {
	var in struct {
		MaxResults *int
		Names      []string
	}
	if err := json.Unmarshal(req.body, &in); err != nil {
		return 0, "", "", false // kumo answers malformed bodies itself
	}
	fail := func(format string, a ...any) (int, string, string, bool) {
		return http.StatusBadRequest, "ValidationException", "1 validation error detected: " + fmt.Sprintf(format, a...), true
	}
	maxResults := func(limit int) (int, string, string, bool) {
		switch {
		case in.MaxResults == nil:
		case *in.MaxResults > limit:
			return fail("Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to %d", *in.MaxResults, limit)
		case *in.MaxResults < 1:
			return fail("Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1", *in.MaxResults)
		}
		return 0, "", "", false
	}
	switch req.service + "." + req.action {
	case "ssm.GetParametersByPath":
		return maxResults(10)
	case "ssm.DescribeParameters":
		return maxResults(50)
	case "ssm.GetParameters":
		if len(in.Names) > 10 {
			return fail("Value '[%s]' at 'names' failed to satisfy constraint: Member must have length less than or equal to 10", strings.Join(in.Names, ", "))
		}
		if len(in.Names) == 0 {
			return fail("Value '[]' at 'names' failed to satisfy constraint: Member must have length greater than or equal to 1")
		}
	}
	return 0, "", "", false
}

// paramRef is a parsed GetParameter(s) name: NAME, NAME:SELECTOR, ARN or ARN:SELECTOR.
type paramRef struct {
	raw        string   // as asked
	asked      string   // as asked, without the selector: what AWS returns as Name
	candidates []string // kumo names it may mean
	selector   string   // "" or ":1" / ":label"
	version    int64    // > 0 for a version selector
	label      string   // for a label selector
}

// parseParamRef reads a name the way SSM does; ok is false for names AWS would not accept.
func parseParamRef(raw string) (ref paramRef, ok bool) {
	ref.raw = raw
	rest := raw
	prefix := ""
	if strings.HasPrefix(raw, "arn:") {
		// arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME[:SELECTOR]
		parts := strings.SplitN(raw, ":", 6)
		if len(parts) != 6 || parts[2] != "ssm" || !strings.HasPrefix(parts[5], "parameter/") {
			return ref, false
		}
		prefix = strings.Join(parts[:5], ":") + ":parameter/"
		rest = strings.TrimPrefix(parts[5], "parameter/")
	}
	name, sel, hasSel := strings.Cut(rest, ":")
	if name == "" || (hasSel && (sel == "" || strings.Contains(sel, ":"))) {
		return ref, false
	}
	if hasSel {
		ref.selector = ":" + sel
		if n, err := strconv.ParseInt(sel, 10, 64); err == nil {
			if n < 1 {
				return ref, false
			}
			ref.version = n
		} else if validLabel(sel) {
			ref.label = sel
		} else {
			return ref, false
		}
	}
	ref.asked = prefix + name
	switch {
	case prefix == "":
		ref.candidates = []string{name}
	case strings.Contains(name, "/"):
		// AWS writes /a/b as parameter/a/b.
		ref.candidates = []string{"/" + name}
	default:
		ref.candidates = []string{name, "/" + name}
	}
	return ref, true
}

// plain reports whether kumo can answer ref by itself.
func (r paramRef) plain() bool { return r.selector == "" && r.asked == r.candidates[0] }

// paramOut is a Parameter as the SSM JSON protocol writes it.
type paramOut struct {
	ARN              string  `json:"ARN"`
	DataType         string  `json:"DataType"`
	LastModifiedDate float64 `json:"LastModifiedDate"`
	Name             string  `json:"Name"`
	Selector         string  `json:"Selector,omitempty"`
	Type             string  `json:"Type"`
	Value            string  `json:"Value"`
	Version          int64   `json:"Version"`
}

var (
	errParamNotFound   = errors.New("ParameterNotFound")
	errVersionNotFound = errors.New("ParameterVersionNotFound")
)

// resolve answers one reference from kumo's current value and the seeded history.
func (s *Server) resolve(ctx context.Context, ref paramRef, decrypt bool) (*paramOut, error) {
	var cur *ssm.GetParameterOutput
	var name string
	for _, c := range ref.candidates {
		out, err := s.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(c), WithDecryption: aws.Bool(true)})
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "ParameterNotFound" {
			continue
		}
		if err != nil {
			return nil, err
		}
		cur, name = out, c
		break
	}
	if cur == nil {
		return nil, errParamNotFound
	}
	p := cur.Parameter
	out := &paramOut{
		ARN: aws.ToString(p.ARN), DataType: aws.ToString(p.DataType), Name: ref.asked, Selector: ref.selector,
		Type: string(p.Type), Value: aws.ToString(p.Value), Version: p.Version,
		LastModifiedDate: epoch(aws.ToTime(p.LastModifiedDate)),
	}
	want := ref.version
	if ref.label != "" {
		s.mu.Lock()
		v, ok := s.labels[name][ref.label]
		s.mu.Unlock()
		if !ok {
			return nil, errParamNotFound
		}
		want = v
	}
	if want > 0 && want != p.Version {
		s.mu.Lock()
		i := slices.IndexFunc(s.history[name], func(v paramVersion) bool { return v.version == want })
		var old paramVersion
		if i >= 0 {
			old = s.history[name][i]
		}
		s.mu.Unlock()
		if i < 0 {
			return nil, errVersionNotFound
		}
		out.Value, out.Type, out.Version, out.LastModifiedDate = old.value, old.typ, old.version, epoch(old.modified)
	}
	if out.Type == "SecureString" && !decrypt {
		out.Value = ciphertext(out.Value)
	}
	return out, nil
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// ciphertext stands in for the base64 KMS blob AWS returns for a SecureString read without
// decryption. kumo returns "kms:alias/aws/ssm:" + the plaintext instead, which would let a
// forgotten WithDecryption go unnoticed and put plaintext where tests look for leaks.
func ciphertext(plain string) string {
	sum := sha256.Sum256([]byte("awstest:" + plain))
	return base64.StdEncoding.EncodeToString(append([]byte{0x01, 0x02, 0x02, 0x00}, sum[:]...))
}

// getParameters answers GetParameters itself: selectors, ARNs, alphabetical order.
func (s *Server) getParameters(ctx context.Context, req *request) (*response, error) {
	var in struct {
		Names          []string
		WithDecryption bool
	}
	if err := json.Unmarshal(req.body, &in); err != nil {
		return s.forward(ctx, req)
	}
	out := struct {
		InvalidParameters []string    `json:"InvalidParameters"`
		Parameters        []*paramOut `json:"Parameters"`
	}{InvalidParameters: []string{}, Parameters: []*paramOut{}}
	if resp, ok, err := s.getPlainParameters(ctx, req, in.Names, in.WithDecryption); ok || err != nil {
		return resp, err
	}
	seen := map[string]bool{}
	for _, raw := range in.Names {
		if seen[raw] {
			continue
		}
		seen[raw] = true
		ref, ok := parseParamRef(raw)
		if !ok {
			out.InvalidParameters = append(out.InvalidParameters, raw)
			continue
		}
		p, err := s.resolve(ctx, ref, in.WithDecryption)
		if errors.Is(err, errParamNotFound) || errors.Is(err, errVersionNotFound) {
			out.InvalidParameters = append(out.InvalidParameters, raw)
			continue
		}
		if err != nil {
			return nil, err
		}
		out.Parameters = append(out.Parameters, p)
	}
	slices.SortFunc(out.Parameters, func(a, b *paramOut) int { return strings.Compare(a.Name, b.Name) })
	return jsonResponse(out), nil
}

// getPlainParameters answers a GetParameters of plain names only (no selector, no ARN) with
// one call to kumo's own GetParameters rather than one GetParameter per name: the
// benchmark reads large paths this way, and the emulator's CPU time is shared with the
// program measured. ok is false when a name is not plain.
func (s *Server) getPlainParameters(ctx context.Context, req *request, names []string, decrypt bool) (resp *response, ok bool, err error) {
	var uniq []string
	seen := map[string]bool{}
	for _, raw := range names {
		ref, valid := parseParamRef(raw)
		if !valid || !ref.plain() {
			return nil, false, nil
		}
		if !seen[raw] {
			seen[raw] = true
			uniq = append(uniq, raw)
		}
	}
	body, err := json.Marshal(struct {
		Names          []string
		WithDecryption bool
	}{uniq, true})
	if err != nil {
		return nil, false, err
	}
	kr, err := s.post(ctx, req.http.Header, body)
	if err != nil || kr.status != http.StatusOK {
		return kr, true, err
	}
	out := struct {
		InvalidParameters []string    `json:"InvalidParameters"`
		Parameters        []*paramOut `json:"Parameters"`
	}{}
	if err := json.Unmarshal(kr.body, &out); err != nil {
		return nil, true, err
	}
	if out.InvalidParameters == nil {
		out.InvalidParameters = []string{}
	}
	if out.Parameters == nil {
		out.Parameters = []*paramOut{}
	}
	for _, p := range out.Parameters {
		if p.Type == "SecureString" && !decrypt {
			p.Value = ciphertext(p.Value)
		}
	}
	slices.SortFunc(out.Parameters, func(a, b *paramOut) int { return strings.Compare(a.Name, b.Name) })
	return jsonResponse(out), true, nil
}

// maskSecure replaces kumo's "kms:alias/aws/ssm:PLAINTEXT" SecureString values with an
// opaque ciphertext, in a GetParametersByPath answer.
func maskSecure(body []byte) []byte {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return body
	}
	fix := func(raw json.RawMessage) json.RawMessage {
		var p map[string]any
		if json.Unmarshal(raw, &p) != nil || p["Type"] != "SecureString" {
			return raw
		}
		if v, ok := p["Value"].(string); ok {
			p["Value"] = ciphertext(strings.TrimPrefix(v, "kms:alias/aws/ssm:"))
		}
		b, _ := json.Marshal(p)
		return b
	}
	if raw, ok := doc["Parameters"]; ok {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) == nil {
			for i := range list {
				list[i] = fix(list[i])
			}
			doc["Parameters"], _ = json.Marshal(list)
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return body
	}
	return b
}

// getSecretValue answers VersionStage AWSPREVIOUS with the one version AWS would have under
// it (recorded by PutSecretValue); kumo may hold that stage on several versions and pick any.
// Everything else goes to kumo unchanged.
func (s *Server) getSecretValue(ctx context.Context, req *request) (*response, error) {
	var in map[string]any
	if err := json.Unmarshal(req.body, &in); err != nil {
		return s.forward(ctx, req)
	}
	id, _ := in["SecretId"].(string)
	stage, _ := in["VersionStage"].(string)
	if _, hasID := in["VersionId"]; hasID || stage != "AWSPREVIOUS" || id == "" {
		return s.forward(ctx, req)
	}
	d, err := s.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		return s.forward(ctx, req) // kumo's own answer (not found, ...)
	}
	s.mu.Lock()
	prev, ok := s.previous[aws.ToString(d.Name)]
	s.mu.Unlock()
	if !ok {
		return s.forward(ctx, req)
	}
	delete(in, "VersionStage")
	in["VersionId"] = prev
	body, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	return s.post(ctx, req.http.Header, body)
}

func jsonResponse(v any) *response {
	b, err := json.Marshal(v)
	if err != nil {
		return errorResponse(http.StatusInternalServerError, "InternalServerError", "awstest: "+err.Error())
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-1.1")
	return &response{status: http.StatusOK, header: h, body: b}
}

func errorResponse(status int, code, message string) *response {
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{code, message})
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amzn-Requestid", uuid.NewString())
	h.Set("X-Amzn-Errortype", code)
	return &response{status: status, header: h, body: b}
}
