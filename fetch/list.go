package fetch

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

const (
	describePage = 50 // AWS's limit on one DescribeParameters page
	// getInFlight bounds the GetParameters calls in flight for one path: enough to read one
	// DescribeParameters page (50 names) per round trip, so the listing sets the pace, and
	// no more, to keep the burst of requests against SSM's throughput limit small.
	getInFlight = describePage / maxNames
)

// Round trips decide when listing pays. When they are cheap (an endpoint on the same
// host, a local emulator) paging by path is bound by CPU, and the listing's extra calls
// cost more than its parallelism saves, all the more on a small machine. Any real AWS
// endpoint is far above slowPage for the first page (TCP and TLS set-up, then the call).
//
// And only a large path pays at all: for a path of two or three pages, listing saves at
// most a round trip but adds a DescribeParameters call and GetParameters calls, and when a
// whole fleet starts at once against the account's request rate, extra calls are what
// makes everyone slower (TestFleet). So listing starts after minPages pages, when the path
// is known to hold more than 30 parameters.
const (
	slowPage    = 4 * time.Millisecond  // pages this slow on average: list at once
	pagingSpent = 50 * time.Millisecond // paging has taken this long and is not done: list
	minPages    = 3
)

// worthListing says whether to list a path that, after pages pages and elapsed time, has
// more pages.
func worthListing(pages int, elapsed time.Duration) bool {
	return pages >= minPages && (elapsed >= pagingSpent || elapsed >= slowPage*time.Duration(pages))
}

// pathRest reads the rest of a path whose GetParametersByPath pages so far (first, at least
// minPages of them) said there is more; in holds the NextToken. GetParametersByPath pages
// can only be read one after another, one round trip each: 100 for 1000 parameters. So two
// readers start together:
//
//   - the pager goes on with GetParametersByPath from the token;
//   - the lister pages DescribeParameters (Path filter, 50 names a page) and reads the names
//     it does not have yet with GetParameters, 10 names a call, getInFlight calls at a time,
//     while the next page of names is on its way: about one round trip per 50 parameters.
//
// The first GetParameters answer commits to the lister: the pager stops after the page it
// is reading. If the lister fails in any way (DescribeParameters or GetParameters denied,
// which needs IAM permissions that GetParametersByPath does not, throttled, ...), the pager
// goes on, from where it stopped, without having waited: the lister only ever speeds things
// up, and the source's errors are GetParametersByPath's. A path that the pager finishes
// first (a page or two more) costs a DescribeParameters call more, and no time.
//
// Parameters created or deleted while a path is read may or may not be seen, as with
// GetParametersByPath paging, which is no snapshot either: a name listed but deleted before
// GetParameters reads it comes back in InvalidParameters and is left out, as if the listing
// had come a moment later.
func (f *Fetcher) pathRest(ctx context.Context, src Source, in *ssm.GetParametersByPathInput, first []param) ([]param, int, error) {
	st := &pathState{have: make(map[string]string, 2*len(first))}
	for _, p := range first {
		st.have[p.name] = p.value
	}

	stop := make(chan struct{})
	var commitOnce sync.Once
	commit := func() { commitOnce.Do(func() { close(stop) }) }

	type pagerResult struct {
		next *string // where the pager stopped; nil when it read the whole path
		err  error
	}
	pagerDone := make(chan pagerResult, 1)
	go func() {
		next, err := f.pagePath(ctx, st, *in, stop)
		pagerDone <- pagerResult{next, err}
	}()

	lctx, lcancel := context.WithCancel(ctx)
	defer lcancel()
	listDone := make(chan error, 1)
	go func() { listDone <- f.listPath(lctx, src, st, commit) }()

	var pr pagerResult
	var listErr error
	for gotPager, gotList := false, false; !gotPager || !gotList; {
		select {
		case pr = <-pagerDone:
			gotPager = true
			if pr.err == nil && pr.next == nil {
				lcancel() // the pager has it all
			}
		case listErr = <-listDone:
			gotList = true
			if listErr == nil {
				commit()
			}
		}
	}
	if listErr == nil || (pr.err == nil && pr.next == nil) {
		return st.all(), st.calls, nil
	}
	if pr.err != nil {
		return nil, st.calls, pagingError(ctx, f.sourceError(ctx, src, "GetParametersByPath", pr.err), minPages+st.calls)
	}
	// The lister failed after the pager had stopped for it: the pager goes on.
	in.NextToken = pr.next
	if _, err := f.pagePath(ctx, st, *in, nil); err != nil {
		return nil, st.calls, pagingError(ctx, f.sourceError(ctx, src, "GetParametersByPath", err), minPages+st.calls)
	}
	return st.all(), st.calls, nil
}

