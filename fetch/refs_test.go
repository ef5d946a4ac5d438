package fetch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/secretexec/secretexec/internal/awstest"
	"github.com/secretexec/secretexec/ref"
)

func mustRef(t *testing.T, s string) ref.Ref {
	t.Helper()
	r, ok, err := ref.Parse(s, true)
	if !ok || err != nil {
		t.Fatalf("ref.Parse(%q) = %v, %v", s, ok, err)
	}
	return r
}

// Different secrets are read concurrently, and parameter batches too.
func TestFetchAllIsConcurrent(t *testing.T) {
	srv := awstest.New(t)
	ctx := context.Background()
	var refs []ref.VarRef
	for i := range 4 {
		id := fmt.Sprintf("app/s%d", i)
		if _, err := srv.CreateSecret(ctx, id, fmt.Sprintf(`{"K":"v%d"}`, i)); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref.VarRef{Var: fmt.Sprintf("S%d", i), Ref: mustRef(t, "sm://"+id+"#K")})
	}
	for i := range 15 {
		name := fmt.Sprintf("/app/p%02d", i)
		if err := srv.PutParameter(ctx, name, fmt.Sprintf("p%d", i), true); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref.VarRef{Var: fmt.Sprintf("P%02d", i), Ref: mustRef(t, "ssm://"+name)})
	}
	srv.AddFault(awstest.Fault{Action: "*", Kind: awstest.Slow, Delay: 200 * time.Millisecond})
	f := commandFetcher(srv.Config())
	_, got, err := f.FetchAll(ctx, nil, refs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		want := fmt.Sprintf("v%d", i)
		if i >= 4 {
			want = fmt.Sprintf("p%d", i-4)
		}
		if r.Var != refs[i].Var || r.Value != want {
			t.Fatalf("resolved[%d] = %s (%d bytes), want %s", i, r.Var, len(r.Value), refs[i].Var)
		}
	}
	if n := srv.Calls("GetSecretValue"); n != 4 {
		t.Fatalf("GetSecretValue calls = %d, want 4", n)
	}
	if n := srv.Calls("GetParameters"); n != 2 {
		t.Fatalf("GetParameters calls = %d, want 2", n)
	}
	if n := srv.MaxInFlight(); n != 6 {
		t.Fatalf("at most %d requests in flight, want all 6 at once", n)
	}
}
