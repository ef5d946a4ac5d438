package awsapi

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// service is what differs between the two services on the wire.
type service struct {
	id          string // the SDK's service ID: AWS_ENDPOINT_URL_<ID>, [services] keys, errors
	signingName string // SigV4 service name
	target      string // X-Amz-Target prefix
	host        string // endpoint host prefix
	// The service's exceptions to the common endpoint forms, by partition name (the SDK's
	// endpoint rules for the service): fipsHost replaces host+"-fips" when only FIPS is on;
	// dualSuffix and dualFIPSSuffix replace the partition's dual-stack DNS suffix.
	fipsHost, dualSuffix, dualFIPSSuffix map[string]string
}

var (
	ssmService = service{
		id: "SSM", signingName: "ssm", target: "AmazonSSM", host: "ssm",
		fipsHost: map[string]string{"aws-us-gov": "ssm"},
	}
	secretsService = service{
		id: "Secrets Manager", signingName: "secretsmanager", target: "secretsmanager", host: "secretsmanager",
		// Secrets Manager's standard endpoints already answer over IPv6 in these partitions.
		dualSuffix:     map[string]string{"aws": "amazonaws.com", "aws-us-gov": "amazonaws.com", "aws-cn": "amazonaws.com.cn"},
		dualFIPSSuffix: map[string]string{"aws": "amazonaws.com", "aws-us-gov": "amazonaws.com"},
	}
)

// partition is an AWS partition's DNS names, from the SDK's partitions.json.
type partition struct {
	name, dnsSuffix, dualStackSuffix string
	// prefixes are the region-name prefixes of the partition's regionRegex: a region is
	// in it when it is one of them, a dash, a \w+ word, a dash and digits, e.g.
	// ^(us|eu|...)\-\w+\-\d+$. Matched by hand: compiling the eight expressions cost every
	// start 0.17 ms and 55 KB.
	prefixes []string
}

// partitions in the SDK's order; a region that matches none is in "aws".
var partitions = []partition{
	{"aws", "amazonaws.com", "api.aws", []string{"us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"}},
	{"aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn", []string{"cn"}},
	{"aws-eusc", "amazonaws.eu", "api.amazonwebservices.eu", []string{"eusc-de"}},
	{"aws-iso", "c2s.ic.gov", "api.aws.ic.gov", []string{"us-iso"}},
	{"aws-iso-b", "sc2s.sgov.gov", "api.aws.scloud", []string{"us-isob"}},
	{"aws-iso-e", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk", []string{"eu-isoe"}},
	{"aws-iso-f", "csp.hci.ic.gov", "api.aws.hci.ic.gov", []string{"us-isof"}},
	{"aws-us-gov", "amazonaws.com", "api.aws", []string{"us-gov"}},
}

// matches reports whether region is one of p's prefixes followed by -WORD-DIGITS.
func (p partition) matches(region string) bool {
	for _, pre := range p.prefixes {
		rest, ok := strings.CutPrefix(region, pre+"-")
		if !ok {
			continue
		}
		word, num, ok := strings.Cut(rest, "-")
		if ok && word != "" && num != "" && strings.Trim(word, wordChars) == "" && strings.Trim(num, "0123456789") == "" {
			return true
		}
	}
	return false
}

// wordChars is the regular expressions' \w.
const wordChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

// explicit are the SDK's named regions that its regular expressions do not match.
var explicit = map[string]string{
	"aws-global": "aws", "aws-cn-global": "aws-cn", "aws-iso-global": "aws-iso",
	"aws-iso-b-global": "aws-iso-b", "aws-iso-e-global": "aws-iso-e", "aws-iso-f-global": "aws-iso-f",
	"aws-us-gov-global": "aws-us-gov",
}

func partitionOf(region string) partition {
	if name, ok := explicit[region]; ok {
		for _, p := range partitions {
			if p.name == name {
				return p
			}
		}
	}
	for _, p := range partitions {
		if p.matches(region) {
			return p
		}
	}
	return partitions[0]
}

// endpointConfig is a client's endpoint settings, resolved once.
type endpointConfig struct {
	svc             service
	custom          string // a configured endpoint URL, or ""
	fips, dualStack bool
}

// resolveEndpointConfig reads the configured endpoint as the SDK's service clients do:
// AWS_ENDPOINT_URL_<SERVICE> or the shared config's [services] section, else
// AWS_ENDPOINT_URL or the profile's endpoint_url (cfg.BaseEndpoint); none of them when
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is set (config.LoadDefaultConfig then leaves
// BaseEndpoint nil). And FIPS and dual-stack from AWS_USE_FIPS_ENDPOINT,
// AWS_USE_DUALSTACK_ENDPOINT or the profile.
func resolveEndpointConfig(cfg aws.Config, svc service) endpointConfig {
	ec := endpointConfig{svc: svc, custom: aws.ToString(cfg.BaseEndpoint)}
	ctx := context.Background()
	src := cfg.ConfigSources
	_, global := os.LookupEnv("AWS_ENDPOINT_URL")
	_, own := os.LookupEnv("AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(svc.id, " ", "_")))
	ignore, _ := setting(src, func(p interface {
		GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error)
	}) (bool, bool, error) {
		return p.GetIgnoreConfiguredEndpoints(ctx)
	})
	if (!global || own) && !ignore {
		if u, ok := setting(src, func(p interface {
			GetServiceBaseEndpoint(context.Context, string) (string, bool, error)
		}) (string, bool, error) {
			return p.GetServiceBaseEndpoint(ctx, svc.id)
		}); ok {
			ec.custom = u
		}
	}
	fips, _ := setting(src, func(p interface {
		GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error)
	}) (aws.FIPSEndpointState, bool, error) {
		return p.GetUseFIPSEndpoint(ctx)
	})
	dual, _ := setting(src, func(p interface {
		GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error)
	}) (aws.DualStackEndpointState, bool, error) {
		return p.GetUseDualStackEndpoint(ctx)
	})
	ec.fips = fips == aws.FIPSEndpointStateEnabled
	ec.dualStack = dual == aws.DualStackEndpointStateEnabled
	return ec
}