// pagePath reads GetParametersByPath pages from in.NextToken until the path ends (nil) or
// stop is closed (the token to go on from).
func (f *Fetcher) pagePath(ctx context.Context, st *pathState, in ssm.GetParametersByPathInput, stop <-chan struct{}) (*string, error) {
	for {
		select {
		case <-stop:
			return in.NextToken, nil
		default:
		}
		st.call()
		out, err := f.SSM.GetParametersByPath(ctx, &in)
		if err != nil {
			return in.NextToken, err
		}
		st.add(out.Parameters)
		if aws.ToString(out.NextToken) == "" {
			return nil, nil
		}
		if aws.ToString(out.NextToken) == aws.ToString(in.NextToken) {
			return in.NextToken, ErrSameToken
		}
		in.NextToken = out.NextToken
	}
}

// listPath reads the path by DescribeParameters and GetParameters; commit is called at the
// first GetParameters answer.
func (f *Fetcher) listPath(ctx context.Context, src Source, st *pathState, commit func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	sem := make(chan struct{}, getInFlight)
	option := "OneLevel"
	if src.Recursive {
		option = "Recursive"
	}
	din := &ssm.DescribeParametersInput{
		MaxResults: aws.Int32(describePage),
		ParameterFilters: []types.ParameterStringFilter{{
			Key: aws.String("Path"), Option: aws.String(option), Values: []string{src.Path},
		}},
	}
pages:
	for {
		st.call()
		out, err := f.SSM.DescribeParameters(ctx, din)
		if err != nil {
			fail(err)
			break
		}
		names := make([]string, 0, len(out.Parameters))
		for _, p := range out.Parameters {
			name := aws.ToString(p.Name)
			if !inPath(name, src) {
				// A listing that ignores the Path filter (some emulators do) would read
				// the whole account: page by path instead.
				fail(fmt.Errorf("DescribeParameters listed %q, not in the path", name))
				break pages
			}
			names = append(names, name)
		}
		missing := st.missing(names)
		for len(missing) > 0 {
			batch := missing[:min(maxNames, len(missing))]
			missing = missing[len(batch):]
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				break pages
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				st.call()
				out, err := f.SSM.GetParameters(ctx, &ssm.GetParametersInput{Names: batch, WithDecryption: aws.Bool(true)})
				if err != nil {
					fail(err)
					return
				}
				// out.InvalidParameters: deleted since they were listed; left out.
				st.add(out.Parameters)
				commit()
			}()
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		if aws.ToString(out.NextToken) == aws.ToString(din.NextToken) {
			fail(ErrSameToken)
			break
		}
		din.NextToken = out.NextToken
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}

// inPath reports whether a parameter name is at the source's path: directly below it, or
// anywhere below it for a recursive source.
func inPath(name string, src Source) bool {
	prefix := strings.TrimSuffix(src.Path, "/") + "/"
	rest, ok := strings.CutPrefix(name, prefix)
	return ok && rest != "" && (src.Recursive || !strings.Contains(rest, "/"))
}

// pathState is what the two readers of one path share.
type pathState struct {
	mu    sync.Mutex
	have  map[string]string // full name -> value
	calls int
}

func (s *pathState) call() {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
}

func (s *pathState) add(ps []types.Parameter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range ps {
		if _, ok := s.have[aws.ToString(p.Name)]; !ok {
			s.have[aws.ToString(p.Name)] = aws.ToString(p.Value)
		}
	}
}

func (s *pathState) missing(names []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, n := range names {
		if _, ok := s.have[n]; !ok {
			out = append(out, n)
		}
	}
	return out
}

func (s *pathState) all() []param {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]param, 0, len(s.have))
	for name, value := range s.have {
		out = append(out, param{name, value})
	}
	return out
}
