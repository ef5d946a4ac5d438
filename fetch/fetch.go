// Package fetch reads secrets from AWS SSM Parameter Store and AWS Secrets Manager through the
// SDK's service clients: sources (--ssm-path, --secret-id) and references (ssm://, sm://, ECS
// ARNs) in one deduplicated, concurrent fetch, with typed errors that name what failed and
// never a value.
//
// The files: fetch.go the entry point (FetchAll) and its types; plan.go which requests a fetch
// makes; params.go and list.go SSM parameters (by path, by name, the large-path listing);
// secrets.go Secrets Manager; json.go a JSON secret's variables; errors.go the error type and
// its hints; retry.go attempts and retries; clients.go the AWS configuration and clients;
// role.go the assumed role every request may be made as.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/secretexec/secretexec/env"
	"github.com/secretexec/secretexec/ref"
)

// SSMAPI is the part of *ssm.Client secretexec uses.
type SSMAPI interface {
	GetParametersByPath(ctx context.Context, params *ssm.GetParametersByPathInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error)
	GetParameters(ctx context.Context, params *ssm.GetParametersInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
	DescribeParameters(ctx context.Context, params *ssm.DescribeParametersInput, optFns ...func(*ssm.Options)) (*ssm.DescribeParametersOutput, error)
}

// SecretsAPI is the part of *secretsmanager.Client secretexec uses.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, params *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
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

// Resolved is the value a reference named.
type Resolved struct {
	ref.VarRef
	Value string
}

// Fetcher fetches sources and references with its clients (New or NewFromConfig builds
// them; tests may give fakes).
type Fetcher struct {
	SSM     SSMAPI
	Secrets SecretsAPI
	// Region is the configured region; an ARN in another region is read from that region.
	Region     string
	AllowEmpty bool // an empty path or JSON secret is not an error
	// Role is the ARN of the role the clients' credentials are assumed from, or "": a
	// failed read names it (Error.Role).
	Role string
}

// errorGrace is how long the other requests may still run once one has failed, so that one
// run reports every broken source and reference, while fail-fast still holds when one hangs.
const errorGrace = time.Second

// maxInFlight bounds the AWS requests one fetch has open at once, so that an environment
// with hundreds of references does not open hundreds of connections in one burst.
const maxInFlight = 16

// FetchAll reads every source and resolves every reference in one fetch: a secret named
// by several sources or references (same id, version stage, version id and region) is
// read once, parameter names are deduplicated and read with GetParameters, at most ten
// per call, and all requests run concurrently, each in the region of its ARN (plan.go).
//
// Results come back in the sources' order, resolved references in refs' order. Once a
// request fails the others have errorGrace to finish; the errors that are causes come back
// joined: the sources' in command-line order, then the references' by variable name. Each
// is an *Error.
func (f *Fetcher) FetchAll(ctx context.Context, sources []Source, refs []ref.VarRef) ([]Result, []Resolved, error) {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := f.newPlan(sources, refs)

	results := make([]Result, len(sources))
	srcErrs := make([]error, len(sources))
	var tasks []func(context.Context) bool // each reports failure
	for i, src := range sources {
		switch src.Kind {
		case SSMPath:
			tasks = append(tasks, func(ctx context.Context) bool {
				results[i], srcErrs[i] = f.fetchPath(ctx, src)
				return srcErrs[i] != nil
			})
		case Secret:
		default:
			srcErrs[i] = fmt.Errorf("unknown source kind %d", src.Kind)
		}
	}
	for _, j := range p.secretJobs() {
		tasks = append(tasks, func(ctx context.Context) bool { return f.getSecret(ctx, j) })
	}
	for _, batch := range p.batches() {
		tasks = append(tasks, func(ctx context.Context) bool { return f.getParameters(ctx, batch) })
	}
	runTasks(ctx, cancel, tasks)

	// Secret sources and references take their values from the shared requests.
	for i, src := range sources {
		if j := p.srcSecret[i]; j != nil {
			results[i], srcErrs[i] = f.secretResult(src, j)
		}
	}
	resolved := make([]Resolved, len(refs))
	refErrs := make([]error, len(refs))
	for i, vr := range refs {
		resolved[i].VarRef = vr
		var err error
		if j := p.refSecret[i]; j != nil {
			resolved[i].Value, err = j.resolve(vr)
		} else if j := p.refParam[i]; j != nil {
			resolved[i].Value, err = j.resolve(vr)
		} else {
			err = &Error{Ref: &vr, Err: fmt.Errorf("unknown reference kind %d", vr.Ref.Kind)}
		}
		refErrs[i] = err
	}
	order := make([]int, len(refs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return refs[order[a]].Var < refs[order[b]].Var })
	errs := srcErrs
	for _, i := range order {
		errs = append(errs, refErrs[i])
	}
	if f.Role != "" {
		for _, err := range errs {
			var e *Error
			if errors.As(err, &e) {
				e.Role = f.Role
			}
		}
	}
	if err := firstErrors(errs, parent.Err() == nil); err != nil {
		return results, nil, err
	}
	return results, resolved, nil
}

// runTasks runs every task at once, at most maxInFlight at a time, and cancels the rest
// errorGrace after the first failure.
func runTasks(ctx context.Context, cancel context.CancelFunc, tasks []func(context.Context) bool) {
	if len(tasks) == 1 { // the common start, one path: no goroutine to hand it to
		tasks[0](ctx)
		return
	}
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	var stopOnce sync.Once
	for _, task := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acquired := false
			select {
			case sem <- struct{}{}:
				acquired = true
			case <-ctx.Done():
			}
			// A task whose turn came after cancellation still runs: it fails at once on
			// the cancelled context and so records why it did not fetch.
			failed := task(ctx)
			if acquired {
				<-sem // only its own slot: freeing another's would exceed maxInFlight
			}
			if failed {
				stopOnce.Do(func() { time.AfterFunc(errorGrace, cancel) })
			}
		}()
	}
	wg.Wait()
}

