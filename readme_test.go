package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeSnippets keeps README's copy-pasteable snippets true: every fenced block after a
// "<!-- from FILE -->" line must appear, line for line, in FILE.
func TestReadmeSnippets(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- from (\\S+) -->\n```[a-z]*\n(.*?)```")
	matches := re.FindAllStringSubmatch(string(readme), -1)
	if len(matches) < 8 {
		t.Fatalf("found %d marked snippets in README.md, want at least 8", len(matches))
	}
	for _, m := range matches {
		file, snippet := m[1], m[2]
		src, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("README snippet from %s: %v", file, err)
			continue
		}
		if !strings.Contains(string(src), snippet) {
			t.Errorf("README snippet marked as from %s is not in that file:\n%s", file, snippet)
		}
	}
}
