package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/secretexec/secretexec/env"
	"github.com/secretexec/secretexec/internal/atomicfile"
)

// writeOutput writes the fetched variables names, with the values the command gets (merged
// holds each name once), to --output.
func writeOutput(ctx context.Context, c *config, merged []string, names []string) (int, error) {
	f := env.Format(c.format) // checked by parseConfig
	vars := env.Pick(merged, names)
	err := atomicfile.WriteFunc(ctx, c.output, func(w io.Writer) error { return env.Write(w, f, vars) })
	if errors.Is(err, atomicfile.ErrSymlink) {
		return 0, &hintError{err: fmt.Errorf("--output: %w", err), hint: "secretexec never writes through a symlink: give the real path, or remove the link"}
	}
	if err != nil {
		return 0, fmt.Errorf("--output: %w", err)
	}
	return len(vars), nil
}
