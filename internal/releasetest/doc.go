// Package releasetest checks what a v* tag would publish: the pinned GoReleaser's snapshot
// release of every target, the release image, the workflows and their pins. It holds tests only.
package releasetest
