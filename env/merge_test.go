package env

import (
	"reflect"
	"strings"
	"testing"
)

func vars(kvs ...string) []Var {
	var out []Var
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, Var{Name: k, Value: v})
	}
	return out
}

func TestMerge(t *testing.T) {
	common := "ssm path \"/app/common\""
	prod := "ssm path \"/app/prod\""
	secret := "secret \"app\""
	tests := []struct {
		name      string
		inherited []string
		layers    []Layer
		override  bool
		want      []string
		decisions []Decision
	}{
		{
			name:      "nothing fetched keeps the inherited environment",
			inherited: []string{"PATH=/bin", "HOME=/root"},
			override:  true,
			want:      []string{"PATH=/bin", "HOME=/root"},
		},
		{
			name:      "new names are set and appended sorted",
			inherited: []string{"PATH=/bin"},
			layers:    []Layer{{Source: prod, Vars: vars("ZED=z", "ALPHA=a", "MID=m")}},
			override:  true,
			want:      []string{"PATH=/bin", "ALPHA=a", "MID=m", "ZED=z"},
			decisions: []Decision{
				{Name: "ALPHA", Source: prod, Action: Set},
				{Name: "MID", Source: prod, Action: Set},
				{Name: "ZED", Source: prod, Action: Set},
			},
		},
		{
			name:     "later layer wins and the earlier one is shadowed by it",
			layers:   []Layer{{Source: common, Vars: vars("DB_HOST=common", "LOG=info")}, {Source: prod, Vars: vars("DB_HOST=prod")}},
			override: true,
			want:     []string{"DB_HOST=prod", "LOG=info"},
			decisions: []Decision{
				{Name: "DB_HOST", Source: common, Action: Shadowed, By: prod},
				{Name: "DB_HOST", Source: prod, Action: Set},
				{Name: "LOG", Source: common, Action: Set},
			},
		},
		{
			name:      "three layers: the last wins, both earlier ones name it",
			layers:    []Layer{{Source: common, Vars: vars("X=1")}, {Source: prod, Vars: vars("X=2")}, {Source: secret, Vars: vars("X=3")}},
			inherited: []string{"X=0"},
			override:  true,
			want:      []string{"X=3"},
			decisions: []Decision{
				{Name: "X", Source: common, Action: Shadowed, By: secret},
				{Name: "X", Source: prod, Action: Shadowed, By: secret},
				{Name: "X", Source: secret, Action: Override},
			},
		},
		{
			name:      "fetched beats inherited, in the inherited position",
			inherited: []string{"A=1", "DB_PASS=local", "B=2"},
			layers:    []Layer{{Source: prod, Vars: vars("DB_PASS=remote")}},
			override:  true,
			want:      []string{"A=1", "DB_PASS=remote", "B=2"},
			decisions: []Decision{{Name: "DB_PASS", Source: prod, Action: Override}},
		},
		{
			name:      "no-override keeps an inherited non-empty value",
			inherited: []string{"DB_PASS=local"},
			layers:    []Layer{{Source: prod, Vars: vars("DB_PASS=remote")}},
			override:  false,
			want:      []string{"DB_PASS=local"},
			decisions: []Decision{{Name: "DB_PASS", Source: prod, Action: Kept}},
		},
		{
			name:      "no-override fills an inherited empty value",
			inherited: []string{"DB_PASS="},
			layers:    []Layer{{Source: prod, Vars: vars("DB_PASS=remote")}},
			override:  false,
			want:      []string{"DB_PASS=remote"},
			decisions: []Decision{{Name: "DB_PASS", Source: prod, Action: Override}},
		},
		{
			name:      "no-override still sets names not inherited",
			inherited: []string{"A=1"},
			layers:    []Layer{{Source: prod, Vars: vars("A=2", "B=3")}},
			override:  false,
			want:      []string{"A=1", "B=3"},
			decisions: []Decision{
				{Name: "A", Source: prod, Action: Kept},
				{Name: "B", Source: prod, Action: Set},
			},
		},
		{
			name:      "no-override with a shadowed earlier layer: the inherited value stays",
			inherited: []string{"A=mine"},
			layers:    []Layer{{Source: common, Vars: vars("A=c")}, {Source: prod, Vars: vars("A=p")}},
			override:  false,
			want:      []string{"A=mine"},
			decisions: []Decision{
				{Name: "A", Source: common, Action: Shadowed, By: prod},
				{Name: "A", Source: prod, Action: Kept},
			},
		},
		{
			name:      "equal fetched and inherited values are unchanged",
			inherited: []string{"REGION=eu-west-1"},
			layers:    []Layer{{Source: prod, Vars: vars("REGION=eu-west-1")}},
			override:  true,
			want:      []string{"REGION=eu-west-1"},
			decisions: []Decision{{Name: "REGION", Source: prod, Action: Unchanged}},
		},
		{
			name:      "equal empty values are unchanged even with no-override",
			inherited: []string{"E="},
			layers:    []Layer{{Source: prod, Vars: vars("E=")}},
			override:  false,
			want:      []string{"E="},
			decisions: []Decision{{Name: "E", Source: prod, Action: Unchanged}},
		},
		{
			name:      "inherited duplicates collapse to the first value and appear once",
			inherited: []string{"A=first", "B=b", "A=second"},
			override:  true,
			want:      []string{"A=first", "B=b"},
		},
		{
			name:      "no-override compares with the first of inherited duplicates",
			inherited: []string{"A=", "A=second"},
			layers:    []Layer{{Source: prod, Vars: vars("A=fetched")}},
			override:  false,
			want:      []string{"A=fetched"},
			decisions: []Decision{{Name: "A", Source: prod, Action: Override}},
		},
		{
			name:      "an overridden inherited duplicate appears once, first position",
			inherited: []string{"A=first", "B=b", "A=second"},
			layers:    []Layer{{Source: prod, Vars: vars("A=fetched")}},
			override:  true,
			want:      []string{"A=fetched", "B=b"},
			decisions: []Decision{{Name: "A", Source: prod, Action: Override}},
		},
		{
			name:      "values are kept byte for byte, = included",
			inherited: []string{"K=a=b"},
			layers:    []Layer{{Source: prod, Vars: []Var{{Name: "V", Value: "x=\n$HOME \"'\\ "}}}},
			override:  true,
			want:      []string{"K=a=b", "V=x=\n$HOME \"'\\ "},
			decisions: []Decision{{Name: "V", Source: prod, Action: Set}},
		},
		{
			name:     "descs are carried into the decisions, by position",
			layers:   []Layer{{Source: prod, Vars: vars("B=2", "A=1"), Descs: []string{"/app/prod/B", "/app/prod/A"}}},
			override: true,
			want:     []string{"A=1", "B=2"},
			decisions: []Decision{
				{Name: "A", Source: prod, Desc: "/app/prod/A", Action: Set},
				{Name: "B", Source: prod, Desc: "/app/prod/B", Action: Set},
			},
		},
		{
			name:     "descs shorter than vars leave the rest empty",
			layers:   []Layer{{Source: secret, Vars: vars("A=1", "B=2"), Descs: []string{"key a"}}},
			override: true,
			want:     []string{"A=1", "B=2"},
			decisions: []Decision{
				{Name: "A", Source: secret, Desc: "key a", Action: Set},
				{Name: "B", Source: secret, Action: Set},
			},
		},
		{
			name: "decisions sorted by name, then layer order",
			layers: []Layer{
				{Source: common, Vars: vars("Z=1", "B=1")},
				{Source: prod, Vars: vars("A=2", "Z=2")},
			},
			override: true,
			want:     []string{"A=2", "B=1", "Z=2"},
			decisions: []Decision{
				{Name: "A", Source: prod, Action: Set},
				{Name: "B", Source: common, Action: Set},
				{Name: "Z", Source: common, Action: Shadowed, By: prod},
				{Name: "Z", Source: prod, Action: Set},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inherited := append([]string(nil), tt.inherited...)
			got, decisions := Merge(tt.inherited, tt.layers, tt.override)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("environ:\n got %q\nwant %q", got, tt.want)
			}
			if !reflect.DeepEqual(decisions, tt.decisions) {
				t.Errorf("decisions:\n got %+v\nwant %+v", decisions, tt.decisions)
			}
			if !reflect.DeepEqual(inherited, tt.inherited) {
				t.Errorf("Merge changed its input: %q", tt.inherited)
			}
		})
	}
}

