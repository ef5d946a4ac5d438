//go:build !linux

package atomicfile

import "testing"

// forEachTempKind runs test once per kind of temp file WriteFunc can use: here, named.
func forEachTempKind(t *testing.T, test func(t *testing.T)) {
	t.Run("named", test)
}
