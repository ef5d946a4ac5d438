package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/secretexec/secretexec/internal/ptytest"
)

// Job control in a terminal: with --init, secretexec is as transparent to
// an interactive shell as exec is. Each case runs in both modes, typed into bash on a real
// pseudo-terminal, with a value fetched from the emulator that must not appear on the screen.
//
// The commands print values the shell computes ($((1+1)), ${#DB_PASS}), so that the text
// waited for never matches the terminal's echo of the command line itself.

const (
	prompt    = "prompt$ "
	ttySecret = "canary-terminal-Q7mX2v"
)

// ttyShell starts an interactive bash on a new terminal, in procEnv's environment, and
// returns the terminal, its working directory and the secretexec command line for mode
// ("exec" or "init") up to the command's "--".
func ttyShell(t *testing.T, mode string) (tm *ptytest.Terminal, dir, secretexec string) {
	t.Helper()
	p := newProcEnv(t)
	p.putParam("/app/dev/DB_PASS", ttySecret)
	tm = ptytest.Open(t)
	// --noediting: no readline, so the screen is the terminal's own echo and the shell's
	// output; set -b: a background job's stop is reported at once, not at the next prompt.
	cmd := p.onTerminal(tm, []string{"PS1=" + prompt, "TERM=dumb", "HISTFILE=/dev/null"},
		"bash", "--norc", "--noprofile", "--noediting", "-i")
	if err := cmd.Start(); err != nil {
		t.Fatalf("bash: %v", err)
	}
	t.Cleanup(func() {
		tm.Close()
		cmd.Wait()
	})
	tm.Expect(prompt)
	tm.Type("set -b\n")
	tm.Expect(prompt)
	secretexec = "secretexec --ssm-path /app/dev"
	if mode == "init" {
		secretexec += " --init"
	}
	return tm, p.dir, secretexec + " --"
}

// checkStatus asks the shell for the last command's status, and checks that the job is
// gone from its job table.
func checkStatus(t *testing.T, tm *ptytest.Terminal, want int) {
	t.Helper()
	tm.Type("echo status:$?\n")
	tm.Expect(fmt.Sprintf("status:%d\r\n", want))
	tm.Expect(prompt)
	tm.Type("jobs; echo jobs:$((1+1))\n")
	if out := tm.Expect("jobs:2"); strings.Contains(out, "Stopped") || strings.Contains(out, "Running") {
		t.Errorf("jobs left in the shell:\n%s", out)
	}
	tm.Expect(prompt)
}

