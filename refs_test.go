package main

import (
	"errors"
	"reflect"
	"testing"

	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/ref"
)

func TestScanAndReplaceRefs(t *testing.T) {
	environ := []string{
		"A=ssm:///app/A",
		"PLAIN=x",
		"A=sm://shadowed", // getenv sees the first A only
		"ARN=arn:aws:ssm:us-east-1:123456789012:parameter/app/B",
	}
	refs, err := scanRefs(environ, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0].Var != "A" || refs[0].Ref.ID != "/app/A" {
		t.Fatalf("scanRefs = %+v", refs)
	}
	if refs, _ := scanRefs(environ, true); len(refs) != 2 || refs[1].Var != "ARN" {
		t.Fatalf("scanRefs with ARNs = %+v", refs)
	}
	got := replaceRefs(environ, []fetch.Resolved{{VarRef: refs[0], Value: "v"}})
	want := []string{"A=v", "PLAIN=x", environ[3]}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("replaceRefs = %q, want %q", got, want)
	}
}

func TestScanRefsReportsEveryMalformedOne(t *testing.T) {
	_, err := scanRefs([]string{"A=ssm://", "B=ok", "C=sm://x#"}, false)
	var ue *usageError
	if !errors.As(err, &ue) || ue.hint != ref.Hint {
		t.Fatalf("err = %v, want a usage error with ref.Hint", err)
	}
	if j, ok := err.(interface{ Unwrap() []error }); !ok || len(j.Unwrap()) != 2 {
		t.Fatalf("err = %v, want both A and C", err)
	}
}

// TestScanRefsFirstOfANameOnly: a reference in a later duplicate of a name is not what the
// command sees (getenv takes the first), so it is neither resolved nor, if malformed, an
// error.
func TestScanRefsFirstOfANameOnly(t *testing.T) {
	refs, err := scanRefs([]string{"B=plain", "B=ssm:///app/B", "C=x", "C=ssm://", "D=sm://app#K"}, false)
	if err != nil {
		t.Fatalf("err = %v, want none: the malformed C is shadowed", err)
	}
	if len(refs) != 1 || refs[0].Var != "D" {
		t.Fatalf("scanRefs = %+v, want only D", refs)
	}
}
