package fetch_test

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/internal/awsapi"
)

// attemptTimeout bounds each attempt of the real clients built against the emulator, as the
// command bounds them for its default --timeout (30s).
var attemptTimeout = fetch.AttemptTimeout(30 * time.Second)

// ssmClient is the SSM client the command uses, for cfg (the emulator's Config).
func ssmClient(cfg aws.Config) *awsapi.SSM {
	return awsapi.NewSSM(awsapi.Config{AWS: cfg, AttemptTimeout: attemptTimeout})
}

// secretsClient is the Secrets Manager client the command uses, for cfg.
func secretsClient(cfg aws.Config) *awsapi.SecretsManager {
	return awsapi.NewSecretsManager(awsapi.Config{AWS: cfg, AttemptTimeout: attemptTimeout})
}

var (
	_ fetch.SSMAPI     = (*awsapi.SSM)(nil)
	_ fetch.SecretsAPI = (*awsapi.SecretsManager)(nil)
)
