package ref

import (
	"errors"
	"reflect"
	"testing"

	"github.com/secretexec/secretexec/env"
)

func TestScanAndReplace(t *testing.T) {
	environ := env.Unique([]string{
		"A=ssm:///app/A",
		"PLAIN=x",
		"A=sm://shadowed", // getenv sees the first A only
		"ARN=arn:aws:ssm:us-east-1:123456789012:parameter/app/B",
	})
	refs, err := Scan(environ, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0].Var != "A" || refs[0].Ref.ID != "/app/A" {
		t.Fatalf("Scan = %+v", refs)
	}
	if refs, _ := Scan(environ, true); len(refs) != 2 || refs[1].Var != "ARN" {
		t.Fatalf("Scan with ARNs = %+v", refs)
	}
	got := Replace(environ, map[string]string{refs[0].Var: "v"})
	want := []string{"A=v", "PLAIN=x", environ[2]}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Replace = %q, want %q", got, want)
	}
}

func TestScanReportsEveryMalformedOne(t *testing.T) {
	_, err := Scan([]string{"A=ssm://", "B=ok", "C=sm://x#"}, false)
	var se *ScanError
	if !errors.As(err, &se) || se.Var != "A" {
		t.Fatalf("err = %v, want a *ScanError for A first", err)
	}
	if j, ok := err.(interface{ Unwrap() []error }); !ok || len(j.Unwrap()) != 2 {
		t.Fatalf("err = %v, want both A and C", err)
	}
}

// TestScanFirstOfANameOnly: a reference in a later duplicate of a name is not what the
// command sees (getenv takes the first, and env.Unique keeps it alone), so it is neither
// resolved nor, if malformed, an error.
func TestScanFirstOfANameOnly(t *testing.T) {
	refs, err := Scan(env.Unique([]string{"B=plain", "B=ssm:///app/B", "C=x", "C=ssm://", "D=sm://app#K"}), false)
	if err != nil {
		t.Fatalf("err = %v, want none: the malformed C is shadowed", err)
	}
	if len(refs) != 1 || refs[0].Var != "D" {
		t.Fatalf("Scan = %+v, want only D", refs)
	}
}
