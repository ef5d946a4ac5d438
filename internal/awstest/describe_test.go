package awstest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func TestDescribeParametersPathFilter(t *testing.T) {
	s := New(t)
	ctx := context.Background()
	var want []string
	for i := range 23 {
		name := fmt.Sprintf("/app/prod/P%02d", i)
		want = append(want, name)
		if err := s.PutParameter(ctx, name, "v", i%2 == 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"/app/prod/deep/N1", "/app/prodx/NOT", "/app/P"} {
		if err := s.PutParameter(ctx, name, "v", false); err != nil {
			t.Fatal(err)
		}
	}
	ssmc, _ := clients(s, 1)
	list := func(option string, max int32) (names []string, pages int) {
		in := &ssm.DescribeParametersInput{
			MaxResults:       aws.Int32(max),
			ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Path"), Option: aws.String(option), Values: []string{"/app/prod"}}},
		}
		for {
			out, err := ssmc.DescribeParameters(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(out.Parameters) > int(max) {
				t.Fatalf("page of %d for MaxResults %d", len(out.Parameters), max)
			}
			for _, p := range out.Parameters {
				names = append(names, aws.ToString(p.Name))
			}
			if aws.ToString(out.NextToken) == "" {
				return names, pages
			}
			in.NextToken = out.NextToken
		}
	}
	got, pages := list("OneLevel", 10)
	if !slices.Equal(got, want) || pages != 3 {
		t.Errorf("OneLevel: %d pages, names %q; want 3 pages of %q", pages, got, want)
	}
	got, _ = list("Recursive", 50)
	if want := append(slices.Clone(want), "/app/prod/deep/N1"); !slices.Equal(got, want) {
		t.Errorf("Recursive: names %q; want %q", got, want)
	}
}

// TestDescribeParametersShortPages: SetDescribePaging gives pages of at most Size names
// whatever MaxResults says, and Empty empty pages with a NextToken before each page with names,
// and the listing still holds every name once.
func TestDescribeParametersShortPages(t *testing.T) {
	s := New(t)
	ctx := context.Background()
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("/app/prod/P%02d", i)
		want = append(want, name)
		if err := s.PutParameter(ctx, name, "v", true); err != nil {
			t.Fatal(err)
		}
	}
	ssmc, _ := clients(s, 1)
	for _, tc := range []struct {
		paging DescribePaging
		sizes  []int
	}{
		{DescribePaging{}, []int{5, 2}},
		{DescribePaging{Size: 2}, []int{2, 2, 2, 1}},
		{DescribePaging{Size: 3, Empty: 1}, []int{0, 3, 0, 3, 0, 1}},
		{DescribePaging{Empty: 2}, []int{0, 0, 5, 0, 0, 2}},
		{DescribePaging{Full: 1, Size: 2, Empty: 1}, []int{5, 0, 2}},
	} {
		s.SetDescribePaging(tc.paging)
		in := &ssm.DescribeParametersInput{
			MaxResults:       aws.Int32(5),
			ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Path"), Values: []string{"/app/prod"}}},
		}
		var names []string
		var sizes []int
		for {
			out, err := ssmc.DescribeParameters(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(out.Parameters))
			for _, p := range out.Parameters {
				names = append(names, aws.ToString(p.Name))
			}
			if aws.ToString(out.NextToken) == "" {
				break
			}
			in.NextToken = out.NextToken
		}
		if !slices.Equal(names, want) || !slices.Equal(sizes, tc.sizes) {
			t.Errorf("%+v: pages of %v names %q; want pages of %v names %q", tc.paging, sizes, names, tc.sizes, want)
		}
	}
}
