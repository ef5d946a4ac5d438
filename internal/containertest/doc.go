// Package containertest runs secretexec the way users do: as the ENTRYPOINT of a FROM scratch
// image, under podman, against an in-process AWS emulator. It holds tests only.
package containertest
