package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/secretexec/secretexec/env"
	"github.com/secretexec/secretexec/fetch"
)

type clients struct {
	ssm     fetch.SSMAPI
	secrets fetch.SecretsAPI
	region  string
}

// imdsTimeout bounds each instance-metadata probe, so that a laptop or a container that
// cannot reach IMDS fails fast instead of waiting for the SDK's longer defaults.
const imdsTimeout = time.Second

// newClients loads the SDK's configuration (the standard chain: environment, shared files,
// container and instance roles), settles the region and checks that credentials exist, so
// that these problems are reported once, with a hint, before any source is fetched.
func newClients(ctx context.Context, c *config, environ []string, lg *logger) (*clients, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = c.retries
				o.MaxBackoff = 5 * time.Second
				// The client-side retry quota exists to shed load from long-lived
				// processes; one start-up burst must not give up on throttling that the
				// deadline (--timeout) already bounds.
				o.RateLimiter = ratelimit.None
			})
		}),
	}
	if c.region != "" {
		opts = append(opts, awsconfig.WithRegion(c.region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, &hintError{err: fmt.Errorf("aws configuration: %w", err), hint: "check AWS_PROFILE, AWS_CONFIG_FILE and the profile's settings"}
	}
	if cfg.Region == "" {
		cfg.Region = fetch.ARNRegion(c.sources)
		if cfg.Region != "" {
			lg.verbosef("region %s, from a secret's ARN", cfg.Region)
		} else if cfg.Region = fetch.RefsRegion(c.refs); cfg.Region != "" {
			lg.verbosef("region %s, from a reference's ARN", cfg.Region)
		}
	}
	if cfg.Region == "" && imdsEnabled(environ) {
		rctx, cancel := context.WithTimeout(ctx, imdsTimeout)
		out, err := imds.NewFromConfig(cfg).GetRegion(rctx, &imds.GetRegionInput{})
		cancel()
		if err == nil && out.Region != "" {
			cfg.Region = out.Region
			lg.verbosef("region %s, from instance metadata", cfg.Region)
		}
	}
	if cfg.Region == "" {
		return nil, &hintError{
			err:  errors.New("no AWS region configured"),
			hint: "pass --region us-east-1 (or set AWS_REGION); on EC2 in a container, instance metadata needs hop limit 2: aws ec2 modify-instance-metadata-options --instance-id ID --http-put-response-hop-limit 2",
		}
	}
	if cfg.Credentials == nil {
		return nil, errNoCredentials(nil)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("getting AWS credentials: %w", ctx.Err())
		}
		return nil, errNoCredentials(err)
	}
	return &clients{ssm: ssm.NewFromConfig(cfg), secrets: &lazySecrets{cfg: cfg}, region: cfg.Region}, nil
}

func errNoCredentials(cause error) error {
	hint := "give the task or instance a role, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
	var ne net.Error
	if errors.As(cause, &ne) && ne.Timeout() || errors.Is(cause, context.DeadlineExceeded) {
		hint = "instance metadata did not answer in time; from a container on EC2 it needs hop limit 2: aws ec2 modify-instance-metadata-options --instance-id ID --http-put-response-hop-limit 2"
	}
	err := errors.New("no AWS credentials found")
	if cause != nil {
		err = fmt.Errorf("no AWS credentials found: %w", cause)
	}
	return &hintError{err: err, hint: hint}
}

func imdsEnabled(environ []string) bool {
	v, _ := env.Lookup(environ, "AWS_EC2_METADATA_DISABLED")
	return v != "true" && v != "TRUE" && v != "True"
}
