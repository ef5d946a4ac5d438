package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretexec/secretexec/internal/awstest"
)

// fakeIMDS is an instance-metadata endpoint for scripts, in one of these modes:
//
//	closed     nothing listens on the port (a laptop: connection refused)
//	blackhole  connections are accepted and never answered
//	hoplimit   the token request (PUT /latest/api/token) is never answered and, as with
//	           IMDSv2 required, anything without a token gets 401: what a container sees
//	           on an instance whose PUT response hop limit is 1
//	ec2 REGION a working IMDSv2 with a region and an instance role
//	hostile-code, hostile-truncated
//	           as ec2 us-east-1, but the role's credentials are an error whose code and
//	           message hold credential canaries, or a truncated document with them
//
// It counts the connections it accepts, so a script can prove IMDS was not contacted, and
// the token requests it answers.
type fakeIMDS struct {
	URL    string
	conns  atomic.Int64
	tokens atomic.Int64

	ln       net.Listener
	srv      *http.Server
	mu       sync.Mutex
	held     []net.Conn
	stop     chan struct{}
	stopOnce sync.Once
}

func startIMDS(mode string, args []string) (*fakeIMDS, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &fakeIMDS{URL: "http://" + ln.Addr().String(), ln: ln, stop: make(chan struct{})}
	switch mode {
	case "closed":
		ln.Close()
		return f, nil
	case "blackhole":
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				f.conns.Add(1)
				f.mu.Lock()
				f.held = append(f.held, c)
				f.mu.Unlock()
			}
		}()
		return f, nil
	case "hoplimit":
		f.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut {
				select { // the answer is dropped on its way to the container
				case <-r.Context().Done():
				case <-f.stop:
				}
				return
			}
			http.Error(w, "", http.StatusUnauthorized)
		}))
		return f, nil
	case "ec2":
		if len(args) != 1 {
			ln.Close()
			return nil, fmt.Errorf("usage: imds ec2 REGION")
		}
		f.serve(ec2Handler(args[0], &f.tokens))
		return f, nil
	}
	if mode == "hostile-code" || mode == "hostile-truncated" {
		ec2 := ec2Handler("us-east-1", &f.tokens)
		f.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasPrefix(r.URL.Path, "/latest/meta-data/iam/security-credentials/app-role") {
				ec2.ServeHTTP(w, r)
				return
			}
			if mode == "hostile-code" {
				fmt.Fprintf(w, `{"Code":%q,"Message":"SecretAccessKey=%s","AccessKeyId":%q}`, canaryBad, canarySecret, canaryKeyID)
				return
			}
			fmt.Fprintf(w, `{"Code":"Success","AccessKeyId":%q,"SecretAccessKey":%q,"Token":%q,"Expiration":"`, canaryKeyID, canarySecret, canaryToken)
		}))
		return f, nil
	}
	ln.Close()
	return nil, fmt.Errorf("unknown imds mode %q", mode)
}

func (f *fakeIMDS) serve(h http.Handler) {
	f.srv = &http.Server{Handler: h, ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}}
	go f.srv.Serve(f.ln)
}

func (f *fakeIMDS) Close() {
	f.stopOnce.Do(func() { close(f.stop) })
	f.ln.Close()
	if f.srv != nil {
		f.srv.Close()
	}
	f.mu.Lock()
	for _, c := range f.held {
		c.Close()
	}
	f.mu.Unlock()
}

// ec2Handler answers the IMDSv2 calls the SDK makes for a region and role credentials.
func ec2Handler(region string, tokens *atomic.Int64) http.Handler {
	const token = "imds-token"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" {
			tokens.Add(1)
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
			fmt.Fprint(w, token)
			return
		}
		if r.Header.Get("X-Aws-Ec2-Metadata-Token") != token {
			http.Error(w, "", http.StatusUnauthorized)
			return
		}
		switch p := r.URL.Path; {
		case p == "/latest/meta-data/placement/region":
			fmt.Fprint(w, region)
		case p == "/latest/dynamic/instance-identity/document":
			json.NewEncoder(w).Encode(map[string]string{"region": region, "accountId": "123456789012", "instanceId": "i-0123"})
		case p == "/latest/meta-data/iam/security-credentials/":
			fmt.Fprint(w, "app-role")
		case strings.HasPrefix(p, "/latest/meta-data/iam/security-credentials/app-role"):
			now := time.Now().UTC()
			json.NewEncoder(w).Encode(map[string]string{
				"Code": "Success", "Type": "AWS-HMAC",
				// The temporary form of the test credentials, the one the emulator accepts.
				"AccessKeyId": awstest.AccessKeyID, "SecretAccessKey": awstest.SecretAccessKey, "Token": awstest.SessionToken,
				"LastUpdated": now.Format(time.RFC3339), "Expiration": now.Add(6 * time.Hour).Format(time.RFC3339),
			})
		default:
			http.NotFound(w, r)
		}
	})
}
