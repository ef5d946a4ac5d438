package env

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestExecLimit(t *testing.T) {
	tests := []struct {
		name  string
		stack uint64
		want  uint64
	}{
		{"zero stack: the 128 KiB floor", 0, 128 << 10},
		{"small stack: the 128 KiB floor", 256 << 10, 128 << 10},
		{"512 KiB stack: a quarter is the floor", 512 << 10, 128 << 10},
		{"1 MiB stack: a quarter", 1 << 20, 256 << 10},
		{"default 8 MiB stack: 2 MiB", 8 << 20, 2 << 20},
		{"24 MiB stack: exactly the cap", 24 << 20, 6 << 20},
		{"64 MiB stack: the 6 MiB cap", 64 << 20, 6 << 20},
		{"unlimited: the 6 MiB cap", ^uint64(0), 6 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExecLimit(tt.stack); got != tt.want {
				t.Errorf("ExecLimit(%d) = %d, want %d", tt.stack, got, tt.want)
			}
		})
	}
}

// kv returns "NAME=VALUE" of exactly n bytes, the value made of the canary.
func kv(name string, n int, fill string) string {
	s := name + "="
	return s + strings.Repeat(fill, n)[:n-len(s)]
}

const sizeCanary = "Zq9CANARYvalue"

func TestCheckExec(t *testing.T) {
	const huge = 1 << 40 // no total limit in the per-string cases
	tests := []struct {
		name    string
		argv    []string
		environ []string
		limit   uint64
		// wantName is the SizeError's Name ("" for the total case); wantTop its Top; wantErr
		// false for no error.
		wantErr  bool
		wantName string
		wantSize uint64
		wantTop  []string
	}{
		{
			name:    "empty",
			limit:   huge,
			wantErr: false,
		},
		{
			name:    "one variable of MaxArgStrlen-1 bytes plus its NUL passes",
			argv:    []string{"app"},
			environ: []string{kv("BIG", MaxArgStrlen-1, sizeCanary)},
			limit:   huge,
		},
		{
			name:     "one byte more fails and names the variable",
			argv:     []string{"app"},
			environ:  []string{"A=1", kv("BIG", MaxArgStrlen, sizeCanary), "B=2"},
			limit:    huge,
			wantErr:  true,
			wantName: "BIG",
			wantSize: MaxArgStrlen + 1,
		},
		{
			name:     "an argument over the limit is named as one, never quoted",
			argv:     []string{"app", strings.Repeat(sizeCanary, MaxArgStrlen/len(sizeCanary)+1)},
			environ:  []string{"A=1"},
			limit:    huge,
			wantErr:  true,
			wantName: "(an argument)",
			wantSize: uint64(len(sizeCanary)*(MaxArgStrlen/len(sizeCanary)+1)) + 1,
		},
		{
			name:    "total exactly at the limit passes",
			argv:    []string{"app"}, // 4 + 8
			environ: []string{"A=1"}, // 4 + 8, then the final NULL pointer 8
			limit:   4 + 8 + 4 + 8 + 8,
		},
		{
			name:     "total one byte over the limit names the largest variables",
			argv:     []string{"app"},
			environ:  []string{"A=1"},
			limit:    4 + 8 + 4 + 8 + 8 - 1,
			wantErr:  true,
			wantSize: 4 + 8 + 4 + 8 + 8,
			wantTop:  []string{"A 4 bytes"},
		},
		{
			name: "total over the limit names the three largest, largest first",
			argv: []string{"app"},
			environ: []string{
				kv("SMALL", 100, sizeCanary),
				kv("THIRD", 60000, sizeCanary),
				kv("FIRST", 100000, sizeCanary),
				kv("TINY", 10, sizeCanary),
				kv("SECOND", 90000, sizeCanary),
			},
			limit:    128 << 10,
			wantErr:  true,
			wantSize: 8 + (4 + 8) + (101 + 8) + (60001 + 8) + (100001 + 8) + (11 + 8) + (90001 + 8),
			wantTop:  []string{"FIRST 100001 bytes", "SECOND 90001 bytes", "THIRD 60001 bytes"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckExec(tt.argv, tt.environ, tt.limit)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("CheckExec: %v, want no error", err)
				}
				return
			}
			var se *SizeError
			if !errors.As(err, &se) {
				t.Fatalf("CheckExec: %v (%T), want a *SizeError", err, err)
			}
			if se.Name != tt.wantName || se.Size != tt.wantSize || fmt.Sprint(se.Top) != fmt.Sprint(tt.wantTop) {
				t.Errorf("got Name %q Size %d Top %q; want Name %q Size %d Top %q", se.Name, se.Size, se.Top, tt.wantName, tt.wantSize, tt.wantTop)
			}
			msg := err.Error()
			if strings.Contains(msg, sizeCanary[:8]) {
				t.Errorf("error holds a value: %.200q", msg)
			}
			if tt.wantName != "" {
				if !strings.Contains(msg, tt.wantName) || se.Limit != MaxArgStrlen || !strings.Contains(msg, fmt.Sprint(MaxArgStrlen)) {
					t.Errorf("error %q should name %s and the %d-byte limit", msg, tt.wantName, MaxArgStrlen)
				}
			} else {
				for _, top := range tt.wantTop {
					if !strings.Contains(msg, top) {
						t.Errorf("error %q should name %q", msg, top)
					}
				}
				if se.Limit != tt.limit || !strings.Contains(msg, fmt.Sprint(tt.limit)) {
					t.Errorf("error %q should name the limit %d", msg, tt.limit)
				}
			}
		})
	}
}

// A value holding a NUL byte cannot pass execve: named, never shown, whatever its size.
func TestCheckExecNUL(t *testing.T) {
	for _, environ := range [][]string{
		{"A=1", "NULV=a\x00b" + sizeCanary, "B=2"},
		{"NULV=" + strings.Repeat(sizeCanary, 20000) + "\x00"}, // also over the size limits
	} {
		err := CheckExec([]string{"app"}, environ, 128<<10)
		var ne *NULError
		if !errors.As(err, &ne) || ne.Name != "NULV" {
			t.Fatalf("CheckExec: %v (%T), want a *NULError for NULV", err, err)
		}
		if strings.Contains(err.Error(), sizeCanary[:8]) {
			t.Errorf("error holds a value: %.200q", err)
		}
	}
	if err := CheckExec([]string{"app"}, []string{"A=1", "B="}, 128<<10); err != nil {
		t.Fatalf("CheckExec of a clean environment: %v", err)
	}
}
