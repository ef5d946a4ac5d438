// Command secretexec fetches secrets from AWS SSM Parameter Store and Secrets Manager, puts
// them in the environment and execs the real command, so the secrets never touch disk.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}
