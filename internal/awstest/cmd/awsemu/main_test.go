package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/secretexec/secretexec/internal/awstest"
)

func TestRunSeedsPrintsURLAndStopsWhenStdinCloses(t *testing.T) {
	seed := filepath.Join(t.TempDir(), "seed.txt")
	if err := os.WriteFile(seed, []byte("# demo\nssm /app/prod/A  two spaces\nssm-secure /app/prod/B b\nfault GetParametersByPath throttle 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdinR, stdinW := io.Pipe()
	outR, outW := io.Pipe()
	var stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"-seed", seed, "-ssm", "/app/prod/C=c=d", "-latency", "1ms"}, stdinR, outW, &stderr)
	}()
	url, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatal(err, stderr.String())
	}
	url = strings.TrimSpace(url)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("url = %q", url)
	}
	client := ssm.NewFromConfig(aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 2,
		Credentials: credentials.NewStaticCredentialsProvider(awstest.AccessKeyID, awstest.SecretAccessKey, ""),
	})
	out, err := client.GetParametersByPath(context.Background(), &ssm.GetParametersByPathInput{Path: aws.String("/app/prod"), WithDecryption: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range out.Parameters {
		got[aws.ToString(p.Name)] = aws.ToString(p.Value)
	}
	if got["/app/prod/A"] != " two spaces" || got["/app/prod/B"] != "b" || got["/app/prod/C"] != "c=d" {
		t.Fatalf("parameters = %q", got)
	}
	stdinW.Close()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("awsemu did not stop when stdin closed")
	}
}

func TestRunRejectsBadSeed(t *testing.T) {
	seed := filepath.Join(t.TempDir(), "seed.txt")
	if err := os.WriteFile(seed, []byte("ssm /a a\nbogus line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	code := run(context.Background(), []string{"-seed", seed}, strings.NewReader(""), io.Discard, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "line 2: unknown directive \"bogus\"") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

// A seeding flag without "=" is named by its position, never quoted: what was typed may be a
// value.
func TestRunBadFlagDoesNotQuoteIt(t *testing.T) {
	for _, tc := range []struct{ flag, want string }{
		{"-ssm", `-ssm number 2 has no "="`},
		{"-ssm-secure", `-ssm-secure number 2 has no "="`},
		{"-sm", `-sm number 2 has no "="`},
	} {
		var stderr strings.Builder
		args := []string{tc.flag, "/ok=fine", tc.flag, "canary-typed-value-8c1f"}
		code := run(context.Background(), args, strings.NewReader(""), io.Discard, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 1 and %q", tc.flag, code, stderr.String(), tc.want)
		}
		if strings.Contains(stderr.String(), "canary-typed-value") {
			t.Errorf("%s: the argument appears in stderr", tc.flag)
		}
	}
}
