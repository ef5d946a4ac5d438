package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/secretexec/secretexec/internal/awstest"
)

// BenchmarkStartup runs the whole command in-process (--dry-run, so nothing is executed)
// against the emulator: what a CPU profile of secretexec's own start-up work looks like,
// package initialisation and process start aside (for those see bench/README.md).
//
//	go test -run '^$' -bench Startup -cpuprofile cpu.out ./internal/cli && go tool pprof -top cpu.out
func BenchmarkStartup(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("params=%d", n), func(b *testing.B) {
			srv := awstest.New(b)
			for i := range n {
				if err := srv.PutParameter(context.Background(), fmt.Sprintf("/bench/P%04d", i), "value-0123456789abcdef", true); err != nil {
					b.Fatal(err)
				}
			}
			environ := srv.Env(b.TempDir())
			// run reads environ, the SDK the process environment: blank every AWS_*
			// variable this machine exports (AWS_CA_BUNDLE makes the SDK parse a bundle at
			// every start), then set the isolated ones.
			for _, kv := range os.Environ() {
				if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
					b.Setenv(k, "")
				}
			}
			for _, kv := range environ {
				k, v, _ := strings.Cut(kv, "=")
				b.Setenv(k, v) // the SDK reads the process environment
			}
			b.ResetTimer()
			for b.Loop() {
				if code := Main(context.Background(), Build{}, []string{"--dry-run", "--ssm-path", "/bench"}, environ, io.Discard, io.Discard); code != 0 {
					b.Fatalf("exit status %d", code)
				}
			}
		})
	}
}
