package fetch

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/secretexec/secretexec/env"
	"github.com/secretexec/secretexec/ref"
)

// ErrParameterNotFound is a parameter name, version or label GetParameters listed in
// InvalidParameters: it does not exist, or not in that region or account.
var ErrParameterNotFound = errors.New("parameter not found")

// pathPage is AWS's limit on the parameters one GetParametersByPath page may ask for.
const pathPage = 10

// fetchPath reads every parameter under a source's path, page by page, switching to the
// listing (list.go) when the path turns out to be large.
func (f *Fetcher) fetchPath(ctx context.Context, src Source) (Result, error) {
	res := Result{Source: src}
	in := &ssm.GetParametersByPathInput{
		Path:           aws.String(src.Path),
		Recursive:      aws.Bool(src.Recursive),
		WithDecryption: aws.Bool(true),
		MaxResults:     aws.Int32(pathPage),
	}
	var params []param
	start := time.Now()
	retried := false
	for {
		res.Calls++
		out, err := f.SSM.GetParametersByPath(ctx, in)
		if err != nil {
			return res, pagingError(ctx, f.sourceError(ctx, src, "GetParametersByPath", err), res.Calls)
		}
		// A page that needed retries (throttling, above all) means the account is at its
		// request rate: listing would only add requests to a fleet start, so page on.
		if attemptCount(out.ResultMetadata) > 1 {
			retried = true
		}
		params = appendParams(params, out.Parameters)
		if aws.ToString(out.NextToken) == "" {
			break
		}
		if aws.ToString(out.NextToken) == aws.ToString(in.NextToken) {
			return res, f.sourceError(ctx, src, "GetParametersByPath", ErrSameToken)
		}
		in.NextToken = out.NextToken
		if !retried && worthListing(res.Calls, time.Since(start)) {
			// More than minPages pages: read the rest in parallel (list.go).
			all, calls, err := f.pathRest(ctx, src, in, params)
			res.Calls += calls
			if err != nil {
				return res, err
			}
			params = all
			break
		}
	}
	return f.pathItems(res, params)
}

// pathItems turns a path's parameters into the source's variables, by name, so that a
// collision is reported the same way however the path was read.
func (f *Fetcher) pathItems(res Result, params []param) (Result, error) {
	src := res.Source
	prefix := src.Path
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	sort.Slice(params, func(i, j int) bool { return params[i].name < params[j].name })
	byName := make(map[string]string, len(params)) // variable name -> key, to report collisions
	res.Items = make([]Item, 0, len(params))
	for _, p := range params {
		full := p.name
		key := strings.TrimPrefix(full, prefix)
		if !strings.HasPrefix(full, prefix) || key == "" {
			// Not below the path as asked; never expected from AWS, never silently used.
			return res, &Error{Source: src, Op: "GetParametersByPath", Region: f.Region, Err: fmt.Errorf("parameter %q is not below the path", full)}
		}
		name := env.Name(key)
		if env.Reserved(name) {
			return res, &Error{Source: src, Region: f.Region, Err: &ReservedError{Name: name, Key: full}}
		}
		if other, dup := byName[name]; dup {
			return res, &Error{Source: src, Region: f.Region, Err: &CollisionError{Name: name, Keys: [2]string{other, full}}}
		}
		byName[name] = full
		res.Items = append(res.Items, Item{Key: full, Var: env.Var{Name: name, Value: p.value}, Desc: full})
	}
	if len(res.Items) == 0 && !f.AllowEmpty {
		return res, &Error{Source: src, Region: f.Region, Err: ErrEmptyPath}
	}
	sortItems(res.Items)
	return res, nil
}

// param is a parameter's name and value: all secretexec keeps of types.Parameter, so that
// a large path holds 32 bytes per parameter rather than the whole struct.
type param struct{ name, value string }

func appendParams(to []param, ps []types.Parameter) []param {
	for _, p := range ps {
		to = append(to, param{aws.ToString(p.Name), aws.ToString(p.Value)})
	}
	return to
}

// paramJob is one name (with its selector) of a GetParameters request, shared by every
// reference to it.
type paramJob struct {
	key   paramKey
	value string
	err   *Error
}

// getParameters makes one GetParameters request for up to maxNames jobs of one region.
func (f *Fetcher) getParameters(ctx context.Context, batch []*paramJob) bool {
	region := batch[0].key.region
	names := make([]string, len(batch))
	for i, j := range batch {
		names[i] = j.key.name
	}
	var opts []func(*ssm.Options)
	if region != f.Region {
		opts = append(opts, func(o *ssm.Options) { o.Region = region })
	}
	out, err := f.SSM.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(true)}, opts...)
	if err != nil {
		e := newError(ctx, "GetParameters", region, err)
		for _, j := range batch {
			j.err = e
		}
		return true
	}
	// AWS answers with Name as asked (a name, or an ARN when asked by ARN; a name when a
	// version or label was given by name) and the selector apart in Selector. Index every
	// spelling, so a job finds its parameter whichever AWS chose.
	found := map[string]string{}
	for _, prm := range out.Parameters {
		sel := aws.ToString(prm.Selector)
		for _, n := range []string{aws.ToString(prm.Name), aws.ToString(prm.ARN)} {
			if n != "" {
				found[n+sel] = aws.ToString(prm.Value)
			}
		}
	}
	invalid := map[string]bool{}
	for _, n := range out.InvalidParameters {
		invalid[n] = true
	}
	failed := false
	for _, j := range batch {
		v, ok := found[j.key.name]
		switch {
		case ok:
			j.value = v
		case invalid[j.key.name]:
			j.err = &Error{Op: "GetParameters", Region: region, Err: ErrParameterNotFound}
		default:
			// Neither returned nor reported invalid: never expected, never guessed at.
			j.err = &Error{Op: "GetParameters", Region: region, Err: errors.New("parameter missing from the GetParameters answer")}
		}
		failed = failed || j.err != nil
	}
	return failed
}

func (j *paramJob) resolve(vr ref.VarRef) (string, error) {
	if j.err != nil {
		return "", j.err.forRef(vr)
	}
	return j.value, nil
}
