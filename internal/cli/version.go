package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// versionString is --version's line: the release build's version and commit, else what the
// Go toolchain stamped.
func versionString(b Build) string {
	v, c := b.Version, b.Commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" {
			v = bi.Main.Version // "go install ...@v1.2.3" stamps it
		}
		for _, s := range bi.Settings {
			if c == "" && s.Key == "vcs.revision" {
				c = s.Value
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if c == "" {
		c = "unknown"
	}
	if len(c) > 12 {
		c = c[:12]
	}
	return fmt.Sprintf("secretexec %s (commit %s, %s)", v, c, runtime.Version())
}

// appID is the SDK's application id, which goes into the User-Agent of every AWS request as
// "app/secretexec-VERSION"; CloudTrail records it, so an audit can tell secretexec's reads
// from other tools'. (The SDK would turn a "/" into "-" itself.)
func appID(b Build) string {
	if b.Version == "" {
		return "secretexec"
	}
	return "secretexec-" + b.Version
}
