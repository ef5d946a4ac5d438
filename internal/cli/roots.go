package cli

import (
	"crypto/x509"
	"os"
	"strings"
	"sync"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// fallbackRoots installs the bundled roots once per process, if they are needed.
var fallbackRoots = sync.OnceFunc(installFallbackRoots)

// installFallbackRoots gives TLS the bundled Mozilla roots when the system has none, as in a
// FROM-scratch image. It does what golang.org/x/crypto/x509roots/fallback does in its init,
// but only when needed: parsing the bundle costs every start time and heap (bench/README.md
// has the figures), which a system with a CA store never uses, since Go prefers the system roots.
// The files are the ones crypto/x509 reads on Linux; a store is taken to exist if one of
// them is non-empty.
func installFallbackRoots() {
	if systemRootsExist() {
		return
	}
	usingFallbackRoots = true
	p := x509.NewCertPool()
	for c := range bundle.Roots() {
		cert, err := x509.ParseCertificate(c.Certificate)
		if err != nil {
			continue // never expected; a root that cannot be parsed can verify nothing
		}
		if c.Constraint == nil {
			p.AddCert(cert)
		} else {
			p.AddCertWithConstraint(cert, c.Constraint)
		}
	}
	x509.SetFallbackRoots(p)
}

// usingFallbackRoots is set when installFallbackRoots found no system CA store; --verbose
// says so, since it explains a TLS failure behind a TLS-intercepting proxy.
var usingFallbackRoots bool

// systemRootsExist reports whether crypto/x509 will find a CA store on this system.
func systemRootsExist() bool {
	files := []string{
		"/etc/ssl/certs/ca-certificates.crt",
		"/etc/pki/tls/certs/ca-bundle.crt",
		"/etc/ssl/ca-bundle.pem",
		"/etc/pki/tls/cacert.pem",
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
		"/etc/ssl/cert.pem",
	}
	if f := os.Getenv("SSL_CERT_FILE"); f != "" {
		files = []string{f}
	}
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
			return true
		}
	}
	dirs := []string{"/etc/ssl/certs", "/etc/pki/tls/certs"}
	if d := os.Getenv("SSL_CERT_DIR"); d != "" {
		dirs = strings.Split(d, ":")
	}
	for _, d := range dirs {
		if f, err := os.Open(d); err == nil {
			names, _ := f.Readdirnames(1)
			f.Close()
			if len(names) > 0 {
				return true
			}
		}
	}
	return false
}
