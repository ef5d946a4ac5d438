package fetch

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/secretexec/secretexec/internal/awsapi"
	"github.com/secretexec/secretexec/ref"
)

// maxNames is the most names one GetParameters call may carry; AWS rejects more with a
// ValidationException.
const maxNames = 10

// errorGrace is how long the other requests may still run once one has failed, so that one
// run reports every broken source and reference, while fail-fast still holds when one hangs.
const errorGrace = time.Second

// maxInFlight bounds the AWS requests one fetch has open at once, so that an environment
// with hundreds of references does not open hundreds of connections in one burst.
const maxInFlight = 16

// VarRef is an inherited variable whose value is a reference.
type VarRef struct {
	Var string
	Ref ref.Ref
}

// Resolved is the value a reference named.
type Resolved struct {
	VarRef
	Value string
}

// ErrParameterNotFound is a parameter name, version or label GetParameters listed in
// InvalidParameters: it does not exist, or not in that region or account.
var ErrParameterNotFound = errors.New("parameter not found")

// ErrNoKey is an sm://ID#KEY whose secret is a JSON object without KEY.
var ErrNoKey = errors.New("the secret's JSON object has no such key")

// RefError is a reference that could not be resolved. It names the variable and the
// reference, never a value.
type RefError struct {
	VarRef
	Op        string // the AWS operation, if the error came from AWS
	Region    string // the region the request went to
	Attempts  int
	Cancelled bool
	Err       error
}

func (e *RefError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "variable %s: %s: %s", e.Var, e.Ref, e.Err)
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

func (e *RefError) Unwrap() error { return e.Err }

// Hint says what to do about the error, or "".
func (e *RefError) Hint() string {
	r := e.Ref
	switch {
	case errors.Is(e.Err, ErrParameterNotFound):
		what := "the name (case-sensitive, a hierarchical name starts with /)"
		if r.Version != 0 || r.Label != "" {
			what = "the name and that the version or label exists"
		}
		return fmt.Sprintf("check %s and the region (%s); a parameter shared from another account needs its full ARN", what, regionOr(e.Region))
	case errors.Is(e.Err, ErrNoKey):
		return fmt.Sprintf("check the key's spelling (keys are case-sensitive); %s%s without a key takes the whole secret", ref.FormSM, r.ID)
	case errors.Is(e.Err, ErrBinarySecret):
		return "secretexec reads SecretString only; store the value as a string (base64 if it must be binary)"
	}
	var je *JSONError
	if errors.As(e.Err, &je) {
		return fmt.Sprintf("only a JSON object has keys; %s%s without a key takes the whole secret", ref.FormSM, r.ID)
	}
	secretID := ""
	if r.Kind == ref.Secret {
		secretID = r.ID
	}
	if h, ok := kmsHint(e.Err, secretID); ok {
		return h
	}
	code := errorCode(e.Err)
	if r.Kind == ref.SSM {
		if code == "AccessDeniedException" {
			return fmt.Sprintf("the role needs ssm:GetParameters on %s, and kms:Decrypt on the key of a SecureString parameter", paramResource(r, e.Region))
		}
		return commonHint(code)
	}
	switch code {
	case "AccessDeniedException":
		return fmt.Sprintf("the role needs secretsmanager:GetSecretValue on %s, and kms:Decrypt on the secret's key if it is a customer managed key", secretResource(r.ID, e.Region))
	case "ResourceNotFoundException":
		if r.VersionStage != "" || r.VersionID != "" {
			return fmt.Sprintf("no secret with this name or ARN in region %s, or it has no version with this stage or id", regionOr(e.Region))
		}
	}
	return secretHint(code, e.Region)
}

func (e *RefError) cancelled() bool { return e.Cancelled }

// paramResource is the IAM resource of the parameter a reference names.
func paramResource(r ref.Ref, region string) string {
	if strings.HasPrefix(r.ID, "arn:") {
		return r.ID
	}
	return fmt.Sprintf("arn:aws:ssm:%s:*:parameter/%s", regionOr(region), strings.TrimPrefix(r.Name, "/"))
}

// secretKey identifies one GetSecretValue request: a --secret-id and every sm:// or ECS
// reference with the same key share one call.
type secretKey struct {
	id, stage, versionID, region string
}

type secretJob struct {
	key    secretKey
	value  string
	err    *SourceError // from AWS, or the secret has no SecretString
	calls  int
	kvs    map[string]string // the JSON object, parsed once on first use
	kvsErr error
}

