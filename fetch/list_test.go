package fetch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/internal/awstest"
)

// listingSSM is the real client with a DescribeParameters that can be made to list a
// parameter that is gone by the time it is read, or names outside the path.
type listingSSM struct {
	*ssm.Client
	extra []string // added to the first page of names
}

func (c *listingSSM) DescribeParameters(ctx context.Context, in *ssm.DescribeParametersInput, opts ...func(*ssm.Options)) (*ssm.DescribeParametersOutput, error) {
	first := in.NextToken == nil
	out, err := c.Client.DescribeParameters(ctx, in, opts...)
	if err == nil && first {
		for _, name := range c.extra {
			out.Parameters = append(out.Parameters, types.ParameterMetadata{Name: aws.String(name)})
		}
	}
	return out, err
}

func TestFetchLargePathListed(t *testing.T) {
	srv := awstest.New(t, awstest.WithLatency(5*time.Millisecond)) // slow enough to list
	ctx := context.Background()
	for i := range 75 {
		if err := srv.PutParameter(ctx, fmt.Sprintf("/app/prod/P%03d", i), fmt.Sprintf("v%d-%s", i, canary), true); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.PutParameter(ctx, "/app/other/X", "x", false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		extra     []string
		wantGets  bool // GetParameters read the listed names
		wantPages int  // GetParametersByPath calls; -1: any
	}{
		// A name listed and then deleted before it is read comes back in InvalidParameters
		// and is left out, as if the listing had come a moment later.
		{"deleted after listing", []string{"/app/prod/GONE"}, true, -1},
		// A listing that ignores the Path filter is not used: paging by path reads it all.
		{"listing ignores the path", []string{"/app/other/X"}, false, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetCalls()
			c := &listingSSM{Client: commandFetcher(srv.Config()).SSM.(*ssm.Client), extra: tc.extra}
			f := &fetch.Fetcher{SSM: c}
			res, _, err := f.FetchAll(ctx, []fetch.Source{path("/app/prod")}, nil)
			if err != nil {
				t.Fatal(err)
			}
			items := res[0].Items
			if len(items) != 75 {
				t.Fatalf("%d variables, want 75", len(items))
			}
			for i, it := range items {
				if want := fmt.Sprintf("P%03d", i); it.Var.Name != want || it.Var.Value != fmt.Sprintf("v%d-%s", i, canary) {
					t.Fatalf("variable %d is %s (value ok: %v), want %s", i, it.Var.Name, it.Var.Value == fmt.Sprintf("v%d-%s", i, canary), want)
				}
			}
			if got := srv.Calls("GetParameters") > 0; got != tc.wantGets {
				t.Errorf("GetParameters used: %v, want %v", got, tc.wantGets)
			}
			if got := srv.Calls("GetParametersByPath"); tc.wantPages >= 0 && got != tc.wantPages {
				t.Errorf("%d GetParametersByPath calls, want %d", got, tc.wantPages)
			}
			if got := srv.TotalCalls(); res[0].Calls != got {
				t.Errorf("Result.Calls %d, the emulator saw %d", res[0].Calls, got)
			}
		})
	}
}
