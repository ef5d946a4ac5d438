package main

import (
	"bytes"
	"slices"
	"strings"
	"sync"

	"github.com/secretexec/secretexec/fetch"
)

// canaries are the values a test seeded: secretexec's own output must never contain one.
// The testscript harness (main_test.go) and procEnv (proc_test.go) both keep their seeded
// values here and check every output against them.
type canaries struct {
	mu   sync.Mutex
	vals []string
}

// add records a seeded value, each of its lines, and, for a JSON secret, each of its values
// (read by the parser secretexec itself uses). Strings too short to be told apart from
// ordinary words are not tracked.
func (c *canaries) add(v string) {
	vals := []string{v}
	if kvs, err := fetch.JSONObject(v); err == nil {
		for _, kv := range kvs {
			vals = append(vals, kv.Value)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, val := range vals {
		for _, s := range append([]string{val}, strings.Split(val, "\n")...) {
			if s = strings.TrimSpace(s); len(s) >= 6 && !slices.Contains(c.vals, s) {
				c.vals = append(c.vals, s)
			}
		}
	}
}

// leaked returns the length of every canary out contains: a failure message may say how long
// a leaked value is, never what it is.
func (c *canaries) leaked(out []byte) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var lens []int
	for _, v := range c.vals {
		if bytes.Contains(out, []byte(v)) {
			lens = append(lens, len(v))
		}
	}
	return lens
}
