package awstest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// describeParameters fills a gap in kumo (v0.33.1): its DescribeParameters ignores the
// ParameterFilters key "Path" (options "OneLevel", the default, and "Recursive"), which AWS
// supports and secretexec uses to list a large path's names. A request with a Path filter is
// answered here by paging through kumo with a "Name BeginsWith PATH/" filter (kept with the
// request's other filters) and keeping the names at the asked depth; pages are full, up to
// MaxResults (default 50), as AWS's are. NextToken is kumo's: the name to continue from.
// Requests without a Path filter go to kumo unchanged.
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

	type page struct {
		Parameters []json.RawMessage
		NextToken  string `json:",omitempty"`
	}
	out := page{Parameters: []json.RawMessage{}}
	token := in.NextToken
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
				out.NextToken = meta.Name // kumo continues from this name
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