func TestTerminalJobControl(t *testing.T) {
	for _, mode := range []string{"exec", "init"} {
		t.Run(mode, func(t *testing.T) {
			// Ctrl-Z stops the command and gives the shell its prompt back ("Stopped"); fg
			// resumes it with the terminal (it reads the next line); Ctrl-C ends it: 130.
			t.Run("ctrl-z_fg_ctrl-c", func(t *testing.T) {
				tm, _, secretexec := ttyShell(t, mode)
				tm.Type(secretexec + ` sh -c 'echo len:${#DB_PASS}; while read l; do echo echo:$l; done'` + "\n")
				tm.Expect(fmt.Sprintf("len:%d\r\n", len(ttySecret)))
				tm.Type("one\n")
				tm.Expect("echo:one")
				tm.Type("\x1a")
				tm.Expect("Stopped")
				tm.Expect(prompt)
				tm.Type("fg\n")
				tm.Type("two\n")
				tm.Expect("echo:two")
				tm.Type("\x03")
				tm.Expect(prompt)
				checkStatus(t, tm, 130)
			})

			// Stdin is a pipe and the command reads the terminal itself (/dev/tty, as getpass
			// does): it must be in the terminal's foreground group to do so.
			t.Run("dev-tty_with_piped_stdin", func(t *testing.T) {
				tm, _, secretexec := ttyShell(t, mode)
				tm.Type("echo piped | " + secretexec + ` sh -c 'read p; echo stdin:$p; read v </dev/tty; echo tty:$v'` + "\n")
				tm.Expect("stdin:piped")
				tm.Type("typed\n")
				tm.Expect("tty:typed")
				tm.Expect(prompt)
				checkStatus(t, tm, 0)
			})

			// Started in the background, the command stops when it reads the terminal, the
			// shell reports the job stopped, and fg gives it the terminal.
			t.Run("background_then_fg", func(t *testing.T) {
				tm, _, secretexec := ttyShell(t, mode)
				tm.Type(secretexec + ` sh -c 'read v; echo tty:$v' &` + "\n")
				tm.Expect("Stopped")
				tm.Type("fg\n")
				tm.Type("later\n")
				tm.Expect("tty:later")
				tm.Expect(prompt)
				checkStatus(t, tm, 0)
			})

			// fg of a job still running in the background (the shell sends no SIGCONT):
			// the command's first read of the terminal comes after, and works.
			t.Run("fg_of_a_running_background_job", func(t *testing.T) {
				tm, dir, secretexec := ttyShell(t, mode)
				tm.Type(secretexec + ` sh -c 'echo waiting:$((3+3)); until [ -e go ]; do sleep 0.05; done; read v; echo tty:$v' &` + "\n")
				tm.Expect("waiting:6")
				tm.Type("fg\n")
				tm.Expect("fg\r\n" + secretexec) // the shell names the job it resumes
				if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o600); err != nil {
					t.Fatal(err)
				}
				tm.Type("now\n")
				tm.Expect("tty:now")
				tm.Expect(prompt)
				checkStatus(t, tm, 0)
			})

			// A Ctrl-C reaches the command once: its trap runs once, and the next read
			// waits for the line typed after it.
			t.Run("ctrl-c_once", func(t *testing.T) {
				tm, _, secretexec := ttyShell(t, mode)
				tm.Type(secretexec + ` sh -c 'trap "echo INT-\$((6*7))" INT; echo ready:$((1+1)); until read l; do :; done; echo end:$((2+2))'` + "\n")
				tm.Expect("ready:2")
				tm.Type("\x03")
				tm.Expect("INT-42")
				tm.Type("x\n")
				out := tm.Expect("end:4")
				if n := strings.Count(out, "INT-42"); n != 0 {
					t.Errorf("the trap ran %d more times after the first:\n%s", n, out)
				}
				tm.Expect(prompt)
				checkStatus(t, tm, 0)
			})

			// Run by a script: Ctrl-Z stops the whole job, the script included, so the
			// shell reports it stopped, and fg resumes both.
			t.Run("ctrl-z_under_a_script", func(t *testing.T) {
				tm, _, secretexec := ttyShell(t, mode)
				tm.Type(`sh -c '` + secretexec + ` sh -c "echo started:\$((0+1)); exec head -n 1"; echo after:$((1+1))'` + "\n")
				tm.Expect("started:1")
				tm.Type("\x1a")
				tm.Expect("Stopped")
				tm.Expect(prompt)
				tm.Type("fg\n")
				tm.Type("line\n")
				tm.Expect("after:2")
				tm.Expect(prompt)
				checkStatus(t, tm, 0)
			})

			// kill -TSTP from elsewhere, to the process the shell started: the job stops as
			// after a Ctrl-Z (under --init, the command stops, then secretexec follows).
			t.Run("kill_-TSTP_from_outside", func(t *testing.T) {
				tm, _, secretexec := ttyShell(t, mode)
				tm.Type(secretexec + ` sh -c 'echo pids-$((1+1)):$$:$PPID:; while read l; do echo echo:$l; done'` + "\n")
				tm.Expect("pids-2:")
				pids := strings.Split(tm.Expect(":\r\n"), ":")
				pid, err := strconv.Atoi(pids[0]) // exec: sh is secretexec's process
				if mode == "init" {
					pid, err = strconv.Atoi(pids[1]) // --init: secretexec is sh's parent
				}
				if err != nil {
					t.Fatalf("pids %q: %v", pids, err)
				}
				if err := unix.Kill(pid, unix.SIGTSTP); err != nil {
					t.Fatal(err)
				}
				tm.Expect("Stopped")
				tm.Expect(prompt)
				tm.Type("fg\n")
				tm.Type("again\n")
				tm.Expect("echo:again")
				tm.Type("\x03")
				tm.Expect(prompt)
				checkStatus(t, tm, 130)
			})

			// A process reparented to secretexec (the child subreaper under --init) that
			// stops is not the command: the job goes on.
			t.Run("stopped_orphan_ignored", func(t *testing.T) {
				tm, dir, secretexec := ttyShell(t, mode)
				script := `(sh -c 'echo $$ > orphan; kill -STOP $$' &)
until [ "$(cut -d' ' -f3 /proc/$(cat orphan 2>/dev/null || echo self)/stat 2>/dev/null)" = T ]; do sleep 0.05; done
echo orphan:stopped
read l
echo echo:$l
kill -KILL $(cat orphan)
`
				if err := os.WriteFile(filepath.Join(dir, "orphan.sh"), []byte(script), 0o600); err != nil {
					t.Fatal(err)
				}
				tm.Type(secretexec + " sh orphan.sh\n")
				tm.Expect("orphan:stopped")
				tm.Type("goes-on\n")
				tm.Expect("echo:goes-on")
				tm.Expect(prompt)
				checkStatus(t, tm, 0)
			})
		})
	}
}
