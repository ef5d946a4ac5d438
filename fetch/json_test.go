package fetch_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/secretexec/secretexec/fetch"
)

func TestJSONObject(t *testing.T) {
	kv := func(k, v string) fetch.KV { return fetch.KV{Key: k, Value: v} }
	tests := []struct {
		name string
		in   string
		want []fetch.KV
	}{
		{"empty object", `{}`, nil},
		{"empty object with spaces", " \n\t{ \r\n } \n", nil},
		{"plain strings", `{"DB_USER":"app","DB_PASS":"s3cr3t"}`, []fetch.KV{kv("DB_USER", "app"), kv("DB_PASS", "s3cr3t")}},
		{"string escapes", `{"A":"q\"b\\s\/n\nt\tr\rb\bf\f"}`, []fetch.KV{kv("A", "q\"b\\s/n\nt\tr\rb\bf\f")}},
		{"unicode escapes", `{"A":"\u00e9\u20ac\ud83d\ude00\u0000"}`, []fetch.KV{kv("A", "é€😀\x00")}},
		{"UTF-8 as is", `{"A":"é€😀"}`, []fetch.KV{kv("A", "é€😀")}},
		{"empty string", `{"A":""}`, []fetch.KV{kv("A", "")}},
		{"characters a shell or dotenv would touch", `{"A":" $HOME #x ='\"\\ "}`, []fetch.KV{kv("A", ` $HOME #x ='"\ `)}},
		{"HTML characters not escaped", `{"A":"<&>","B":{"h":"<&>"}}`, []fetch.KV{kv("A", "<&>"), kv("B", `{"h":"<&>"}`)}},
		{"integer", `{"DB_PORT":5432}`, []fetch.KV{kv("DB_PORT", "5432")}},
		{"number text kept exactly", `{"A":1.50e3,"B":-0,"C":0.10,"D":-1E-7,"E":1e+2}`, []fetch.KV{kv("A", "1.50e3"), kv("B", "-0"), kv("C", "0.10"), kv("D", "-1E-7"), kv("E", "1e+2")}},
		{"big integer not rounded", `{"A":12345678901234567890,"B":123456789012345678901234567890.5}`, []fetch.KV{kv("A", "12345678901234567890"), kv("B", "123456789012345678901234567890.5")}},
		{"booleans", `{"T":true,"F":false}`, []fetch.KV{kv("T", "true"), kv("F", "false")}},
		{"null is empty", `{"N":null}`, []fetch.KV{kv("N", "")}},
		{"nested object compacted", `{"O": { "a" : 1 , "b" : [ true, null ] } }`, []fetch.KV{kv("O", `{"a":1,"b":[true,null]}`)}},
		{"array compacted", "{\"L\":[ 1,\n 2.0 , \"x y\" ]}", []fetch.KV{kv("L", `[1,2.0,"x y"]`)}},
		{"nested escapes kept as written", `{"O":{"s":"\u00e9\n"}}`, []fetch.KV{kv("O", `{"s":"\u00e9\n"}`)}},
		{"empty nested", `{"O":{},"L":[]}`, []fetch.KV{kv("O", "{}"), kv("L", "[]")}},
		{"key order kept", `{"Z":1,"A":2,"M":3}`, []fetch.KV{kv("Z", "1"), kv("A", "2"), kv("M", "3")}},
		{"keys as written, not mapped", `{"db-host":"h","a.b":"x","1X":"y"}`, []fetch.KV{kv("db-host", "h"), kv("a.b", "x"), kv("1X", "y")}},
		{"escaped key", `{"a\u0062":1}`, []fetch.KV{kv("ab", "1")}},
		{"empty key is returned, for the caller to reject", `{"":"v"}`, []fetch.KV{kv("", "v")}},
		{"same name different case", `{"a":1,"A":2}`, []fetch.KV{kv("a", "1"), kv("A", "2")}},
		{"trailing whitespace", "{\"A\":1}\n\n", []fetch.KV{kv("A", "1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fetch.JSONObject(tt.in)
			if err != nil {
				t.Fatalf("JSONObject(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("JSONObject(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// jsonReasons are all a JSONError may say about the input, besides a byte offset.
var jsonReasons = map[string]bool{
	"invalid JSON": true, "unexpected end": true, "it is empty": true, "data after the object": true,
	"it holds a JSON array": true, "it holds a JSON string": true, "it holds a JSON number": true,
	"it holds a JSON boolean": true, "it holds a JSON null": true, "nested more than 10000 levels deep": true,
}

// checkJSONError fails the test unless err is a *JSONError whose message is built from a
// fixed reason and the offset only, so that no byte of the input can be in it.
func checkJSONError(t *testing.T, in string, err error) *fetch.JSONError {
	t.Helper()
	var je *fetch.JSONError
	if !errors.As(err, &je) {
		t.Fatalf("JSONObject(%.80q): %v (%T), want a *fetch.JSONError", in, err, err)
	}
	if !jsonReasons[je.Reason] {
		t.Errorf("JSONObject(%.80q): reason %q is not one of the fixed reasons", in, je.Reason)
	}
	want := "the secret is not a JSON object: " + je.Reason
	if je.Offset > 0 {
		want += fmt.Sprintf(" at byte %d", je.Offset)
	}
	if err.Error() != want {
		t.Errorf("JSONObject(%.80q): message %q is more than its reason and offset", in, err)
	}
	if je.Offset < 0 || je.Offset > int64(len(in)) {
		t.Errorf("JSONObject(%.80q): offset %d outside the input", in, je.Offset)
	}
	return je
}

func TestJSONObjectErrors(t *testing.T) {
	const c = canary
	tests := []struct {
		name string
		in   string
		want string // the whole message
	}{
		{"empty", ``, "the secret is not a JSON object: it is empty"},
		{"only spaces", " \n\t ", "the secret is not a JSON object: it is empty"},
		{"array", `["` + c + `"]`, "the secret is not a JSON object: it holds a JSON array"},
		{"string", `"` + c + `"`, "the secret is not a JSON object: it holds a JSON string"},
		{"number", `5432`, "the secret is not a JSON object: it holds a JSON number"},
		{"boolean", `true`, "the secret is not a JSON object: it holds a JSON boolean"},
		{"null", `null`, "the secret is not a JSON object: it holds a JSON null"},
		{"plain text", c, "the secret is not a JSON object: invalid JSON"},
		{"data after the object", `{"A":1} ` + c, "the secret is not a JSON object: data after the object at byte 8"},
		{"a second object", `{"A":1}{"` + c + `":1}`, "the secret is not a JSON object: data after the object at byte 8"},
		{"a number after the object", `{} 1` + c, ""},
		{"truncated in a string", `{"A":"` + c, "the secret is not a JSON object: unexpected end at byte 5"},
		{"truncated after a value", `{"A":1`, "the secret is not a JSON object: unexpected end at byte 6"},
		{"only an open brace", `{`, "the secret is not a JSON object: unexpected end at byte 1"},
		{"bare word value", `{"A":` + c + `}`, ""},
		{"missing colon", `{"A" "` + c + `"}`, ""},
		{"missing value", `{"A":}`, ""},
		{"missing comma", `{"A":"` + c + `" "B":1}`, ""},
		{"trailing comma", `{"A":"` + c + `",}`, ""},
		{"leading comma", `{,"A":"` + c + `"}`, ""},
		{"unquoted key", `{` + c + `:1}`, ""},
		{"single quotes", `{'A':'` + c + `'}`, ""},
		{"bad escape", `{"A":"` + c + `\x"}`, ""},
		{"control character in a string", "{\"A\":\"" + c + "\x01\"}", ""},
		{"leading zero", `{"A":0` + c + `}`, ""},
		{"NaN", `{"A":NaN}`, ""},
		{"misspelt literal", `{"A":tru}`, ""},
		{"close bracket for brace", `{"A":1]`, ""},
		{"bad nested value", `{"A":{"B":` + c + `}}`, ""},
		{"comment", `{"A":1 /* ` + c + ` */}`, ""},
		// encoding/json stops at 10000 levels: say so rather than "invalid JSON".
		{"nested 100000 deep", `{"A":` + strings.Repeat("[", 100000) + c, "the secret is not a JSON object: nested more than 10000 levels deep at byte 10004"},
		{"nested deep in strings and objects", `{"A":` + strings.Repeat(`{"[\"":`, 20000) + c, "the secret is not a JSON object: nested more than 10000 levels deep at byte 70004"},
		{"deep but within the limit", `{"A":` + strings.Repeat("[", 5000) + `x`, "the secret is not a JSON object: invalid JSON at byte 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kvs, err := fetch.JSONObject(tt.in)
			if err == nil {
				t.Fatalf("JSONObject(%q) = %q, want an error", tt.in, kvs)
			}
			checkJSONError(t, tt.in, err)
			if strings.Contains(err.Error(), canary) {
				t.Errorf("error holds the input: %q", err)
			}
			if tt.want != "" && err.Error() != tt.want {
				t.Errorf("error %q, want %q", err, tt.want)
			}
		})
	}
}

func TestJSONObjectDuplicateKey(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"same key twice", `{"K":"` + canary + `1","K":"` + canary + `2"}`, `the secret's JSON object has key "K" twice`},
		{"same key, once escaped", `{"ab":1,"a\u0062":2}`, `the secret's JSON object has key "ab" twice`},
		{"twice after others", `{"A":1,"B":2,"A":null}`, `the secret's JSON object has key "A" twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fetch.JSONObject(tt.in)
			if err == nil || err.Error() != tt.want {
				t.Errorf("JSONObject(%q): %v, want %q", tt.in, err, tt.want)
			}
		})
	}
}

// FuzzJSONObject checks JSONObject against encoding/json: it never panics; what it accepts,
// encoding/json decodes to the same keys, each value its string or its compact JSON text;
// and its errors never hold the input.
func FuzzJSONObject(f *testing.F) {
	for _, s := range []string{
		``, ` `, `{}`, `[]`, `null`, `"s"`, `1`, `true`,
		`{"A":"a"}`,
		`{"DB_HOST":"db","DB_PORT":5432,"DEBUG":false,"EXTRA":null}`,
		`{"A":"q\"b\\s\/n\nt\tr\rb\bf\f\u00e9\ud83d\ude00"}`,
		`{"A":1.50e3,"B":-0,"C":12345678901234567890,"D":-1E-7}`,
		`{"O": { "a" : 1 , "b" : [ true, null, "x" ] } }`,
		`{"Z":1,"A":2,"M":3}`,
		`{"K":1,"K":2}`,
		`{"ab":1,"a\u0062":2}`,
		`{"":"v"}`,
		`{"A":1} x`, `{"A":1}{}`, `{"A":`, `{"A":1,}`, `{"A" 1}`, `{'A':1}`, `{"A":tru}`,
		"{\"A\":\"\xff\"}", "{\"\xff\":1}", `{"A":"\ud800"}`,
		" \n{\t\"A\" :\r\n[ {} , [ ] ] }\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kvs, err := fetch.JSONObject(s)
		if err != nil {
			if len(s) >= 8 && strings.Contains(err.Error(), s) {
				t.Fatalf("error %q holds the input", err)
			}
			var je *fetch.JSONError
			if errors.As(err, &je) {
				checkJSONError(t, s, err)
			} else if !strings.HasPrefix(err.Error(), "the secret's JSON object has key ") {
				t.Fatalf("unexpected error %q (%T)", err, err)
			}
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("JSONObject accepted %q, encoding/json did not: %v", s, err)
		}
		if m == nil || len(m) != len(kvs) {
			t.Fatalf("JSONObject(%q) has %d keys, encoding/json %d", s, len(kvs), len(m))
		}
		for _, kv := range kvs {
			raw, ok := m[kv.Key]
			if !ok {
				t.Fatalf("key %q not in encoding/json's decoding of %q", kv.Key, s)
			}
			switch raw[0] {
			case '"':
				var want string
				if err := json.Unmarshal(raw, &want); err != nil {
					t.Fatal(err)
				}
				if kv.Value != want {
					t.Fatalf("key %q: value %q, encoding/json %q", kv.Key, kv.Value, want)
				}
			case 'n':
				if kv.Value != "" {
					t.Fatalf("key %q: null gave %q, want empty", kv.Key, kv.Value)
				}
			default:
				var want bytes.Buffer
				if err := json.Compact(&want, raw); err != nil {
					t.Fatal(err)
				}
				if kv.Value != want.String() {
					t.Fatalf("key %q: value %q, want the compact JSON %q", kv.Key, kv.Value, want.String())
				}
				if !json.Valid([]byte(kv.Value)) {
					t.Fatalf("key %q: value %q is not valid JSON", kv.Key, kv.Value)
				}
			}
		}
	})
}
