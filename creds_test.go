package main

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// Credential canaries: what a hostile or broken credential provider answers with. Every
// one is a canary of the script that starts the provider, so that secretexec's own output
// is checked for it as for a seeded value.
const (
	canaryKeyID  = "ASIACANARYKEYID77777"
	canarySecret = "canary-cred-secret-Zx81/vQ0pLr5mN2sT7uY4wA9bC3dE6fG"
	canaryToken  = "canary-cred-session-token-Hh2Jj4Kk6Ll8"
	canaryBad    = "canary-cred-garbage-Qq1Ww2Ee3Rr4"
)

var credCanaries = []string{canaryKeyID, canarySecret, canaryToken, canaryBad}

// credAnswers are a credential endpoint's hostile answers by mode (status, content type,
// body). The container endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI), SSO's
// GetRoleCredentials and STS's AssumeRoleWithWebIdentity all get the mode's answer.
var credAnswers = map[string]struct {
	status int
	ctype  string
	body   string
}{
	// Container endpoint (JSON).
	"truncated": {200, "application/json", fmt.Sprintf(`{"AccessKeyId":%q,"SecretAccessKey":%q,"Token":%q,"Expiration":"20`, canaryKeyID, canarySecret, canaryToken)},
	"expiry":    {200, "application/json", fmt.Sprintf(`{"AccessKeyId":%q,"SecretAccessKey":%q,"Token":%q,"Expiration":%q}`, canaryKeyID, canarySecret, canaryToken, canaryBad)},
	"apierror":  {400, "application/json", fmt.Sprintf(`{"code":%q,"message":"SecretAccessKey=%s"}`, canaryBad, canarySecret)},
	"html":      {500, "text/html", fmt.Sprintf(`<html>SecretAccessKey: %s Token: %s</html>`, canarySecret, canaryToken)},
	"garbage":   {200, "text/plain", fmt.Sprintf(`SecretAccessKey=%s %s garbage`, canarySecret, canaryBad)},
	"redirect":  {302, "text/html", fmt.Sprintf(`<a href="/">%s</a>`, canarySecret)},
	// SSO GetRoleCredentials (JSON): expiration must be a number.
	"sso": {200, "application/json", fmt.Sprintf(`{"roleCredentials":{"accessKeyId":%q,"secretAccessKey":%q,"sessionToken":%q,"expiration":%q}}`, canaryKeyID, canarySecret, canaryToken, canaryBad)},
	// STS AssumeRoleWithWebIdentity (XML): a truncated answer, and an error quoting the token.
	"sts":      {200, "text/xml", fmt.Sprintf(`<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s`, canaryKeyID, canarySecret, canaryToken, canaryBad)},
	"stserror": {400, "text/xml", fmt.Sprintf(`<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error></ErrorResponse>`, canaryBad, canarySecret)},
}

// credServer is a hostile credential endpoint: every request gets the mode's answer.
type credServer struct {
	URL string
	srv *http.Server
}

func startCredServer(mode string) (*credServer, error) {
	a, ok := credAnswers[mode]
	if !ok {
		return nil, fmt.Errorf("unknown credserver mode %q", mode)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &credServer{URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", a.ctype)
		if a.status/100 == 3 {
			w.Header().Set("Location", "http://portal.invalid/")
		}
		w.WriteHeader(a.status)
		fmt.Fprint(w, a.body)
	})}}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *credServer) Close() { s.srv.Close() }

// credCmds are the scripts' commands for credential providers:
//
//	canary VALUE            VALUE is a canary of the script
//	credserver MODE         a hostile endpoint in $CREDSERVER (see credAnswers); the
//	                        credential canaries become the script's
//	sso-token START_URL     a valid cached SSO token for START_URL (legacy profile form) in
//	                        $HOME/.aws/sso/cache, its access token a canary
func (e *harness) credCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"canary": func(ts *testscript.TestScript, neg bool, args []string) {
			for _, a := range args {
				e.canaries.add(value(ts, a))
			}
		},
		"credserver": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) != 1 {
				ts.Fatalf("usage: credserver MODE")
			}
			if e.cred != nil {
				e.cred.Close()
			}
			s, err := startCredServer(args[0])
			ts.Check(err)
			e.cred = s
			for _, c := range credCanaries {
				e.canaries.add(c)
			}
			ts.Setenv("CREDSERVER", s.URL)
		},
		"sso-token": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) != 1 {
				ts.Fatalf("usage: sso-token START_URL")
			}
			sum := sha1.Sum([]byte(args[0]))
			dir := filepath.Join(ts.Getenv("HOME"), ".aws", "sso", "cache")
			ts.Check(os.MkdirAll(dir, 0o700))
			tok, err := json.Marshal(map[string]string{
				"accessToken": canaryToken, "expiresAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
				"region": "us-east-1", "startUrl": args[0],
			})
			ts.Check(err)
			e.canaries.add(canaryToken)
			ts.Check(os.WriteFile(filepath.Join(dir, hex.EncodeToString(sum[:])+".json"), tok, 0o600))
		},
	}
}