// setting asks the configuration sources (environment, then shared config) in order, as
// the SDK's resolvers do: the first source that has the setting gives it; a source that
// fails ends the search with nothing.
func setting[P any, T any](sources []any, get func(P) (T, bool, error)) (T, bool) {
	var zero T
	for _, src := range sources {
		if p, ok := src.(P); ok {
			v, found, err := get(p)
			if err != nil {
				return zero, false
			}
			if found {
				return v, true
			}
		}
	}
	return zero, false
}

// url is the endpoint for region, by the SDK's endpoint rules for SSM and Secrets Manager.
func (ec endpointConfig) url(region string) (string, error) {
	if ec.custom != "" {
		switch {
		case ec.fips:
			return "", &EndpointError{ec.svc.id, region, "FIPS and a custom endpoint are not supported together"}
		case ec.dualStack:
			return "", &EndpointError{ec.svc.id, region, "dual-stack and a custom endpoint are not supported together"}
		}
		if _, err := url.Parse(ec.custom); err != nil {
			return "", &EndpointError{ec.svc.id, region, "the configured endpoint URL does not parse"}
		}
		return ec.custom, nil
	}
	if region == "" {
		return "", &EndpointError{ec.svc.id, region, "no region"}
	}
	if !validRegion(region) {
		return "", &EndpointError{ec.svc.id, region, "not a valid region name"}
	}
	p := partitionOf(region)
	host, suffix := ec.svc.host, p.dnsSuffix
	switch {
	case ec.fips && ec.dualStack:
		host, suffix = ec.svc.host+"-fips", or(ec.svc.dualFIPSSuffix[p.name], p.dualStackSuffix)
	case ec.fips:
		host = or(ec.svc.fipsHost[p.name], ec.svc.host+"-fips")
	case ec.dualStack:
		suffix = or(ec.svc.dualSuffix[p.name], p.dualStackSuffix)
	}
	return "https://" + host + "." + region + "." + suffix, nil
}

// validRegion is a DNS label: AWS's region names are lower-case letters, digits and dashes.
func validRegion(r string) bool {
	if len(r) > 63 || r[0] == '-' || r[len(r)-1] == '-' {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// CheckRegion reports whether region can be used in an endpoint host name.
func CheckRegion(region string) error {
	if region == "" || !validRegion(region) {
		return fmt.Errorf("%q is not a valid AWS region name", region)
	}
	return nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
