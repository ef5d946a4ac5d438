package fetch_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/secretexec/secretexec/env"
	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/internal/cli"
)

// canary is in every value the fakes return; no error or hint may ever hold it.
const canary = "CANARY-c4n4ry-9d2e"

// fakeSSM answers GetParametersByPath with byPath and records a copy of every request.
type fakeSSM struct {
	byPath func(ctx context.Context, in *ssm.GetParametersByPathInput) (*ssm.GetParametersByPathOutput, error)

	mu    sync.Mutex
	calls []ssm.GetParametersByPathInput
}

func (f *fakeSSM) GetParametersByPath(ctx context.Context, in *ssm.GetParametersByPathInput, _ ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error) {
	f.mu.Lock()
	f.calls = append(f.calls, *in) // a copy: the caller reuses in for the next page
	f.mu.Unlock()
	return f.byPath(ctx, in)
}

func (f *fakeSSM) GetParameters(context.Context, *ssm.GetParametersInput, ...func(*ssm.Options)) (*ssm.GetParametersOutput, error) {
	return nil, errors.New("fake: GetParameters is not expected")
}

// DescribeParameters fails, as for a role without ssm:DescribeParameters: a large path is
// then read by paging alone.
func (f *fakeSSM) DescribeParameters(context.Context, *ssm.DescribeParametersInput, ...func(*ssm.Options)) (*ssm.DescribeParametersOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "fake: not allowed to list"}
}

// fakeSecrets answers GetSecretValue with get and records the ids asked for.
type fakeSecrets struct {
	get func(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns []func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)

	mu  sync.Mutex
	ids []string
}

func (f *fakeSecrets) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.mu.Lock()
	f.ids = append(f.ids, aws.ToString(in.SecretId))
	f.mu.Unlock()
	return f.get(ctx, in, optFns)
}

var (
	_ fetch.SSMAPI     = (*fakeSSM)(nil)
	_ fetch.SecretsAPI = (*fakeSecrets)(nil)
)

// params builds parameters from "NAME=VALUE" pairs.
func params(kvs ...string) []types.Parameter {
	var out []types.Parameter
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, types.Parameter{Name: aws.String(k), Value: aws.String(v)})
	}
	return out
}

// ssmPaths answers each path with one page of its parameters, and an empty page for others.
func ssmPaths(byPath map[string][]types.Parameter) *fakeSSM {
	return &fakeSSM{byPath: func(_ context.Context, in *ssm.GetParametersByPathInput) (*ssm.GetParametersByPathOutput, error) {
		return &ssm.GetParametersByPathOutput{Parameters: byPath[aws.ToString(in.Path)]}, nil
	}}
}

// secretStrings answers each id with its SecretString, and ResourceNotFoundException for others.
func secretStrings(byID map[string]string) *fakeSecrets {
	return &fakeSecrets{get: func(_ context.Context, in *secretsmanager.GetSecretValueInput, _ []func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
		s, ok := byID[aws.ToString(in.SecretId)]
		if !ok {
			return nil, &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret."}
		}
		return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(s)}, nil
	}}
}

func ssmFailing(err error) *fakeSSM {
	return &fakeSSM{byPath: func(context.Context, *ssm.GetParametersByPathInput) (*ssm.GetParametersByPathOutput, error) {
		return nil, err
	}}
}

func secretsFailing(err error) *fakeSecrets {
	return &fakeSecrets{get: func(context.Context, *secretsmanager.GetSecretValueInput, []func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
		return nil, err
	}}
}

func path(p string) fetch.Source { return fetch.Source{Kind: fetch.SSMPath, Path: p} }
func secret(id string) fetch.Source {
	return fetch.Source{Kind: fetch.Secret, SecretID: id}
}

// vars is a result's items as "NAME=VALUE", in order.
func vars(r fetch.Result) []string {
	var out []string
	for _, it := range r.Items {
		out = append(out, it.Var.Name+"="+it.Var.Value)
	}
	return out
}

// sourceError returns err's *fetch.Error, failing the test if there is none, after checking
// that neither its message nor its hint holds the canary.
func sourceError(t *testing.T, err error) *fetch.Error {
	t.Helper()
	noCanary(t, err)
	var se *fetch.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *fetch.Error", err, err)
	}
	return se
}

