package fetch

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/secretexec/secretexec/env"
	"github.com/secretexec/secretexec/ref"
)

var (
	// ErrEmptySecret is a JSON secret holding an empty object (without AllowEmpty).
	ErrEmptySecret = errors.New("the secret's JSON object has no keys")
	// ErrBinarySecret is a secret stored as SecretBinary, which has no variables to give.
	ErrBinarySecret = errors.New("the secret is stored as SecretBinary, not SecretString")
	// ErrNoKey is an sm://ID#KEY whose secret is a JSON object without KEY.
	ErrNoKey = errors.New("the secret's JSON object has no such key")
)

// secretJob is one GetSecretValue request, shared by every source and reference that
// names the same secret version in the same region.
type secretJob struct {
	key    secretKey
	value  string
	err    *Error // from AWS, or the secret has no SecretString
	calls  int
	kvs    map[string]string // the JSON object, parsed once on first use
	kvsErr error
}

// getSecret makes the one GetSecretValue request of a job.
func (f *Fetcher) getSecret(ctx context.Context, j *secretJob) bool {
	k := j.key
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(k.id)}
	if k.stage != "" {
		in.VersionStage = aws.String(k.stage)
	}
	if k.versionID != "" {
		in.VersionId = aws.String(k.versionID)
	}
	var opts []func(*secretsmanager.Options)
	if k.region != f.Region {
		opts = append(opts, func(o *secretsmanager.Options) { o.Region = k.region })
	}
	j.calls = 1
	out, err := f.Secrets.GetSecretValue(ctx, in, opts...)
	switch {
	case err != nil:
		j.err = newError(ctx, "GetSecretValue", k.region, err)
	case out.SecretString != nil:
		j.value = *out.SecretString
	case out.SecretBinary != nil:
		j.err = &Error{Region: k.region, Err: ErrBinarySecret}
	default:
		j.err = &Error{Region: k.region, Err: errors.New("the secret has no SecretString")}
	}
	return j.err != nil
}

// secretResult turns a shared secret request into a source's variables: the whole string
// for a bound source, else one variable per key of its JSON object.
func (f *Fetcher) secretResult(src Source, j *secretJob) (Result, error) {
	res := Result{Source: src, Calls: j.calls}
	if j.err != nil {
		return res, j.err.forSource(src)
	}
	if src.Bind != "" {
		res.Items = []Item{{Key: src.SecretID, Var: env.Var{Name: src.Bind, Value: j.value}, Desc: "whole secret"}}
		return res, nil
	}
	fail := func(err error) error { return &Error{Source: src, Region: j.key.region, Err: err} }
	kvs, err := JSONObject(j.value)
	if err != nil {
		return res, fail(err)
	}
	byName := map[string]string{}
	for _, kv := range kvs {
		name := env.Name(kv.Key)
		if name == "" {
			return res, fail(errors.New("the secret's JSON object has an empty key"))
		}
		if env.Reserved(name) {
			return res, fail(&ReservedError{Name: name, Key: kv.Key})
		}
		if other, dup := byName[name]; dup {
			return res, fail(&CollisionError{Name: name, Keys: [2]string{other, kv.Key}})
		}
		byName[name] = kv.Key
		res.Items = append(res.Items, Item{Key: kv.Key, Var: env.Var{Name: name, Value: kv.Value}, Desc: "key " + kv.Key})
	}
	if len(res.Items) == 0 && !f.AllowEmpty {
		return res, fail(ErrEmptySecret)
	}
	sortItems(res.Items)
	return res, nil
}

// resolve gives a reference its value: the whole SecretString, or one key of its JSON
// object (parsed once for all the references to it).
func (j *secretJob) resolve(vr ref.VarRef) (string, error) {
	if j.err != nil {
		return "", j.err.forRef(vr)
	}
	if vr.Ref.JSONKey == "" {
		return j.value, nil
	}
	if j.kvs == nil && j.kvsErr == nil {
		kvs, err := JSONObject(j.value)
		if err != nil {
			j.kvsErr = err
		} else {
			j.kvs = make(map[string]string, len(kvs))
			for _, kv := range kvs {
				j.kvs[kv.Key] = kv.Value
			}
		}
	}
	if j.kvsErr != nil {
		return "", &Error{Ref: &vr, Region: j.key.region, Err: j.kvsErr}
	}
	v, ok := j.kvs[vr.Ref.JSONKey]
	if !ok {
		return "", &Error{Ref: &vr, Region: j.key.region, Err: ErrNoKey}
	}
	return v, nil
}
