package cli

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// moduleRoot is the repository's root, two levels up from this package.
const moduleRoot = "../.."

// programFiles calls f with every non-test Go file of the program, parsed, outside the
// directories skip names (relative to the module root). Tests, bench, examples and the
// test helpers are not the program.
func programFiles(t *testing.T, f func(path string, file *ast.File, fset *token.FileSet)) {
	t.Helper()
	notProgram := map[string]bool{"bench": true, "examples": true, "testdata": true, ".git": true,
		"internal/awstest": true, "internal/ptytest": true, "internal/containertest": true, "internal/releasetest": true}
	fset := token.NewFileSet()
	err := filepath.WalkDir(moduleRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(moduleRoot, path)
		if d.IsDir() {
			if notProgram[filepath.ToSlash(rel)] {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		f(filepath.ToSlash(rel), file, fset)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNoFlagNamesBelowTheCommand: the packages the command uses (fetch, env, ref, proc,
// watch, atomicfile) return facts; only the command turns them into advice that names
// flags. A string literal holding "--FLAG" outside internal/cli and main.go is a package
// that knows the command line.
func TestNoFlagNamesBelowTheCommand(t *testing.T) {
	var c config
	fs, _, _ := newFlagSet(&c)
	var flags []string
	fs.VisitAll(func(f *flag.Flag) { flags = append(flags, "--"+f.Name) })
	if len(flags) < 20 {
		t.Fatalf("found %d flags", len(flags))
	}
	programFiles(t, func(path string, file *ast.File, fset *token.FileSet) {
		if strings.HasPrefix(path, "internal/cli/") || path == "main.go" {
			return
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, f := range flags {
				if i := strings.Index(s, f); i >= 0 && !isFlagChar(s, i+len(f)) {
					t.Errorf("%s: %q names the flag %s: return a fact and let internal/cli give the advice", fset.Position(lit.Pos()), s, f)
				}
			}
			return true
		})
	})
}

func isFlagChar(s string, i int) bool {
	return i < len(s) && (s[i] == '-' || s[i] >= 'a' && s[i] <= 'z')
}

// TestExitStatusesInOneFile: every exit status secretexec returns is a named constant in
// internal/proc/status.go; an integer literal 75 or 125..128 anywhere else in the program is
// a status written twice.
func TestExitStatusesInOneFile(t *testing.T) {
	statuses := map[string]bool{"75": true, "125": true, "126": true, "127": true, "128": true}
	seen := 0
	programFiles(t, func(path string, file *ast.File, fset *token.FileSet) {
		sizes := map[*ast.BasicLit]bool{} // 128 << 10 is 128 KiB, not a status
		ast.Inspect(file, func(n ast.Node) bool {
			if b, ok := n.(*ast.BinaryExpr); ok && b.Op == token.SHL {
				if lit, ok := b.X.(*ast.BasicLit); ok {
					sizes[lit] = true
				}
			}
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.INT || !statuses[lit.Value] || sizes[lit] {
				return true
			}
			if path == "internal/proc/status.go" {
				seen++
				return true
			}
			t.Errorf("%s: the literal %s: use the constant in internal/proc/status.go", fset.Position(lit.Pos()), lit.Value)
			return true
		})
	})
	if seen != len(statuses) {
		t.Errorf("internal/proc/status.go holds %d of the %d statuses", seen, len(statuses))
	}
	if _, err := os.Stat(filepath.Join(moduleRoot, "internal/proc/status.go")); err != nil {
		t.Fatal(err)
	}
}

// TestRootHoldsMainAlone: the program lives in packages; the root holds main.go and the
// end-to-end tests.
func TestRootHoldsMainAlone(t *testing.T) {
	names, err := filepath.Glob(filepath.Join(moduleRoot, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if b := filepath.Base(n); b != "main.go" && !strings.HasSuffix(b, "_test.go") {
			t.Errorf("%s at the root: the program belongs in a package", b)
		}
	}
}