// noCanary fails the test if a value shows in err's message or in the hint of any
// *fetch.Error it holds.
func noCanary(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if strings.Contains(err.Error(), canary) {
		t.Errorf("error holds a value: %q", err.Error())
	}
	var walk func(error)
	walk = func(err error) {
		var se *fetch.Error
		if errors.As(err, &se) && strings.Contains(cli.Hint(se), canary) {
			t.Errorf("hint holds a value: %q", cli.Hint(se))
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
}

func TestFetchPathPaginates(t *testing.T) {
	for _, recursive := range []bool{false, true} {
		t.Run(fmt.Sprintf("recursive=%v", recursive), func(t *testing.T) {
			pages := []struct {
				token  string // the NextToken the request must carry
				params []types.Parameter
				next   string
			}{
				{"", params("/app/prod/C=c"+canary, "/app/prod/A=a"+canary), "t1"},
				{"t1", params("/app/prod/E=e" + canary), "t2"},
				{"t2", params("/app/prod/B=b"+canary, "/app/prod/D=d"+canary), ""},
			}
			var fake *fakeSSM
			fake = &fakeSSM{byPath: func(_ context.Context, in *ssm.GetParametersByPathInput) (*ssm.GetParametersByPathOutput, error) {
				fake.mu.Lock()
				n := len(fake.calls) - 1
				fake.mu.Unlock()
				if n >= len(pages) {
					return nil, fmt.Errorf("fake: request %d after the last page", n+1)
				}
				p := pages[n]
				if got := aws.ToString(in.NextToken); got != p.token {
					return nil, fmt.Errorf("fake: request %d has NextToken %q, want %q", n+1, got, p.token)
				}
				out := &ssm.GetParametersByPathOutput{Parameters: p.params}
				if p.next != "" {
					out.NextToken = aws.String(p.next)
				}
				return out, nil
			}}
			f := &fetch.Fetcher{SSM: fake}
			src := fetch.Source{Kind: fetch.SSMPath, Path: "/app/prod", Recursive: recursive}
			res, _, err := f.FetchAll(context.Background(), []fetch.Source{src}, nil)
			noCanary(t, err)
			if err != nil {
				t.Fatal(err)
			}
			if len(fake.calls) != 3 {
				t.Fatalf("%d requests, want 3", len(fake.calls))
			}
			for i, in := range fake.calls {
				if in.MaxResults == nil || *in.MaxResults < 1 || *in.MaxResults > 10 {
					t.Errorf("request %d: MaxResults %v, want 1..10 (AWS rejects more)", i+1, aws.ToInt32(in.MaxResults))
				}
				if !aws.ToBool(in.WithDecryption) {
					t.Errorf("request %d: WithDecryption is not true: SecureString values would come back encrypted", i+1)
				}
				if in.Recursive == nil || *in.Recursive != recursive {
					t.Errorf("request %d: Recursive %v, want %v", i+1, aws.ToBool(in.Recursive), recursive)
				}
				if aws.ToString(in.Path) != "/app/prod" {
					t.Errorf("request %d: Path %q", i+1, aws.ToString(in.Path))
				}
				if got, want := aws.ToString(in.NextToken), pages[i].token; got != want {
					t.Errorf("request %d: NextToken %q, want %q", i+1, got, want)
				}
			}
			if len(res) != 1 || res[0].Calls != 3 || res[0].Source != src {
				t.Fatalf("results %+v, want one for %v with 3 calls", res, src)
			}
			want := []string{"A=a" + canary, "B=b" + canary, "C=c" + canary, "D=d" + canary, "E=e" + canary}
			if got := vars(res[0]); !reflect.DeepEqual(got, want) {
				t.Errorf("vars %q, want %q (sorted by name, across pages)", got, want)
			}
			for _, it := range res[0].Items {
				if full := "/app/prod/" + it.Var.Name; it.Key != full || it.Desc != full {
					t.Errorf("item %s: Key %q Desc %q, want the parameter name %q", it.Var.Name, it.Key, it.Desc, full)
				}
			}
		})
	}
}

func TestFetchPathNames(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		params []types.Parameter
		want   []string
	}{
		{"direct children", "/auraxis/prod", params("/auraxis/prod/DB_PASS=p", "/auraxis/prod/DB_HOST=h"), []string{"DB_HOST=h", "DB_PASS=p"}},
		{"nested keys with --recursive", "/app", params("/app/a/b=1", "/app/a/c/d=2", "/app/x=3"), []string{"a_b=1", "a_c_d=2", "x=3"}},
		{"case kept", "/app", params("/app/dbPass=1"), []string{"dbPass=1"}},
		{"dash and dot", "/app", params("/app/db-host=1", "/app/db.port=2"), []string{"db_host=1", "db_port=2"}},
		{"leading digit", "/app", params("/app/1KEY=1"), []string{"_1KEY=1"}},
		{"the root path", "/", params("/DB_PASS=1", "/a/b=2"), []string{"DB_PASS=1", "a_b=2"}},
		{"path given with a trailing slash", "/app/", params("/app/K=1"), []string{"K=1"}},
		{"values byte for byte", "/app", []types.Parameter{{Name: aws.String("/app/V"), Value: aws.String(" a\n'\"$x #=\\ ")}}, []string{"V= a\n'\"$x #=\\ "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fetch.Fetcher{SSM: ssmPaths(map[string][]types.Parameter{tt.path: tt.params})}
			res, _, err := f.FetchAll(context.Background(), []fetch.Source{{Kind: fetch.SSMPath, Path: tt.path, Recursive: true}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := vars(res[0]); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("vars %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFetchPathCollision(t *testing.T) {
	f := &fetch.Fetcher{SSM: ssmPaths(map[string][]types.Parameter{
		"/app": params("/app/db-pass="+canary+"1", "/app/db_pass="+canary+"2"),
	})}
	_, _, err := f.FetchAll(context.Background(), []fetch.Source{path("/app")}, nil)
	se := sourceError(t, err)
	var ce *fetch.CollisionError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *fetch.CollisionError", err)
	}
	want := `ssm path "/app": keys "/app/db-pass" and "/app/db_pass" both map to variable db_pass`
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if h := cli.Hint(se); !strings.Contains(h, "rename one of the keys") {
		t.Errorf("hint %q, want one saying to rename a key", h)
	}
}

func TestFetchPathCollisionAcrossPages(t *testing.T) {
	fake := &fakeSSM{byPath: func(_ context.Context, in *ssm.GetParametersByPathInput) (*ssm.GetParametersByPathOutput, error) {
		if in.NextToken == nil {
			return &ssm.GetParametersByPathOutput{Parameters: params("/app/a.b=" + canary), NextToken: aws.String("t")}, nil
		}
		return &ssm.GetParametersByPathOutput{Parameters: params("/app/a/b=" + canary)}, nil
	}}
	f := &fetch.Fetcher{SSM: fake}
	_, _, err := f.FetchAll(context.Background(), []fetch.Source{{Kind: fetch.SSMPath, Path: "/app", Recursive: true}}, nil)
	sourceError(t, err)
	if !strings.Contains(err.Error(), `"/app/a.b"`) || !strings.Contains(err.Error(), `"/app/a/b"`) {
		t.Errorf("error %q should name both parameters", err)
	}
}

func TestFetchPathParameterNotBelowPath(t *testing.T) {
	tests := []struct {
		name, param string
	}{
		{"a sibling sharing the prefix", "/app/production/X"},
		{"the path itself", "/app/prod"},
		{"the path with a trailing slash", "/app/prod/"},
		{"another tree", "/other/X"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fetch.Fetcher{SSM: ssmPaths(map[string][]types.Parameter{
				"/app/prod": params("/app/prod/OK=1", tt.param+"="+canary),
			})}
			_, _, err := f.FetchAll(context.Background(), []fetch.Source{path("/app/prod")}, nil)
			if err == nil {
				t.Fatalf("parameter %q under --ssm-path /app/prod was used", tt.param)
			}
			sourceError(t, err)
			want := fmt.Sprintf(`ssm path "/app/prod": parameter %q is not below the path`, tt.param)
			if err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
		})
	}
}

func TestFetchPathEmpty(t *testing.T) {
	f := &fetch.Fetcher{SSM: ssmPaths(nil)}
	_, _, err := f.FetchAll(context.Background(), []fetch.Source{path("/app/prdo")}, nil)
	se := sourceError(t, err)
	if !errors.Is(err, fetch.ErrEmptyPath) {
		t.Fatalf("error %v, want ErrEmptyPath", err)
	}
	if want := `ssm path "/app/prdo": no parameters found`; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	for _, s := range []string{"--recursive", "--allow-empty", "case-sensitive"} {
		if !strings.Contains(cli.Hint(se), s) {
			t.Errorf("hint %q does not mention %s", cli.Hint(se), s)
		}
	}

	f.AllowEmpty = true
	res, _, err := f.FetchAll(context.Background(), []fetch.Source{path("/app/prdo")}, nil)
	if err != nil {
		t.Fatalf("with AllowEmpty: %v", err)
	}
	if len(res) != 1 || len(res[0].Items) != 0 {
		t.Errorf("with AllowEmpty: %+v, want one empty result", res)
	}
}

func TestFetchSecretJSON(t *testing.T) {
	f := &fetch.Fetcher{Secrets: secretStrings(map[string]string{
		"auraxis/prod/app": `{"DB_PASS":"p` + canary + `","DB_PORT":5432,"db-host":"h","DEBUG":false,"EXTRA":null,"NESTED":{"a": [1, 2]}}`,
	})}
	res, _, err := f.FetchAll(context.Background(), []fetch.Source{secret("auraxis/prod/app")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"DB_PASS=p" + canary, "DB_PORT=5432", "DEBUG=false", "EXTRA=", "NESTED={\"a\":[1,2]}", "db_host=h"}
	if got := vars(res[0]); !reflect.DeepEqual(got, want) {
		t.Errorf("vars %q, want %q", got, want)
	}
	for _, it := range res[0].Items {
		if it.Desc != "key "+it.Key {
			t.Errorf("item %s: Desc %q, want %q", it.Var.Name, it.Desc, "key "+it.Key)
		}
	}
	if res[0].Calls != 1 {
		t.Errorf("Calls %d, want 1", res[0].Calls)
	}
}

func TestFetchSecretErrors(t *testing.T) {
	tests := []struct {
		name       string
		secret     string
		allowEmpty bool
		want       string // the whole error message
		hint       string // a part of the hint
		is         error
	}{
		{
			name:   "two keys, one name",
			secret: `{"a-b":"` + canary + `","a.b":"` + canary + `"}`,
			want:   `secret "s": keys "a-b" and "a.b" both map to variable a_b`,
			hint:   "rename one of the keys",
		},
		{
			name:   "empty key",
			secret: `{"":"` + canary + `"}`,
			want:   `secret "s": the secret's JSON object has an empty key`,
		},
		{
			name:   "duplicate key",
			secret: `{"K":"` + canary + `","K":"` + canary + `"}`,
			want:   `secret "s": the secret's JSON object has key "K" twice`,
		},
		{
			name:   "empty object",
			secret: `{}`,
			want:   `secret "s": the secret's JSON object has no keys`,
			hint:   "--allow-empty",
			is:     fetch.ErrEmptySecret,
		},
		{
			name:   "a plain string secret",
			secret: canary,
			want:   `secret "s": the secret is not a JSON object: invalid JSON`,
			hint:   "--secret-id NAME=s",
		},
		{
			name:   "a JSON array",
			secret: `["` + canary + `"]`,
			want:   `secret "s": the secret is not a JSON object: it holds a JSON array`,
			hint:   "--secret-id NAME=s",
		},
		{
			name:   "truncated JSON",
			secret: `{"K":"` + canary,
			want:   `secret "s": the secret is not a JSON object: unexpected end at byte 5`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fetch.Fetcher{Secrets: secretStrings(map[string]string{"s": tt.secret}), AllowEmpty: tt.allowEmpty}
			_, _, err := f.FetchAll(context.Background(), []fetch.Source{secret("s")}, nil)
			se := sourceError(t, err)
			if err.Error() != tt.want {
				t.Errorf("error %q, want %q", err, tt.want)
			}
			if !strings.Contains(cli.Hint(se), tt.hint) {
				t.Errorf("hint %q, want it to hold %q", cli.Hint(se), tt.hint)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}

	t.Run("empty object with AllowEmpty", func(t *testing.T) {
		f := &fetch.Fetcher{Secrets: secretStrings(map[string]string{"s": "{}"}), AllowEmpty: true}
		res, _, err := f.FetchAll(context.Background(), []fetch.Source{secret("s")}, nil)
		if err != nil || len(res[0].Items) != 0 {
			t.Errorf("got %+v, %v; want no items, no error", res, err)
		}
	})
}

func TestFetchSecretBind(t *testing.T) {
	value := "-----BEGIN KEY-----\n" + canary + "\n{\"not\": \"parsed\"}\n"
	f := &fetch.Fetcher{Secrets: secretStrings(map[string]string{"app/tls": value})}
	src := fetch.Source{Kind: fetch.Secret, SecretID: "app/tls", Bind: "TLS_KEY"}
	res, _, err := f.FetchAll(context.Background(), []fetch.Source{src}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []fetch.Item{{Key: "app/tls", Var: env.Var{Name: "TLS_KEY", Value: value}, Desc: "whole secret"}}
	if !reflect.DeepEqual(res[0].Items, want) {
		t.Errorf("items %+v, want %+v", res[0].Items, want)
	}
	if got, want := src.String(), `secret "app/tls" (as TLS_KEY)`; got != want {
		t.Errorf("String() %q, want %q", got, want)
	}
}

func TestFetchSecretBinary(t *testing.T) {
	for _, bind := range []string{"", "BLOB"} {
		t.Run("bind="+bind, func(t *testing.T) {
			fake := &fakeSecrets{get: func(context.Context, *secretsmanager.GetSecretValueInput, []func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
				return &secretsmanager.GetSecretValueOutput{SecretBinary: []byte(canary)}, nil
			}}
			f := &fetch.Fetcher{Secrets: fake}
			_, _, err := f.FetchAll(context.Background(), []fetch.Source{{Kind: fetch.Secret, SecretID: "bin", Bind: bind}}, nil)
			se := sourceError(t, err)
			if !errors.Is(err, fetch.ErrBinarySecret) {
				t.Fatalf("error %v, want ErrBinarySecret", err)
			}
			if !strings.Contains(cli.Hint(se), "SecretString") {
				t.Errorf("hint %q should say to store a SecretString", cli.Hint(se))
			}
		})
	}
}

// barrier lets n callers through once all n have arrived. A caller that waits too long gets
// an error, so that a test of concurrency fails rather than hangs when calls are serial.
type barrier struct {
	mu      sync.Mutex
	n       int
	arrived int
	all     chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, all: make(chan struct{})} }

func (b *barrier) wait(ctx context.Context) error {
	b.mu.Lock()
	b.arrived++
	if b.arrived == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(2 * time.Second):
		return errors.New("fake: the other source's call never arrived: sources are not fetched in parallel")
	}
}

func TestFetchConcurrent(t *testing.T) {
	b := newBarrier(2)
	ssmFake := &fakeSSM{byPath: func(ctx context.Context, _ *ssm.GetParametersByPathInput) (*ssm.GetParametersByPathOutput, error) {
		if err := b.wait(ctx); err != nil {
			return nil, err
		}
		return &ssm.GetParametersByPathOutput{Parameters: params("/app/A=1")}, nil
	}}
	secretsFake := &fakeSecrets{get: func(ctx context.Context, _ *secretsmanager.GetSecretValueInput, _ []func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
		if err := b.wait(ctx); err != nil {
			return nil, err
		}
		return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(`{"B":"2"}`)}, nil
	}}
	f := &fetch.Fetcher{SSM: ssmFake, Secrets: secretsFake}
	res, _, err := f.FetchAll(context.Background(), []fetch.Source{path("/app"), secret("s")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(vars(res[0]), vars(res[1])); got != "[A=1] [B=2]" {
		t.Errorf("results %s", got)
	}
}

// Results come back in the sources' order, whatever order the fetches end in.
func TestFetchResultOrder(t *testing.T) {
	// Each path's call waits until the call of the path after it has returned, so they
	// finish last to first.
	paths := []string{"/a", "/b", "/c", "/d"}
	done := map[string]chan struct{}{}
	for _, p := range paths {
		done[p] = make(chan struct{})
	}
	fake := &fakeSSM{byPath: func(ctx context.Context, in *ssm.GetParametersByPathInput) (*ssm.GetParametersByPathOutput, error) {
		p := aws.ToString(in.Path)
		defer close(done[p])
		for i, q := range paths[:len(paths)-1] {
			if q != p {
				continue
			}
			select {
			case <-done[paths[i+1]]:
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(2 * time.Second):
				return nil, errors.New("fake: the next source never finished: sources are not fetched in parallel")
			}
		}
		return &ssm.GetParametersByPathOutput{Parameters: params(p + "/K=" + p)}, nil
	}}
	f := &fetch.Fetcher{SSM: fake}
	var sources []fetch.Source
	for _, p := range paths {
		sources = append(sources, path(p))
	}
	res, _, err := f.FetchAll(context.Background(), sources, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range paths {
		if res[i].Source != sources[i] || fmt.Sprint(vars(res[i])) != "[K="+p+"]" {
			t.Errorf("result %d: %v %q, want %v [K=%s]", i, res[i].Source, vars(res[i]), sources[i], p)
		}
	}
}

func TestFetchErrorMapping(t *testing.T) {
	api := func(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }
	// wrapped is how the SDK returns an API error: inside an OperationError (and more).
	wrapped := func(op string, err error) error {
		return &smithy.OperationError{ServiceID: "SSM", OperationName: op, Err: err}
	}
	const (
		denied   = "User: arn:aws:sts::123456789012:assumed-role/app/i-0 is not authorized to perform this action"
		notFound = "Secrets Manager can't find the specified secret."
		arn      = "arn:aws:secretsmanager:us-east-2:123456789012:secret:auraxis/prod/app-AbCdEf"
	)
	tests := []struct {
		name    string
		src     fetch.Source
		region  string
		err     error    // what the fake returns
		want    string   // the whole message
		hint    []string // parts of the hint; none: no hint
		region2 string   // the Error's Region, if not region
		op      string
	}{
		{
			name:   "ssm access denied",
			src:    path("/auraxis/prod"),
			region: "eu-west-1",
			err:    wrapped("GetParametersByPath", api("AccessDeniedException", denied)),
			want:   `ssm path "/auraxis/prod": AccessDeniedException: ` + denied,
			hint:   []string{"ssm:GetParametersByPath", "arn:aws:ssm:eu-west-1:*:parameter/auraxis/prod, ", "kms:Decrypt"},
		},
		{
			name: "ssm access denied, no region known",
			src:  path("/auraxis/prod"),
			err:  api("AccessDeniedException", denied),
			want: `ssm path "/auraxis/prod": AccessDeniedException: ` + denied,
			hint: []string{"ssm:GetParametersByPath on arn:aws:ssm:*:*:parameter/auraxis/prod, "},
		},
		{
			name:   "secret access denied",
			src:    secret("auraxis/prod/app"),
			region: "eu-west-1",
			err:    api("AccessDeniedException", denied),
			want:   `secret "auraxis/prod/app": AccessDeniedException: ` + denied,
			hint:   []string{"secretsmanager:GetSecretValue on arn:aws:secretsmanager:eu-west-1:*:secret:auraxis/prod/app-??????", "kms:Decrypt"},
		},
		{
			name:    "secret access denied, by ARN in another region",
			src:     secret(arn),
			region:  "eu-west-1",
			err:     api("AccessDeniedException", denied),
			want:    `secret "` + arn + `": AccessDeniedException: ` + denied,
			hint:    []string{"secretsmanager:GetSecretValue on " + arn + ","},
			region2: "us-east-2",
		},
		{
			name:   "secret not found",
			src:    secret("auraxis/prod/app"),
			region: "eu-west-1",
			err:    api("ResourceNotFoundException", notFound),
			want:   `secret "auraxis/prod/app": ResourceNotFoundException: ` + notFound,
			hint:   []string{"in region eu-west-1", "--region", "case-sensitive"},
		},
		{
			name:    "secret not found, by ARN: the ARN's region",
			src:     secret(arn),
			region:  "eu-west-1",
			err:     api("ResourceNotFoundException", notFound),
			want:    `secret "` + arn + `": ResourceNotFoundException: ` + notFound,
			hint:    []string{"in region us-east-2"},
			region2: "us-east-2",
		},
		{
			name:   "bound secret not found",
			src:    fetch.Source{Kind: fetch.Secret, SecretID: "tls", Bind: "TLS"},
			region: "eu-west-1",
			err:    api("ResourceNotFoundException", notFound),
			want:   `secret "tls" (as TLS): ResourceNotFoundException: ` + notFound,
			hint:   []string{"in region eu-west-1"},
		},
		{
			name:   "decryption failure",
			src:    secret("app"),
			region: "eu-west-1",
			err:    api("DecryptionFailure", "Secrets Manager can't decrypt the protected secret text using the provided KMS key."),
			want:   `secret "app": DecryptionFailure: Secrets Manager can't decrypt the protected secret text using the provided KMS key.`,
			hint:   []string{"kms:Decrypt", "kms:ViaService"},
		},
		{
			name: "ssm validation",
			src:  path("/a//b"),
			err:  api("ValidationException", "Parameter path: can't be prefixed with \"aws\" or \"ssm\""),
			want: `ssm path "/a//b": ValidationException: Parameter path: can't be prefixed with "aws" or "ssm"`,
			hint: []string{"starts with /", "15 levels"},
		},
		{
			name: "secret validation has no path hint",
			src:  secret("app"),
			err:  api("ValidationException", "bad"),
			want: `secret "app": ValidationException: bad`,
		},
		{
			name: "throttling",
			src:  path("/app"),
			err:  api("ThrottlingException", "Rate exceeded"),
			want: `ssm path "/app": ThrottlingException: Rate exceeded`,
			hint: []string{"--retries", "--timeout"},
		},
		{
			name: "throttling after retries ran out",
			src:  path("/app"),
			err:  attempts(3, &retry.MaxAttemptsError{Attempt: 3, Err: wrapped("GetParametersByPath", api("ThrottlingException", "Rate exceeded"))}),
			want: `ssm path "/app": ThrottlingException: Rate exceeded (after 3 attempts)`,
			hint: []string{"--retries"},
		},
		{
			name: "a network error after retries ran out",
			src:  secret("app"),
			err:  attempts(5, &retry.MaxAttemptsError{Attempt: 5, Err: errors.New("read: connection reset by peer")}),
			want: `secret "app": read: connection reset by peer (after 5 attempts)`,
		},
		{
			name: "one attempt is not counted",
			src:  path("/app"),
			err:  attempts(1, &retry.MaxAttemptsError{Attempt: 1, Err: api("ThrottlingException", "Rate exceeded")}),
			want: `ssm path "/app": ThrottlingException: Rate exceeded`,
			hint: []string{"--retries"},
		},
		{
			name: "expired credentials",
			src:  path("/app"),
			err:  api("ExpiredTokenException", "The security token included in the request is expired"),
			want: `ssm path "/app": ExpiredTokenException: The security token included in the request is expired`,
			hint: []string{"credentials"},
		},
		{
			name: "an API error with no message prints its code",
			src:  path("/app"),
			err:  api("InternalServerError", ""),
			want: `ssm path "/app": InternalServerError`,
		},
		{
			name: "not an API error",
			src:  secret("app"),
			err:  errors.New("dial tcp: lookup secretsmanager.eu-west-1.amazonaws.com: no such host"),
			want: `secret "app": dial tcp: lookup secretsmanager.eu-west-1.amazonaws.com: no such host`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fetch.Fetcher{SSM: ssmFailing(tt.err), Secrets: secretsFailing(tt.err), Region: tt.region}
			_, _, err := f.FetchAll(context.Background(), []fetch.Source{tt.src}, nil)
			se := sourceError(t, err)
			if err.Error() != tt.want {
				t.Errorf("error\n got %q\nwant %q", err, tt.want)
			}
			hint := cli.Hint(se)
			if len(tt.hint) == 0 && hint != "" {
				t.Errorf("hint %q, want none", hint)
			}
			for _, h := range tt.hint {
				if !strings.Contains(hint, h) {
					t.Errorf("hint %q does not hold %q", hint, h)
				}
			}
			wantRegion := tt.region
			if tt.region2 != "" {
				wantRegion = tt.region2
			}
			if se.Region != wantRegion {
				t.Errorf("Region %q, want %q", se.Region, wantRegion)
			}
			wantOp := map[fetch.Kind]string{fetch.SSMPath: "GetParametersByPath", fetch.Secret: "GetSecretValue"}[tt.src.Kind]
			if se.Op != wantOp {
				t.Errorf("Op %q, want %q", se.Op, wantOp)
			}
			// The AWS error stays reachable by type, for callers deciding on its code.
			var want smithy.APIError
			if errors.As(tt.err, &want) {
				var got smithy.APIError
				if !errors.As(err, &got) || got.ErrorCode() != want.ErrorCode() {
					t.Errorf("errors.As(smithy.APIError) lost the code %s", want.ErrorCode())
				}
			}
		})
	}
}

// When two sources fail, both errors come back, in command-line order, whatever order they
// failed in.
func TestFetchErrorsJoinedInOrder(t *testing.T) {
	secretFailed := make(chan struct{})
	ssmFake := &fakeSSM{byPath: func(ctx context.Context, _ *ssm.GetParametersByPathInput) (*ssm.GetParametersByPathOutput, error) {
		select { // fail after the secret, which comes later on the command line
		case <-secretFailed:
		case <-time.After(2 * time.Second):
			return nil, errors.New("fake: the secret never failed")
		}
		return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "denied"}
	}}
	secretsFake := &fakeSecrets{get: func(context.Context, *secretsmanager.GetSecretValueInput, []func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
		defer close(secretFailed)
		return nil, &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "not found"}
	}}
	f := &fetch.Fetcher{SSM: ssmFake, Secrets: secretsFake}
	_, _, err := f.FetchAll(context.Background(), []fetch.Source{path("/app"), secret("s")}, nil)
	noCanary(t, err)
	want := `ssm path "/app": AccessDeniedException: denied` + "\n" + `secret "s": ResourceNotFoundException: not found`
	if err == nil || err.Error() != want {
		t.Errorf("error\n got %q\nwant %q", err, want)
	}
}

// One failing source does not wait for a hanging one: the others get a short grace and are
// cancelled; the cause is reported, and the hanging one named as unfinished.
func TestFetchFailFastWithAHangingSource(t *testing.T) {
	ssmFake := &fakeSSM{byPath: func(ctx context.Context, _ *ssm.GetParametersByPathInput) (*ssm.GetParametersByPathOutput, error) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Second):
			return nil, errors.New("fake: never cancelled")
		}
	}}
	f := &fetch.Fetcher{SSM: ssmFake, Secrets: secretsFailing(&smithy.GenericAPIError{Code: "AccessDeniedException", Message: "denied"})}
	start := time.Now()
	_, _, err := f.FetchAll(context.Background(), []fetch.Source{path("/hangs"), secret("s")}, nil)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Fetch took %v with a hanging source", d)
	}
	want := `ssm path "/hangs": not finished when secret "s" failed (stopped 1s later)` + "\n" + `secret "s": AccessDeniedException: denied`
	if err == nil || err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	var ue *fetch.UnfinishedError
	if !errors.As(err, &ue) || ue.Failed != `secret "s"` {
		t.Errorf("errors.As(UnfinishedError): %v", ue)
	}
}

// When the caller's deadline ends the fetch, the error says which source was cut short.
func TestFetchDeadline(t *testing.T) {
	ssmFake := &fakeSSM{byPath: func(ctx context.Context, _ *ssm.GetParametersByPathInput) (*ssm.GetParametersByPathOutput, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := (&fetch.Fetcher{SSM: ssmFake}).FetchAll(ctx, []fetch.Source{path("/slow")}, nil)
	se := sourceError(t, err)
	if !se.Cancelled || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v: Cancelled %v, want a cancelled DeadlineExceeded", err, se.Cancelled)
	}
	if !strings.HasPrefix(err.Error(), `ssm path "/slow": `) {
		t.Errorf("error %q does not name the source", err)
	}
}

func TestFetchSecretRegionFromARN(t *testing.T) {
	tests := []struct {
		name       string
		id         string
		region     string
		wantRegion string // the client's region after the call's options
	}{
		{"ARN in another region", "arn:aws:secretsmanager:us-east-2:123456789012:secret:app-AbCdEf", "eu-west-1", "us-east-2"},
		{"ARN with no region configured", "arn:aws:secretsmanager:us-east-2:123456789012:secret:app-AbCdEf", "", "us-east-2"},
		{"ARN in the same region", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-AbCdEf", "eu-west-1", "eu-west-1"},
		{"GovCloud partition", "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:app-AbCdEf", "eu-west-1", "us-gov-west-1"},
		{"a name", "auraxis/prod/app", "eu-west-1", "eu-west-1"},
		{"an ARN of another service", "arn:aws:ssm:us-east-2:123456789012:parameter/app", "eu-west-1", "eu-west-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			fake := &fakeSecrets{get: func(_ context.Context, _ *secretsmanager.GetSecretValueInput, optFns []func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
				o := secretsmanager.Options{Region: tt.region}
				for _, fn := range optFns {
					fn(&o)
				}
				got = o.Region
				return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(`{"K":"v"}`)}, nil
			}}
			f := &fetch.Fetcher{Secrets: fake, Region: tt.region}
			if _, _, err := f.FetchAll(context.Background(), []fetch.Source{secret(tt.id)}, nil); err != nil {
				t.Fatal(err)
			}
			if got != tt.wantRegion {
				t.Errorf("the call went to region %q, want %q", got, tt.wantRegion)
			}
			if fake.ids[0] != tt.id {
				t.Errorf("SecretId %q, want %q as given", fake.ids[0], tt.id)
			}
		})
	}
}

