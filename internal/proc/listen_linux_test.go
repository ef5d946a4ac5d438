package proc

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseListen(t *testing.T) {
	for in, want := range map[string]string{
		"tcp://127.0.0.1:8000": "tcp 127.0.0.1:8000",
		"tcp://:8000":          "tcp :8000",
		"tcp://[::1]:80":       "tcp [::1]:80",
		"unix:///run/app.sock": "unix /run/app.sock",
		"tcp://host":           "",
		"tcp://h:1/x":          "",
		"unix://rel/path":      "",
		"udp://h:1":            "",
		"127.0.0.1:8000":       "",
	} {
		n, a, err := ParseListen(in)
		got := n + " " + a
		if err != nil {
			got = ""
		}
		if got != want {
			t.Errorf("%q: %q (%v), want %q", in, got, err, want)
		}
	}
}

func FuzzParseListen(f *testing.F) {
	for _, s := range []string{"tcp://:1", "unix:///a", "tcp://[::1]:80", "unix://", "tcp://"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, a, err := ParseListen(s)
		if err == nil && (a == "" || (n != "tcp" && n != "unix")) {
			t.Errorf("%q: %q %q", s, n, a)
		}
	})
}

// TestListenUnixAndBlocking: a unix socket left by an earlier run is replaced, another
// file is not; the sockets are blocking, as systemd passes them.
func TestListenUnixAndBlocking(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	for range 2 { // the second time over the first one's socket file
		ls, err := Listen([]string{"unix://" + sock, "tcp://127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			fl, err := unix.FcntlInt(uintptr(l.fd), unix.F_GETFL, 0)
			if err != nil || fl&unix.O_NONBLOCK != 0 {
				t.Errorf("%s: flags %#x, %v: want blocking", l.Addr, fl, err)
			}
		}
		if c, err := net.Dial("unix", sock); err != nil {
			t.Errorf("dial %s: %v", sock, err)
		} else {
			c.Close()
		}
		CloseListeners(ls)
	}
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, nil, 0o600)
	if _, err := Listen([]string{"unix://" + plain}); err == nil {
		t.Errorf("a plain file was replaced by a socket")
	}
}
