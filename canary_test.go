package main

import "github.com/secretexec/secretexec/fetch"

// parseJSONForCanaries returns the values of a JSON secret, each one a canary too.
func parseJSONForCanaries(s string) ([]string, error) {
	kvs, err := fetch.JSONObject(s)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, kv := range kvs {
		out = append(out, kv.Value)
	}
	return out, nil
}
