package cli

import _ "embed" // the help text

// help is the --help text. docs/flags.md holds it whole (a test keeps the two the same), so
// the flags have one source.
//
//go:embed help.txt
var help string
