// Package fetch reads secrets from AWS SSM Parameter Store and AWS Secrets Manager. It holds
// one narrow interface per client (internal/awsapi's), pagination, concurrency and typed,
// source-naming errors.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/secretexec/secretexec/env"
	"github.com/secretexec/secretexec/internal/awsapi"
)

// SSMAPI is the part of the SSM client secretexec uses; *awsapi.SSM has it.
type SSMAPI interface {
	GetParametersByPath(ctx context.Context, params *awsapi.GetParametersByPathInput, optFns ...func(*awsapi.Options)) (*awsapi.GetParametersByPathOutput, error)
	GetParameters(ctx context.Context, params *awsapi.GetParametersInput, optFns ...func(*awsapi.Options)) (*awsapi.GetParametersOutput, error)
}

// SecretsAPI is the part of the Secrets Manager client secretexec uses; *awsapi.SecretsManager
// has it.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, params *awsapi.GetSecretValueInput, optFns ...func(*awsapi.Options)) (*awsapi.GetSecretValueOutput, error)
}

// Kind says which AWS API a Source reads.
type Kind int

const (
	// SSMPath is every parameter under a path (GetParametersByPath).
	SSMPath Kind = iota
	// Secret is a Secrets Manager secret: a JSON object, or one variable when Bind is set.
	Secret
)

// Source is one --ssm-path or --secret-id, in command-line order.
type Source struct {
	Kind      Kind
	Path      string // SSMPath: the path, without a trailing slash ("/" for the root)
	Recursive bool   // SSMPath: also nested parameters
	SecretID  string // Secret: name, partial ARN or full ARN
	Bind      string // Secret: bind the whole SecretString to this variable name
}

// String names the source the way errors, --verbose and --dry-run show it.
func (s Source) String() string {
	if s.Kind == SSMPath {
		return fmt.Sprintf("ssm path %q", s.Path)
	}
	if s.Bind != "" {
		return fmt.Sprintf("secret %q (as %s)", s.SecretID, s.Bind)
	}
	return fmt.Sprintf("secret %q", s.SecretID)
}

// Item is one variable a source produced. Key is where it came from inside the source: the
// full parameter name, or the JSON key. It is never a value.
type Item struct {
	Key  string
	Var  env.Var
	Desc string // where the value came from, for --dry-run: a parameter name or "key K"
}

// Result is what one source produced, items sorted by name.
type Result struct {
	Source Source
	Items  []Item
	Calls  int // AWS requests made for this source (pages), for --verbose
}

// Fetcher fetches sources with the given clients.
type Fetcher struct {
	SSM        SSMAPI
	Secrets    SecretsAPI
	AllowEmpty bool
	// Region is the configured region; a secret given as an ARN in another region is read
	// from that region.
	Region string
}

// Fetch reads every source concurrently; it is FetchAll without references.
func (f *Fetcher) Fetch(ctx context.Context, sources []Source) ([]Result, error) {
	results, _, err := f.FetchAll(ctx, sources, nil)
	return results, err
}

// firstErrors keeps the errors that are causes, not the cancellations one error caused in
// the other fetches, unless the parent context itself ended.
func firstErrors(ctx context.Context, errs []error) error {
	var causes, cancelled []error
	for _, err := range errs {
		if err == nil {
			continue
		}
		var c interface{ cancelled() bool }
		if errors.As(err, &c) && c.cancelled() {
			cancelled = append(cancelled, err)
			continue
		}
		causes = append(causes, err)
	}
	if len(causes) > 0 {
		return errors.Join(causes...)
	}
	if len(cancelled) > 0 {
		return cancelled[0]
	}
	return nil
}

