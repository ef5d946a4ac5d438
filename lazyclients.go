package main

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// lazySecrets builds the Secrets Manager client at its first call: most starts read SSM
// only, and building a client (its options, endpoint resolver and middleware) is time
// and memory on every start.
type lazySecrets struct {
	cfg  aws.Config
	once sync.Once
	c    *secretsmanager.Client
}

func (l *lazySecrets) client() *secretsmanager.Client {
	l.once.Do(func() { l.c = secretsmanager.NewFromConfig(l.cfg) })
	return l.c
}

func (l *lazySecrets) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return l.client().GetSecretValue(ctx, in, opts...)
}
