package main

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// helpFile is the --help text; docs/flags.md holds it whole.
const helpFile = "internal/cli/help.txt"

// docFiles are the documentation's markdown files, README.md first.
func docFiles(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("no docs/*.md pages")
	}
	return append([]string{"README.md", "CONTRIBUTING.md"}, pages...)
}

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// snippetRE matches a marked snippet: the file it is from, and the fenced block's lines.
var snippetRE = regexp.MustCompile("(?s)<!-- from (\\S+) -->\n```[a-z]*\n(.*?)```")

// TestReadmeSnippets keeps the documentation's copy-pasteable snippets true: every fenced block
// after a "<!-- from FILE -->" line, in README.md, CONTRIBUTING.md or docs/*.md, must appear,
// line for line, in FILE (a path from the repository's root).
func TestReadmeSnippets(t *testing.T) {
	n := 0
	for _, doc := range docFiles(t) {
		for _, m := range snippetRE.FindAllStringSubmatch(readDoc(t, doc), -1) {
			n++
			file, snippet := m[1], m[2]
			src, err := os.ReadFile(file)
			if err != nil {
				t.Errorf("%s: snippet from %s: %v", doc, file, err)
				continue
			}
			if !strings.Contains(string(src), snippet) {
				t.Errorf("%s: snippet marked as from %s is not in that file:\n%s", doc, file, snippet)
			}
		}
	}
	if n < 8 {
		t.Fatalf("found %d marked snippets in README.md, CONTRIBUTING.md and docs/*.md, want at least 8", n)
	}
}

// TestDocsFlags keeps the flags page and --help from drifting apart: docs/flags.md holds the
// whole help text in a marked block, and its table of flags names exactly the flags --help
// lists.
func TestDocsFlags(t *testing.T) {
	help := readDoc(t, helpFile)
	page := readDoc(t, "docs/flags.md")
	found := 0
	for _, m := range snippetRE.FindAllStringSubmatch(page, -1) {
		if m[1] != helpFile {
			continue
		}
		found++
		if m[2] != help {
			t.Errorf("docs/flags.md's block from %s is not the whole file: copy it again", helpFile)
		}
	}
	if found != 1 {
		t.Fatalf("docs/flags.md has %d blocks marked <!-- from %s -->, want 1", found, helpFile)
	}

	flagRE := regexp.MustCompile(`--[a-z][a-z-]*`)
	// The flags --help defines: each option line starts with two spaces and the flag.
	var inHelp []string
	for _, line := range strings.Split(help, "\n") {
		if strings.HasPrefix(line, "  --") {
			inHelp = append(inHelp, flagRE.FindString(line))
		}
	}
	// The flags the table describes: those in the first cell of each row.
	_, table, ok := strings.Cut(page, "\n| flag | meaning |\n|---|---|\n")
	if !ok {
		t.Fatal(`docs/flags.md has no "| flag | meaning |" table`)
	}
	var inTable []string
	for _, row := range strings.Split(table, "\n") {
		if !strings.HasPrefix(row, "| ") {
			break
		}
		cell, _, _ := strings.Cut(strings.TrimPrefix(row, "| "), " | ")
		inTable = append(inTable, flagRE.FindAllString(cell, -1)...)
	}
	slices.Sort(inHelp)
	inHelp = slices.Compact(inHelp)
	slices.Sort(inTable)
	inTable = slices.Compact(inTable)
	if len(inHelp) < 20 {
		t.Fatalf("found %d flags in %s, want the whole list: %v", len(inHelp), helpFile, inHelp)
	}
	if !slices.Equal(inHelp, inTable) {
		t.Errorf("flags in %s:\n%v\nflags in docs/flags.md's table:\n%v", helpFile, inHelp, inTable)
	}
}

// linkRE matches an inline markdown link or image: [text](target) or [text](target "title").
var linkRE = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// fenceRE matches a fenced code block, where brackets are code, not links.
var fenceRE = regexp.MustCompile("(?ms)^```.*?^```")

// codeSpanRE matches inline code.
var codeSpanRE = regexp.MustCompile("`[^`\n]*`")

// TestLinks keeps the documentation's relative links working: every one in README.md,
// CONTRIBUTING.md and docs/*.md points to a file or directory that exists, and a link with a
// #anchor into a markdown file (or into the same page) to one of that file's headings.
func TestLinks(t *testing.T) {
	n := 0
	for _, doc := range docFiles(t) {
		text := codeSpanRE.ReplaceAllString(fenceRE.ReplaceAllString(readDoc(t, doc), ""), "")
		for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			n++
			file, anchor, _ := strings.Cut(target, "#")
			if file == "" {
				file = doc
			} else {
				if path.IsAbs(file) {
					t.Errorf("%s: link %q: use a path relative to the page", doc, target)
					continue
				}
				file = path.Join(path.Dir(doc), file)
			}
			if _, err := os.Stat(file); err != nil {
				t.Errorf("%s: link %q: %v", doc, target, err)
				continue
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(file, ".md") {
				t.Errorf("%s: link %q: an anchor into a file that is not markdown", doc, target)
				continue
			}
			if !slices.Contains(anchors(readDoc(t, file)), anchor) {
				t.Errorf("%s: link %q: %s has no heading with that anchor (it has %v)", doc, target, file, anchors(readDoc(t, file)))
			}
		}
	}
	if n < 20 {
		t.Fatalf("found %d relative links, want at least 20: is the link pattern still right?", n)
	}
}

// anchors are the anchors GitHub makes for a markdown file's headings: the heading's text
// lower-cased, spaces to '-', punctuation other than '-' and '_' dropped; a repeated one gets
// "-1", "-2", ... appended.
func anchors(md string) []string {
	var list []string
	seen := map[string]int{}
	for _, line := range strings.Split(fenceRE.ReplaceAllString(md, ""), "\n") {
		level := len(line) - len(strings.TrimLeft(line, "#"))
		if level == 0 || level > 6 || !strings.HasPrefix(line[level:], " ") {
			continue
		}
		a := slug(line[level+1:])
		if k := seen[a]; k > 0 {
			list = append(list, a+"-"+strconv.Itoa(k))
		} else {
			list = append(list, a)
		}
		seen[a]++
	}
	return list
}

// slug is GitHub's anchor for one heading's text: lower-cased, spaces to '-', every character
// but letters, digits, '-' and '_' dropped. Markdown in the heading counts by its text: `code`
// by its content, [text](url) by its text.
func slug(heading string) string {
	heading = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`).ReplaceAllString(strings.TrimSpace(heading), "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestLinksSlug pins the anchor rule on headings of the kinds these pages have.
func TestLinksSlug(t *testing.T) {
	for heading, want := range map[string]string{
		"Install and verify":                                      "install-and-verify",
		"ECS `valueFrom`, side by side":                           "ecs-valuefrom-side-by-side",
		"Output files and migrating from `sync_cloud_secrets.py`": "output-files-and-migrating-from-sync_cloud_secretspy",
		"PID 1 and signals":                                       "pid-1-and-signals",
		"A release's files":                                       "a-releases-files",
		"`--help`":                                                "--help",
		"Try it: two commands, no AWS account":                    "try-it-two-commands-no-aws-account",
		"[The IAM policy](x.md)":                                  "the-iam-policy",
	} {
		if got := slug(heading); got != want {
			t.Errorf("slug(%q) = %q, want %q", heading, got, want)
		}
	}
	if got, want := anchors("# A\n## A\n```\n# not a heading\n```\n### A\n#nope\n"), []string{"a", "a-1", "a-2"}; !slices.Equal(got, want) {
		t.Errorf("anchors = %v, want %v", got, want)
	}
}
