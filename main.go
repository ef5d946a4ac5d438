// Command secretexec fetches secrets from AWS SSM Parameter Store and Secrets Manager, puts
// them in the environment and execs the real command, so the secrets never touch disk.
package main

import (
	"context"
	"os"

	"github.com/secretexec/secretexec/internal/cli"
)

// Set at release build time: -ldflags "-X main.version=v1.2.3 -X main.commit=abc1234".
var (
	version = ""
	commit  = ""
)

func main() {
	os.Exit(cli.Main(context.Background(), cli.Build{Version: version, Commit: commit}, os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}