func TestARNRegion(t *testing.T) {
	tests := []struct {
		name    string
		sources []fetch.Source
		want    string
	}{
		{"none", nil, ""},
		{"names only", []fetch.Source{secret("a"), path("/p")}, ""},
		{"the first ARN", []fetch.Source{path("/p"), secret("a"), secret("arn:aws:secretsmanager:ap-south-1:123456789012:secret:x"), secret("arn:aws:secretsmanager:us-east-1:123456789012:secret:y")}, "ap-south-1"},
		// ref's one rule for ARNs and regions: what sm:// refuses names no region here.
		{"an upper-case region", []fetch.Source{secret("arn:aws:secretsmanager:US-EAST-1:123456789012:secret:x")}, ""},
		{"an SSM path is never an ARN", []fetch.Source{path("arn:aws:secretsmanager:us-east-1:1:secret:y")}, ""},
		{"a short ARN", []fetch.Source{secret("arn:aws:secretsmanager:us-east-1")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fetch.ARNRegion(tt.sources); got != tt.want {
				t.Errorf("ARNRegion = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSourceString(t *testing.T) {
	tests := []struct {
		src  fetch.Source
		want string
	}{
		{path("/auraxis/prod"), `ssm path "/auraxis/prod"`},
		{fetch.Source{Kind: fetch.SSMPath, Path: "/a", Recursive: true}, `ssm path "/a"`},
		{secret("auraxis/prod/app"), `secret "auraxis/prod/app"`},
		{fetch.Source{Kind: fetch.Secret, SecretID: "tls", Bind: "TLS_KEY"}, `secret "tls" (as TLS_KEY)`},
		{path("/a\nb"), `ssm path "/a\nb"`},
	}
	for _, tt := range tests {
		if got := tt.src.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.src, got, tt.want)
		}
	}
}

// Every way a source can fail, with the canary in every value the fakes hold: no message
// and no hint may show one.
func TestErrorsNeverHoldValues(t *testing.T) {
	ssmSources := map[string][]types.Parameter{
		"/collide":  params("/collide/a-b="+canary, "/collide/a_b="+canary),
		"/outside":  params("/outsider/X=" + canary),
		"/self":     params("/self=" + canary),
		"/deep":     params("/deep/a/b=" + canary), // fine: a value, not an error
		"/denied":   nil,
		"/throttle": nil,
	}
	ssmFake := &fakeSSM{byPath: func(_ context.Context, in *ssm.GetParametersByPathInput) (*ssm.GetParametersByPathOutput, error) {
		switch p := aws.ToString(in.Path); p {
		case "/denied":
			return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "denied"}
		case "/throttle":
			return nil, attempts(3, &retry.MaxAttemptsError{Attempt: 3, Err: &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}})
		default:
			return &ssm.GetParametersByPathOutput{Parameters: ssmSources[p]}, nil
		}
	}}
	secrets := map[string]string{
		"plain":     canary,
		"spaced":    "  " + canary + "  ",
		"badjson":   `{"K": ` + canary + `}`,
		"badjson2":  `{"K": "v", ` + canary + `}`,
		"badjson3":  `{"K": "` + canary + `" x}`,
		"truncated": `{"K": "` + canary,
		"array":     `["` + canary + `"]`,
		"string":    `"` + canary + `"`,
		"number":    `12345` + canary,
		"trailing":  `{"K": "v"}` + canary,
		"trailing2": `{"K": "v"} {"` + canary + `": 1}`,
		"dup":       `{"K": "` + canary + `", "K": "` + canary + `"}`,
		"collide":   `{"a.b": "` + canary + `", "a-b": "` + canary + `"}`,
		"emptykey":  `{"": "` + canary + `"}`,
		"ctrl":      "{\"K\": \"" + canary + "\x01\"}",
	}
	secretsFake := &fakeSecrets{get: func(_ context.Context, in *secretsmanager.GetSecretValueInput, _ []func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
		id := aws.ToString(in.SecretId)
		if id == "binary" {
			return &secretsmanager.GetSecretValueOutput{SecretBinary: []byte(canary)}, nil
		}
		return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(secrets[id])}, nil
	}}
	var sources []fetch.Source
	for p := range ssmSources {
		if p != "/deep" {
			sources = append(sources, path(p))
		}
	}
	for id := range secrets {
		sources = append(sources, secret(id))
	}
	sources = append(sources, secret("binary"))
	f := &fetch.Fetcher{SSM: ssmFake, Secrets: secretsFake, Region: "eu-west-1"}
	_, _, err := f.FetchAll(context.Background(), sources, nil)
	if err == nil {
		t.Fatal("no error")
	}
	noCanary(t, err)
	// Every source failed, each on its own line.
	if n := strings.Count(err.Error(), "\n") + 1; n != len(sources) {
		t.Errorf("%d errors for %d failing sources:\n%s", n, len(sources), err)
	}
	// One at a time too, as a lone failure.
	for _, src := range sources {
		_, _, err := f.FetchAll(context.Background(), []fetch.Source{src}, nil)
		if err == nil {
			t.Errorf("%v: no error", src)
			continue
		}
		sourceError(t, err)
	}
}

// attempts wraps err as the command's clients return a call that made n attempts.
func attempts(n int, err error) error { return &fetch.AttemptsError{Attempts: n, Err: err} }