// paramKey identifies one name in a GetParameters request: the name or ARN with its
// selector, and the region the request goes to.
type paramKey struct {
	name, region string
}

type paramJob struct {
	key   paramKey
	value string
	err   *SourceError
}

// plan is one fetch: every source and reference, with the AWS requests they need
// deduplicated.
type plan struct {
	f         *Fetcher
	sources   []Source
	refs      []VarRef
	secrets   map[secretKey]*secretJob
	srcSecret []*secretJob // parallel to sources: the job of a Secret source
	refSecret []*secretJob // parallel to refs
	params    map[paramKey]*paramJob
	refParam  []*paramJob // parallel to refs
}

func (f *Fetcher) region(arnRegion string) string {
	if arnRegion != "" {
		return arnRegion
	}
	return f.Region
}

func (f *Fetcher) newPlan(sources []Source, refs []VarRef) *plan {
	p := &plan{
		f: f, sources: sources, refs: refs,
		secrets:   map[secretKey]*secretJob{},
		srcSecret: make([]*secretJob, len(sources)),
		refSecret: make([]*secretJob, len(refs)),
		params:    map[paramKey]*paramJob{},
		refParam:  make([]*paramJob, len(refs)),
	}
	for i, s := range sources {
		if s.Kind == Secret {
			p.srcSecret[i] = p.secret(secretKey{id: s.SecretID, region: f.region(arnRegion(s.SecretID, "secretsmanager"))})
		}
	}
	for i, vr := range refs {
		r := vr.Ref
		switch r.Kind {
		case ref.Secret:
			stage := r.VersionStage
			if stage == "AWSCURRENT" && r.VersionID == "" {
				stage = "" // what GetSecretValue returns when given neither
			}
			p.refSecret[i] = p.secret(secretKey{id: r.ID, stage: stage, versionID: r.VersionID, region: f.region(r.Region)})
		case ref.SSM:
			k := paramKey{name: r.SSMName(), region: f.region(r.Region)}
			j := p.params[k]
			if j == nil {
				j = &paramJob{key: k}
				p.params[k] = j
			}
			p.refParam[i] = j
		}
	}
	return p
}

func (p *plan) secret(k secretKey) *secretJob {
	j := p.secrets[k]
	if j == nil {
		j = &secretJob{key: k}
		p.secrets[k] = j
	}
	return j
}

// batches groups the parameter names by region, sorted, at most maxNames per request.
func (p *plan) batches() [][]*paramJob {
	byRegion := map[string][]*paramJob{}
	for _, j := range p.params {
		byRegion[j.key.region] = append(byRegion[j.key.region], j)
	}
	regions := make([]string, 0, len(byRegion))
	for r := range byRegion {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	var out [][]*paramJob
	for _, r := range regions {
		jobs := byRegion[r]
		sort.Slice(jobs, func(a, b int) bool { return jobs[a].key.name < jobs[b].key.name })
		for len(jobs) > 0 {
			n := min(len(jobs), maxNames)
			out = append(out, jobs[:n])
			jobs = jobs[n:]
		}
	}
	return out
}

// FetchAll reads every source and resolves every reference in one fetch: a secret named
// by several sources or references (same id, version stage, version id and region) is
// read once, parameter names are deduplicated and read with GetParameters, at most ten
// per call, and all requests run concurrently, each in the region of its ARN.
//
// Results come back in the sources' order, resolved references in refs' order. Once a
// request fails the others have errorGrace to finish; the errors that are causes come back
// joined: the sources' in command-line order, then the references' by variable name.
func (f *Fetcher) FetchAll(ctx context.Context, sources []Source, refs []VarRef) ([]Result, []Resolved, error) {
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
				var se *SourceError
				if errors.As(srcErrs[i], &se) && se.Region == "" {
					se.Region = f.Region
				}
				return srcErrs[i] != nil
			})
		case Secret:
		default:
			srcErrs[i] = fmt.Errorf("unknown source kind %d", src.Kind)
		}
	}
	secretJobs := make([]*secretJob, 0, len(p.secrets))
	for _, j := range p.secrets {
		secretJobs = append(secretJobs, j)
	}
	sort.Slice(secretJobs, func(a, b int) bool { return secretJobs[a].key.id < secretJobs[b].key.id })
	for _, j := range secretJobs {
		tasks = append(tasks, func(ctx context.Context) bool { return f.getSecret(ctx, j) })
	}
	for _, batch := range p.batches() {
		tasks = append(tasks, func(ctx context.Context) bool { return f.getParameters(ctx, batch) })
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
			err = &RefError{VarRef: vr, Err: fmt.Errorf("unknown reference kind %d", vr.Ref.Kind)}
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
	if err := firstErrors(ctx, errs); err != nil {
		return results, nil, err
	}
	return results, resolved, nil
}