// A Decision holds no value: whatever the layers hold, none of it reaches the decisions but
// names, sources and descs.
func TestMergeDecisionsHoldNoValue(t *testing.T) {
	const canary = "CANARY-7f3a9c"
	_, decisions := Merge([]string{"A=" + canary + "-old"}, []Layer{
		{Source: "s1", Vars: []Var{{Name: "A", Value: canary}, {Name: "B", Value: canary}}},
		{Source: "s2", Vars: []Var{{Name: "B", Value: canary + "2"}}},
	}, true)
	for _, d := range decisions {
		if s := strings.Join([]string{d.Name, d.Source, d.Desc, string(d.Action), d.By}, "|"); strings.Contains(s, canary) {
			t.Errorf("decision holds a value: %+v", d)
		}
	}
}

func TestWithout(t *testing.T) {
	isTwin := func(name string) bool { return strings.HasPrefix(name, "SECRETEXEC_") }
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"nil", nil, []string{}},
		{"nothing dropped", []string{"A=1", "B=2"}, []string{"A=1", "B=2"}},
		{"dropped by name, order kept", []string{"SECRETEXEC_SSM_PATH=/a", "A=1", "SECRETEXEC_REGION=x", "B=2"}, []string{"A=1", "B=2"}},
		{"every duplicate dropped", []string{"SECRETEXEC_X=1", "SECRETEXEC_X=2"}, []string{}},
		{"the value is not the name", []string{"A=SECRETEXEC_X"}, []string{"A=SECRETEXEC_X"}},
		{"entry without =", []string{"SECRETEXEC_X", "KEEP"}, []string{"KEEP"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Without(tt.in, isTwin); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Without(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	environ := []string{"A=first", "EMPTY=", "EQ=a=b", "A=second", "NOEQ"}
	tests := []struct {
		name   string
		key    string
		want   string
		wantOK bool
	}{
		{"first of duplicates, as getenv", "A", "first", true},
		{"empty value is set", "EMPTY", "", true},
		{"value with =", "EQ", "a=b", true},
		{"missing", "B", "", false},
		{"prefix of a name is not the name", "E", "", false},
		{"entry without =", "NOEQ", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Lookup(environ, tt.key)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// Pick gives each name of a Unique environment what Lookup gives it, once per name, in the
// names' order.
func TestPick(t *testing.T) {
	environ := Unique([]string{"A=first", "EMPTY=", "EQ=a=b", "A=second", "NOEQ", "Z=z"})
	names := []string{"EQ", "A", "B", "A", "EMPTY", "NOEQ", "E"}
	got := Pick(environ, names)
	var want []Var
	seen := map[string]bool{}
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			v, _ := Lookup(environ, n)
			want = append(want, Var{Name: n, Value: v})
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Pick = %q, want %q", got, want)
	}
	if len(Pick(environ, nil)) != 0 {
		t.Error("Pick of no names is not empty")
	}
}

func TestUnique(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"nil", nil, nil},
		{"no duplicates: the same slice", []string{"A=1", "B=2"}, []string{"A=1", "B=2"}},
		{"the first of a name wins, order kept", []string{"A=1", "B=2", "A=3", "C=4", "B=5"}, []string{"A=1", "B=2", "C=4"}},
		{"an entry without = is a name", []string{"NOEQ", "NOEQ=x", "E=", "E=y"}, []string{"NOEQ", "E="}},
		{"a value is not a name", []string{"A=B=1", "B=2"}, []string{"A=B=1", "B=2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]string(nil), tt.in...)
			if got := Unique(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Unique(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !reflect.DeepEqual(in, tt.in) {
				t.Errorf("Unique changed its input: %q", tt.in)
			}
		})
	}
	for _, kv := range Unique([]string{"A=1", "A=2"}) {
		if _, v, _ := strings.Cut(kv, "="); v != "1" {
			t.Errorf("Unique kept %q, want the first A", kv)
		}
	}
}
