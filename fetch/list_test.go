package fetch_test

import (
	"cmp"
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

// noListSSM is the real client without DescribeParameters, failing before any request: a
// start that pages by path alone, to count what that costs.
type noListSSM struct{ *ssm.Client }

func (noListSSM) DescribeParameters(context.Context, *ssm.DescribeParametersInput, ...func(*ssm.Options)) (*ssm.DescribeParametersOutput, error) {
	return nil, fmt.Errorf("no listing")
}

// TestListingBound counts the requests of a 1000-parameter path under each way the server
// may page DescribeParameters, against paging by path alone. The bound (list.go): a listing
// whose pages hold fewer than 25 names, is denied or throttled costs exactly one request
// more (its trial page) and no GetParameters; with full pages it costs one DescribeParameters
// per 50 names plus at most 7 overlapping requests, and is faster.
func TestListingBound(t *testing.T) {
	const describePage = 50
	if testing.Short() {
		t.Skip("seeds 1000 parameters")
	}
	const n = 1000
	srv := awstest.New(t, awstest.WithLatency(5*time.Millisecond)) // slow enough to list
	ctx := context.Background()
	for i := range n {
		if err := srv.PutParameter(ctx, fmt.Sprintf("/big/P%04d", i), fmt.Sprintf("v%d-%s", i, canary), true); err != nil {
			t.Fatal(err)
		}
	}
	read := func(t *testing.T, f *fetch.Fetcher) (calls map[string]int, total int, took time.Duration) {
		t.Helper()
		srv.ResetCalls()
		start := time.Now()
		res, _, err := f.FetchAll(ctx, []fetch.Source{path("/big")}, nil)
		took = time.Since(start)
		noCanary(t, err)
		if err != nil {
			t.Fatal(err)
		}
		if len(res[0].Items) != n {
			t.Fatalf("%d variables, want %d", len(res[0].Items), n)
		}
		for i, it := range res[0].Items {
			if it.Var.Value != fmt.Sprintf("v%d-%s", i, canary) {
				t.Fatalf("variable %s has the wrong value", it.Var.Name)
			}
		}
		if _, alone := f.SSM.(noListSSM); !alone && res[0].Calls != srv.TotalCalls() {
			t.Errorf("Result.Calls %d, the emulator saw %d", res[0].Calls, srv.TotalCalls())
		}
		calls = map[string]int{}
		for _, a := range []string{"GetParametersByPath", "DescribeParameters", "GetParameters"} {
			calls[a] = srv.Calls(a)
		}
		return calls, srv.TotalCalls(), took
	}
	client := commandFetcher(srv.Config()).SSM.(*ssm.Client)
	_, alone, aloneTook := read(t, &fetch.Fetcher{SSM: noListSSM{client}})
	t.Logf("paging by path alone: %d requests, %s", alone, aloneTook.Round(time.Millisecond))
	if alone != n/10 && alone != n/10+1 {
		t.Fatalf("paging by path alone took %d requests, want about %d", alone, n/10)
	}

	for _, tc := range []struct {
		name   string
		paging awstest.DescribePaging
		fault  string
		full   bool
		midway bool
		size   int // names per page on average, for the bound; 0: Size or 50
	}{
		{name: "full pages", full: true},
		{name: "pages of 10", paging: awstest.DescribePaging{Size: 10}},
		{name: "pages of 2", paging: awstest.DescribePaging{Size: 2}},
		{name: "pages of 24", paging: awstest.DescribePaging{Size: 24}},
		{name: "empty pages", paging: awstest.DescribePaging{Empty: 1 << 20}},
		// An empty page between full ones: 25 names a page on average, still ahead.
		{name: "empty pages between full ones", paging: awstest.DescribePaging{Empty: 1}, full: true, size: 25},
		{name: "DescribeParameters denied", fault: "DescribeParameters denied"},
		{name: "DescribeParameters throttled", fault: "DescribeParameters throttle"},
		{name: "pages of 25", paging: awstest.DescribePaging{Size: 25}, full: true},
		// Full pages, then short ones: the listing stops at the first short page and the
		// pager goes on from where it stopped; what the listing read past that point is
		// paged again (GetParametersByPath pages cannot be skipped).
		{name: "full, then pages of 10", paging: awstest.DescribePaging{Full: 4, Size: 10}, midway: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.ClearFaults()
			srv.SetLatency(5 * time.Millisecond)
			srv.SetDescribePaging(tc.paging)
			if tc.fault != "" {
				if err := srv.AddFaultText(tc.fault); err != nil {
					t.Fatal(err)
				}
			}
			calls, total, took := read(t, commandFetcher(srv.Config()))
			t.Logf("%d requests (%v), %s", total, calls, took.Round(time.Millisecond))
			if tc.midway {
				// At most: the listing's own requests (4 full pages and the short one, their
				// GetParameters) on top of paging alone.
				bound := alone + (tc.paging.Full + 2) + (tc.paging.Full+1)*describePage/10
				if calls["GetParameters"] == 0 || total > bound || took >= aloneTook*3/2 {
					t.Errorf("%d requests %v in %s; want at most %d, and not much slower than paging alone", total, calls, took.Round(time.Millisecond), bound)
				}
				return
			}
			if !tc.full {
				if calls["DescribeParameters"] > 2 || calls["GetParameters"] != 0 || total > alone+2 {
					t.Errorf("%d requests %v; want paging alone's %d and at most two DescribeParameters", total, calls, alone)
				}
				if took >= aloneTook*3/2 {
					t.Errorf("%s, paging alone took %s", took.Round(time.Millisecond), aloneTook.Round(time.Millisecond))
				}
				return
			}
			size := cmp.Or(tc.size, tc.paging.Size, 50)
			bound := alone + (n+size-1)/size + 7
			if calls["GetParameters"] == 0 || total > bound {
				t.Errorf("%d requests %v; want GetParameters used and at most %d", total, calls, bound)
			}
			if took >= aloneTook {
				t.Errorf("listed in %s, paging alone took %s", took.Round(time.Millisecond), aloneTook.Round(time.Millisecond))
			}
		})
	}
}