// getSecret makes the one GetSecretValue request of a job.
func (f *Fetcher) getSecret(ctx context.Context, j *secretJob) bool {
	k := j.key
	src := Source{Kind: Secret, SecretID: k.id}
	in := &awsapi.GetSecretValueInput{SecretId: aws.String(k.id)}
	if k.stage != "" {
		in.VersionStage = aws.String(k.stage)
	}
	if k.versionID != "" {
		in.VersionId = aws.String(k.versionID)
	}
	var opts []func(*awsapi.Options)
	if k.region != f.Region {
		opts = append(opts, func(o *awsapi.Options) { o.Region = k.region })
	}
	j.calls = 1
	out, err := f.Secrets.GetSecretValue(ctx, in, opts...)
	switch {
	case err != nil:
		j.err = newSourceError(ctx, src, "GetSecretValue", err)
	case out.SecretString != nil:
		j.value = *out.SecretString
	case out.SecretBinary != nil:
		j.err = &SourceError{Source: src, Err: ErrBinarySecret}
	default:
		j.err = &SourceError{Source: src, Err: errors.New("the secret has no SecretString")}
	}
	if j.err != nil {
		j.err.Region = k.region
	}
	return j.err != nil
}

// getParameters makes one GetParameters request for up to maxNames jobs of one region.
func (f *Fetcher) getParameters(ctx context.Context, batch []*paramJob) bool {
	region := batch[0].key.region
	names := make([]string, len(batch))
	for i, j := range batch {
		names[i] = j.key.name
	}
	var opts []func(*awsapi.Options)
	if region != f.Region {
		opts = append(opts, func(o *awsapi.Options) { o.Region = region })
	}
	out, err := f.SSM.GetParameters(ctx, &awsapi.GetParametersInput{Names: names, WithDecryption: aws.Bool(true)}, opts...)
	if err != nil {
		se := newSourceError(ctx, Source{}, "GetParameters", err)
		se.Region = region
		for _, j := range batch {
			j.err = se
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
			j.err = &SourceError{Op: "GetParameters", Region: region, Err: ErrParameterNotFound}
		default:
			// Neither returned nor reported invalid: never expected, never guessed at.
			j.err = &SourceError{Op: "GetParameters", Region: region, Err: errors.New("parameter missing from the GetParameters answer")}
		}
		failed = failed || j.err != nil
	}
	return failed
}

func (j *paramJob) resolve(vr VarRef) (string, error) {
	if j.err != nil {
		return "", refError(vr, j.err)
	}
	return j.value, nil
}

func (j *secretJob) resolve(vr VarRef) (string, error) {
	if j.err != nil {
		return "", refError(vr, j.err)
	}
	if vr.Ref.JSONKey == "" {
		return j.value, nil
	}
	if j.kvs == nil && j.kvsErr == nil {
		kvs, err := JSONObject(j.value)
		if err != nil {
			j.kvsErr = err
		} else {
			j.kvs = make(map[string]string, len(kvs))
			for _, kv := range kvs {
				j.kvs[kv.Key] = kv.Value
			}
		}
	}
	if j.kvsErr != nil {
		return "", &RefError{VarRef: vr, Region: j.key.region, Err: j.kvsErr}
	}
	v, ok := j.kvs[vr.Ref.JSONKey]
	if !ok {
		return "", &RefError{VarRef: vr, Region: j.key.region, Err: ErrNoKey}
	}
	return v, nil
}

func refError(vr VarRef, se *SourceError) *RefError {
	return &RefError{VarRef: vr, Op: se.Op, Region: se.Region, Attempts: se.Attempts, Cancelled: se.Cancelled, Err: se.Err}
}

// secretResult turns a shared secret request into a source's variables.
func (f *Fetcher) secretResult(src Source, j *secretJob) (Result, error) {
	res := Result{Source: src, Calls: j.calls}
	if j.err != nil {
		se := *j.err
		se.Source = src
		return res, &se
	}
	return f.secretItems(res, j.value)
}

// RefsRegion returns the region of the first reference given as an ARN, for configurations
// that give no region otherwise.
func RefsRegion(refs []VarRef) string {
	for _, vr := range refs {
		if vr.Ref.Region != "" {
			return vr.Ref.Region
		}
	}
	return ""
}
