package fetch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

const (
	describePage = 50 // AWS's limit on one DescribeParameters page
	// describeAhead is the fewest names a DescribeParameters page must list, on average over
	// two pages in a row, for the listing to go on. A page is one round trip, as a
	// GetParametersByPath page of pathPage names is, and costs one request more than paging
	// by path; at half a full page the listing reads 2.5 times as fast as the pager for 1
	// request more per 25 names. Two pages under it (AWS pages before it filters: short
	// pages, or empty ones with a NextToken) end the listing, and the pager finishes the
	// path; two pages, so that an empty page between full ones does not.
	describeAhead = describePage / 2
	// maxUnread is how many DescribeParameters pages the listing may read without finding a
	// name the pager has not read: the pager started 30 names ahead, so a listing as fast as
	// an empty page between full ones needs four pages to pass it.
	maxUnread = 4
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
// The listing must pay for itself. It ends when two pages in a row (with a NextToken) list
// fewer than 2*describeAhead names, when it has listed fewer names than the pager has read
// meanwhile, or when maxUnread pages have listed only names the pager had. A first page
// under describeAhead is held unread until the second is judged, so a server whose pages
// are short or empty (as AWS's may be) costs two DescribeParameters requests, a denied or
// throttled one one request, and no time: the pager never waited. The lister's
// requests are made once (no retries): a throttled listing is a listing behind. Only after
// a GetParameters answer does the pager stop (after the page it is reading), committed to
// the lister. A listing that falls behind later, or fails, ends the same way: the pager
// goes on from where it stopped, and GetParameters never asks for a name already read
// (pages the pager reads again cost what they cost; what the listing read is kept). The
// source's errors are GetParametersByPath's.
//
// So for a server whose pages list n names each, a start makes, beyond the requests of
// paging by path alone: at most 2 when n < describeAhead, at most maxUnread when the pager
// is the faster reader (round trips so cheap the listing cannot pass it), and otherwise one
// DescribeParameters per page (N/n for N parameters: 20 for 1000 at 50 a page), plus the
// GetParameters calls and pager pages that overlap while the two readers run together (at
// most describePage/maxNames + 2). A listing that falls behind after k pages costs at most
// its own requests (k+1 pages and their GetParameters, 5k) and no time. TestListingBound
// counts each case.
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
		st.paged(len(out.Parameters))
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
	var carry []string
	pages, prev, listed := 0, 0, 0 // pages listed; names on the one before; names listed
	sent := false                  // a GetParameters was sent: the listing found names first
pages:
	for {
		st.call()
		out, err := f.SSM.DescribeParameters(ctx, din, once)
		if err != nil {
			fail(err)
			break
		}
		last := aws.ToString(out.NextToken) == ""
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
		pages++
		n := len(names)
		listed += n
		// Behind: two pages under the pace (short or empty), or fewer names listed than the
		// pager has read since the listing began (its round trips are slower than the
		// pager's: an endpoint close by). The names listed and not read are the pager's.
		if !last && pages > 1 && (prev+n < 2*describeAhead || listed < st.pagedSince()) {
			fail(errBehind)
			break
		}
		// A first page under the pace is held, unread, until the second says whether the
		// listing goes on: a listing behind from the start reads nothing.
		hold := !last && pages == 1 && n < describeAhead
		prev = n
		// Names short of a whole batch wait for the next page's (carry): a page of 25 names
		// takes 2.5 GetParameters calls, not 3.
		missing := st.missing(slices.Concat(carry, names))
		carry = nil
		for len(missing) > 0 {
			if hold || len(missing) < maxNames && !last {
				carry = missing
				break
			}
			batch := missing[:min(maxNames, len(missing))]
			missing = missing[len(batch):]
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				break pages
			}
			wg.Add(1)
			sent = true
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				st.call()
				out, err := f.SSM.GetParameters(ctx, &ssm.GetParametersInput{Names: batch, WithDecryption: aws.Bool(true)}, once)
				if err != nil {
					fail(err)
					return
				}
				// out.InvalidParameters: deleted since they were listed; left out.
				st.add(out.Parameters)
				commit()
			}()
		}
		if last {
			break
		}
		if !sent && pages >= maxUnread {
			// Every name listed so far was the pager's already: it is the faster reader.
			fail(errBehind)
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

// errBehind ends a listing that is behind the pager (listPath).
var errBehind = errors.New("the listing is behind the pager")

// once makes a lister's request a single attempt: a throttled or failing listing gives way
// to the pager rather than wait for a retry, and adds no retries to the account's rate.
func once(o *ssm.Options) { o.Retryer = retry.AddWithMaxAttempts(o.Retryer, 1) }

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
	pager int // parameters the pager has read since the two readers started
}

func (s *pathState) paged(n int) {
	s.mu.Lock()
	s.pager += n
	s.mu.Unlock()
}

func (s *pathState) pagedSince() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pager
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