func (f *Fetcher) fetchPath(ctx context.Context, src Source) (Result, error) {
	res := Result{Source: src}
	prefix := src.Path
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	byName := map[string]string{} // variable name -> key, to report collisions
	in := &awsapi.GetParametersByPathInput{
		Path:           aws.String(src.Path),
		Recursive:      aws.Bool(src.Recursive),
		WithDecryption: aws.Bool(true),
		MaxResults:     aws.Int32(10), // AWS's maximum for this call
	}
	var params []param
	start := time.Now()
	retried := false
	for {
		res.Calls++
		out, err := f.SSM.GetParametersByPath(ctx, in)
		if err != nil {
			return res, newSourceError(ctx, src, "GetParametersByPath", err)
		}
		// A page that needed retries (throttling, above all) means the account is at its
		// request rate: listing would only add requests to a fleet start, so page on.
		if out.ResultMetadata.Attempts > 1 {
			retried = true
		}
		params = appendParams(params, out.Parameters)
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
		if d, ok := f.SSM.(describer); ok && !retried && worthListing(res.Calls, time.Since(start)) {
			// More than one page: read the rest in parallel (list.go).
			all, calls, err := f.pathRest(ctx, src, d, in, params)
			res.Calls += calls
			if err != nil {
				return res, err
			}
			params = all
			break
		}
	}
	// By name, so that a collision is reported the same way however the path was read.
	sort.Slice(params, func(i, j int) bool { return params[i].name < params[j].name })
	for _, p := range params {
		full := p.name
		key := strings.TrimPrefix(full, prefix)
		if !strings.HasPrefix(full, prefix) || key == "" {
			// Not below the path as asked; never expected from AWS, never silently used.
			return res, &SourceError{Source: src, Op: "GetParametersByPath", Err: fmt.Errorf("parameter %q is not below the path", full)}
		}
		name := env.Name(key)
		if other, dup := byName[name]; dup {
			return res, &SourceError{Source: src, Err: &CollisionError{Name: name, Keys: [2]string{other, full}}}
		}
		byName[name] = full
		res.Items = append(res.Items, Item{Key: full, Var: env.Var{Name: name, Value: p.value}, Desc: full})
	}
	if len(res.Items) == 0 && !f.AllowEmpty {
		return res, &SourceError{Source: src, Err: ErrEmptyPath}
	}
	sortItems(res.Items)
	return res, nil
}

// secretItems turns a secret's string into the source's variables: the whole string for a
// bound source, else one variable per key of its JSON object.
func (f *Fetcher) secretItems(res Result, s string) (Result, error) {
	src := res.Source
	if src.Bind != "" {
		res.Items = []Item{{Key: src.SecretID, Var: env.Var{Name: src.Bind, Value: s}, Desc: "whole secret"}}
		return res, nil
	}
	kvs, err := JSONObject(s)
	if err != nil {
		return res, &SourceError{Source: src, Err: err}
	}
	byName := map[string]string{}
	for _, kv := range kvs {
		name := env.Name(kv.Key)
		if name == "" {
			return res, &SourceError{Source: src, Err: errors.New("the secret's JSON object has an empty key")}
		}
		if other, dup := byName[name]; dup {
			return res, &SourceError{Source: src, Err: &CollisionError{Name: name, Keys: [2]string{other, kv.Key}}}
		}
		byName[name] = kv.Key
		res.Items = append(res.Items, Item{Key: kv.Key, Var: env.Var{Name: name, Value: kv.Value}, Desc: "key " + kv.Key})
	}
	if len(res.Items) == 0 && !f.AllowEmpty {
		return res, &SourceError{Source: src, Err: ErrEmptySecret}
	}
	sortItems(res.Items)
	return res, nil
}

func sortItems(items []Item) {
	sort.Slice(items, func(i, j int) bool { return items[i].Var.Name < items[j].Var.Name })
}

// arnRegion returns the region of an ARN of the given service, or "".
func arnRegion(s, service string) string {
	// arn:PARTITION:SERVICE:REGION:ACCOUNT:...
	parts := strings.SplitN(s, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || parts[2] != service {
		return ""
	}
	return parts[3]
}

// ARNRegion returns the region named by the first ARN among the sources' secret ids, for
// configurations that give no region otherwise.
func ARNRegion(sources []Source) string {
	for _, s := range sources {
		if s.Kind == Secret {
			if r := arnRegion(s.SecretID, "secretsmanager"); r != "" {
				return r
			}
		}
	}
	return ""
}
