package awstest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// DescribePaging shapes the pages of a Path-filtered DescribeParameters (see
// [Server.SetDescribePaging]).
type DescribePaging struct {
	// Size is the most names a page holds, whatever MaxResults asks (0: MaxResults).
	Size int
	// Empty is how many empty pages, each with a NextToken, come before every page with
	// names.
	Empty int
	// Full is how many pages with names come whole (MaxResults names, no empty pages)
	// before Size and Empty apply: a listing that falls behind midway.
	Full int
}

// SetDescribePaging shapes the pages of every Path-filtered DescribeParameters from now on;
// the zero DescribePaging gives full pages, as kumo does.
func (s *Server) SetDescribePaging(p DescribePaging) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.describePaging = p
}

// describeParameters fills a gap in kumo (v0.33.1): its DescribeParameters ignores the
// ParameterFilters key "Path" (options "OneLevel", the default, and "Recursive"), which AWS
// supports and secretexec uses to list a large path's names. A request with a Path filter is
// answered here by paging through kumo with a "Name BeginsWith PATH/" filter (kept with the
// request's other filters) and keeping the names at the asked depth; pages are full, up to
// MaxResults (default 50), as AWS's are. NextToken is kumo's: the name to continue from.
// Requests without a Path filter go to kumo unchanged.
//
// [Server.SetDescribePaging] makes the pages of a Path-filtered listing short or empty, as
// AWS's may be: AWS pages through the account before it filters, so an account with many
// parameters answers with fewer names than MaxResults, or none, and a NextToken.
func (s *Server) describeParameters(ctx context.Context, req *request) (*response, error) {
	type filter struct {
		Key    string
		Option string   `json:",omitempty"`
		Values []string `json:",omitempty"`
	}
	var in struct {
		ParameterFilters []filter
		MaxResults       int
		NextToken        string
	}
	if err := json.Unmarshal(req.body, &in); err != nil {
		return s.forward(ctx, req)
	}
	var path *filter
	var rest []filter
	for i, f := range in.ParameterFilters {
		if f.Key == "Path" && path == nil {
			path = &in.ParameterFilters[i]
			continue
		}
		rest = append(rest, f)
	}
	if path == nil {
		return s.forward(ctx, req)
	}
	if len(path.Values) != 1 || !strings.HasPrefix(path.Values[0], "/") ||
		(path.Option != "" && path.Option != "OneLevel" && path.Option != "Recursive") {
		return errorResponse(http.StatusBadRequest, "InvalidFilterValue", "The parameter filter Path needs one value that starts with /, and option OneLevel or Recursive"), nil
	}
	prefix := strings.TrimSuffix(path.Values[0], "/") + "/"
	recursive := path.Option == "Recursive"
	max := in.MaxResults
	if max == 0 {
		max = 50
	}
	s.mu.Lock()
	paging := s.describePaging
	s.mu.Unlock()
	// The proxy's NextToken is "EMPTIES|PAGES|KUMO_TOKEN": how many empty pages were given
	// since the last page with names, how many pages with names so far, and where kumo goes
	// on from.
	empties, pages, token := 0, 0, in.NextToken
	if parts := strings.SplitN(in.NextToken, "|", 3); len(parts) == 3 {
		e, err1 := strconv.Atoi(parts[0])
		n, err2 := strconv.Atoi(parts[1])
		if err1 == nil && err2 == nil {
			empties, pages, token = e, n, parts[2]
		}
	}
	if pages >= paging.Full {
		if paging.Size > 0 && paging.Size < max {
			max = paging.Size
		}
		if empties < paging.Empty {
			return jsonResponse(struct {
				Parameters []json.RawMessage
				NextToken  string
			}{[]json.RawMessage{}, fmt.Sprintf("%d|%d|%s", empties+1, pages, token)}), nil
		}
	}

	type page struct {
		Parameters []json.RawMessage
		NextToken  string `json:",omitempty"`
	}
	out := page{Parameters: []json.RawMessage{}}
	for {
		body, _ := json.Marshal(struct {
			ParameterFilters []filter
			MaxResults       int
			NextToken        string `json:",omitempty"`
		}{append(rest, filter{Key: "Name", Option: "BeginsWith", Values: []string{prefix}}), 50, token})
		resp, err := s.post(ctx, req.http.Header, body)
		if err != nil || resp.status != http.StatusOK {
			return resp, err
		}
		var p page
		if err := json.Unmarshal(resp.body, &p); err != nil {
			return nil, err
		}
		for _, raw := range p.Parameters {
			var meta struct{ Name string }
			if err := json.Unmarshal(raw, &meta); err != nil {
				return nil, err
			}
			if len(out.Parameters) == max {
				out.NextToken = fmt.Sprintf("0|%d|%s", pages+1, meta.Name) // kumo continues from this name
				return jsonResponse(out), nil
			}
			below := strings.TrimPrefix(meta.Name, prefix)
			if recursive || !strings.Contains(below, "/") {
				out.Parameters = append(out.Parameters, raw)
			}
		}
		if p.NextToken == "" {
			return jsonResponse(out), nil
		}
		token = p.NextToken
	}
}