// firstErrors keeps the errors that are causes, in errs' order; if there are only
// cancellations, the first. The fetches that one error's grace period cut short (ours: the
// parent context, a deadline or a signal, is not done) are named too, as unfinished, so
// that every source that did not deliver is said.
func firstErrors(errs []error, ours bool) error {
	var first *Error
	var kept, cancelled []error
	for _, err := range errs {
		if err == nil {
			continue
		}
		var e *Error
		if errors.As(err, &e) && e.Cancelled {
			cancelled = append(cancelled, err)
			kept = append(kept, err)
			continue
		}
		if first == nil {
			errors.As(err, &first)
		}
		kept = append(kept, err)
	}
	if len(kept) == len(cancelled) {
		if len(cancelled) > 0 {
			return cancelled[0]
		}
		return nil
	}
	out := kept[:0]
	for _, err := range kept {
		var e *Error
		if errors.As(err, &e) && e.Cancelled {
			if !ours || first == nil {
				continue
			}
			u := *e
			u.Attempts = 0
			u.Err = &UnfinishedError{Failed: first.subject(), After: errorGrace, Err: e.Err}
			err = &u
		}
		out = append(out, err)
	}
	return errors.Join(out...)
}

// UnfinishedError is a fetch still running when another failed, stopped errorGrace later:
// it may be fine, or hang.
type UnfinishedError struct {
	Failed string // what failed first: a source, or a variable and its reference
	After  time.Duration
	Err    error // the cancelled request's error
}

func (e *UnfinishedError) Error() string {
	return fmt.Sprintf("not finished when %s failed (stopped %s later)", e.Failed, e.After)
}

func (e *UnfinishedError) Unwrap() error { return e.Err }

func sortItems(items []Item) {
	sort.Slice(items, func(i, j int) bool { return items[i].Var.Name < items[j].Var.Name })
}
