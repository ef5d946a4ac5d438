package awsapi

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// regions covers every partition, the SDK's named pseudo-regions and names no partition
// claims (the SDK puts them in "aws").
var regions = []string{
	"us-east-1", "eu-west-3", "ap-southeast-7", "mx-central-1", "il-central-1",
	"cn-north-1", "cn-northwest-1", "us-gov-west-1", "us-gov-east-1",
	"us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1", "us-isof-south-1", "eusc-de-east-1",
	"aws-global", "aws-cn-global", "aws-us-gov-global", "aws-iso-b-global",
	"xx-moon-1", "local", "US-EAST-1", "us-east_x-1", "us-east-1a", "us--1", "cn-north-", "us-gov-1",
	"eusc-fr-east-1", "us-iso-east-1-b", "eu-isoe-west-01", "ap_x-south-1",
}

// sdkURL resolves an endpoint with the SDK's own rules for the service.
func sdkURL(t *testing.T, svc service, region string, fips, dual bool, custom string) (string, error) {
	t.Helper()
	ctx := context.Background()
	var ep *string
	if custom != "" {
		ep = &custom
	}
	switch svc.id {
	case ssmService.id:
		e, err := ssm.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, ssm.EndpointParameters{Region: &region, UseFIPS: &fips, UseDualStack: &dual, Endpoint: ep})
		return e.URI.String(), err
	case secretsService.id:
		e, err := secretsmanager.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, secretsmanager.EndpointParameters{Region: &region, UseFIPS: &fips, UseDualStack: &dual, Endpoint: ep})
		return e.URI.String(), err
	}
	t.Fatalf("unknown service %q", svc.id)
	return "", nil
}

func TestEndpointsMatchSDKRules(t *testing.T) {
	checked := 0
	for _, svc := range []service{ssmService, secretsService} {
		for _, region := range regions {
			for _, fips := range []bool{false, true} {
				for _, dual := range []bool{false, true} {
					for _, custom := range []string{"", "http://127.0.0.1:4566"} {
						want, werr := sdkURL(t, svc, region, fips, dual, custom)
						got, gerr := endpointConfig{svc: svc, custom: custom, fips: fips, dualStack: dual}.url(region)
						if custom == "" && !validRegion(region) {
							// Stricter than the SDK on purpose: a region that is not a DNS
							// label ("us-east_x-1") fails here, not at the DNS lookup.
							if gerr == nil {
								t.Errorf("%s %q: got %q, want an error", svc.id, region, got)
							}
							checked++
							continue
						}
						if (werr != nil) != (gerr != nil) || got != want {
							t.Errorf("%s %s fips=%v dual=%v custom=%q: got %q, %v; the SDK: %q, %v", svc.id, region, fips, dual, custom, got, gerr, want, werr)
						}
						checked++
					}
				}
			}
		}
	}
	if checked != 2*len(regions)*8 {
		t.Fatalf("checked %d combinations", checked)
	}
}

func TestEndpointRejectsHostInjection(t *testing.T) {
	for _, r := range []string{"", "us-east-1.evil.example", "us east 1", "us-east-1/", "-us-east-1", "a@b"} {
		if u, err := (endpointConfig{svc: ssmService}).url(r); err == nil {
			t.Errorf("region %q: got %q, want an error", r, u)
		}
		if CheckRegion(r) == nil {
			t.Errorf("CheckRegion(%q) = nil", r)
		}
	}
	if err := CheckRegion("us-east-1"); err != nil {
		t.Fatal(err)
	}
}

// TestConfiguredEndpointsMatchSDK loads the configuration from the environment and a
// shared config file, as secretexec does, and checks that both services send to the host
// the SDK's own clients send to.
func TestConfiguredEndpointsMatchSDK(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config")
	if err := os.WriteFile(cfgFile, []byte(`[profile svc]
endpoint_url = http://profile.example:1
services = local

[profile plain]
endpoint_url = http://profile.example:1

[services local]
ssm =
  endpoint_url = http://ssm.profile.example:2
secretsmanager =
  endpoint_url = http://sm.profile.example:3
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  map[string]string
	}{
		{"none", nil},
		{"global", map[string]string{"AWS_ENDPOINT_URL": "http://global.example:4"}},
		{"global and ssm", map[string]string{"AWS_ENDPOINT_URL": "http://global.example:4", "AWS_ENDPOINT_URL_SSM": "http://ssm.example:5"}},
		{"secrets manager", map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://sm.example:6"}},
		{"paths", map[string]string{"AWS_ENDPOINT_URL": "http://global.example:4/prefix", "AWS_ENDPOINT_URL_SSM": "http://ssm.example:5/a/b/"}},
		{"profile", map[string]string{"AWS_PROFILE": "plain"}},
		{"profile services", map[string]string{"AWS_PROFILE": "svc"}},
		{"profile services and global env", map[string]string{"AWS_PROFILE": "svc", "AWS_ENDPOINT_URL": "http://global.example:4"}},
		{"ignored", map[string]string{"AWS_PROFILE": "svc", "AWS_ENDPOINT_URL_SSM": "http://ssm.example:5", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}},
		{"fips", map[string]string{"AWS_USE_FIPS_ENDPOINT": "true", "AWS_REGION": "us-gov-west-1"}},
		{"dual-stack", map[string]string{"AWS_USE_DUALSTACK_ENDPOINT": "true", "AWS_REGION": "cn-north-1"}},
		{"fips and dual-stack", map[string]string{"AWS_USE_FIPS_ENDPOINT": "true", "AWS_USE_DUALSTACK_ENDPOINT": "true"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_DEFAULT_REGION", "AWS_CA_BUNDLE"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			t.Setenv("AWS_CONFIG_FILE", cfgFile)
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
			t.Setenv("AWS_REGION", "eu-west-1")
			t.Setenv("AWS_ACCESS_KEY_ID", "test")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
			t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, err := awsconfig.LoadDefaultConfig(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			sdk, ours := &capture{}, &capture{}
			sc := cfg.Copy()
			sc.HTTPClient = sdk
			sc.RetryMaxAttempts = 1
			oc := cfg.Copy()
			oc.HTTPClient = ours
			ctx := context.Background()
			_, _ = ssm.NewFromConfig(sc).GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"a"}})
			_, _ = secretsmanager.NewFromConfig(sc).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("a")})
			_, _ = NewSSM(Config{AWS: oc}).GetParameters(ctx, &GetParametersInput{Names: []string{"a"}})
			_, _ = NewSecretsManager(Config{AWS: oc}).GetSecretValue(ctx, &GetSecretValueInput{SecretId: aws.String("a")})
			if len(sdk.reqs) != 2 || strings.Join(ours.urls(), " ") != strings.Join(sdk.urls(), " ") {
				t.Fatalf("hosts: ours %q, the SDK's %q", ours.urls(), sdk.urls())
			}
			t.Logf("%q", ours.urls())
		})
	}
}
