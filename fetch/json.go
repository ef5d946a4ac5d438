package fetch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// KV is one key of a JSON secret with its value as the variable will hold it.
type KV struct {
	Key   string
	Value string
}

// JSONError says a secret is not a usable JSON object. It never quotes the secret: only the
// byte offset where parsing stopped.
type JSONError struct {
	Offset int64
	Reason string
}

func (e *JSONError) Error() string {
	if e.Offset > 0 {
		return fmt.Sprintf("the secret is not a JSON object: %s at byte %d", e.Reason, e.Offset)
	}
	return "the secret is not a JSON object: " + e.Reason
}

// JSONObject converts a secret holding a JSON object into one value per key, in the object's
// order: strings as they are, numbers and booleans as their JSON text (5432, true), nested
// objects and arrays as compact JSON text, null as "". A key given twice is an error.
func JSONObject(s string) ([]KV, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonErr(s, dec, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &JSONError{Reason: "it holds a " + kindOf(tok)}
	}
	var out []KV
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(s, dec, err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, &JSONError{Offset: dec.InputOffset(), Reason: "invalid JSON"}
		}
		if seen[key] {
			return nil, fmt.Errorf("the secret's JSON object has key %q twice", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, jsonErr(s, dec, err)
		}
		v, err := jsonText(raw)
		if err != nil {
			return nil, &JSONError{Offset: dec.InputOffset(), Reason: "invalid JSON"}
		}
		out = append(out, KV{Key: key, Value: v})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, jsonErr(s, dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &JSONError{Offset: dec.InputOffset(), Reason: "data after the object"}
	}
	return out, nil
}

func jsonText(raw json.RawMessage) (string, error) {
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case 'n':
		return "", nil
	case '{', '[':
		var b bytes.Buffer
		err := json.Compact(&b, raw)
		return b.String(), err
	default: // numbers, true, false: their JSON text
		return string(raw), nil
	}
}

func jsonErr(s string, dec *json.Decoder, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		if dec.InputOffset() == 0 {
			return &JSONError{Reason: "it is empty"}
		}
		return &JSONError{Offset: dec.InputOffset(), Reason: "unexpected end"}
	}
	// The decoder's own message can quote a character of the secret: keep only the offset,
	// and say when what stopped it is the depth (encoding/json stops at maxDepth levels).
	off := dec.InputOffset()
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = se.Offset
	}
	if depthAt(s, off) >= maxDepth {
		return &JSONError{Offset: off, Reason: fmt.Sprintf("nested more than %d levels deep", maxDepth)}
	}
	return &JSONError{Offset: dec.InputOffset(), Reason: "invalid JSON"}
}

// maxDepth is encoding/json's limit on nesting.
const maxDepth = 10000

// depthAt is the nesting depth of JSON text s at byte offset off: the objects and arrays
// opened before it and not closed, outside strings.
func depthAt(s string, off int64) int {
	depth, inString := 0, false
	for i := 0; i < len(s) && int64(i) < off; i++ {
		switch c := s[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		}
	}
	return depth
}

func kindOf(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		return "JSON array"
	case string:
		return "JSON string"
	case json.Number:
		return "JSON number"
	case bool:
		return "JSON boolean"
	case nil:
		return "JSON null"
	}
	return "JSON value"
}
