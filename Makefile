# Release binaries and the usual checks. The flags match the Dockerfile's and the release's
# (.goreleaser.yaml; internal/releasetest checks all three): a static binary (CGO_ENABLED=0)
# with no build paths, no symbols, and the version stamped in.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
PLATFORMS := linux/amd64 linux/arm64
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: release build test test-container vet clean

## release: dist/secretexec-linux-{amd64,arm64} and dist/SHA256SUMS
release:
	@mkdir -p dist
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; \
		echo "build dist/secretexec-$$os-$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch go build -trimpath -ldflags "$(LDFLAGS)" \
			-o dist/secretexec-$$os-$$arch . ; \
	done
	cd dist && sha256sum secretexec-* > SHA256SUMS
	@ls -l dist

## build: ./secretexec for this machine, same flags
build:
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o secretexec .

vet:
	test -z "$$(gofmt -l .)"
	go vet ./...

test: vet
	go test -race ./...

## test-container: the podman tests alone (needs: apt-get install podman runc)
test-container:
	go test -count=1 -v -run TestContainer ./internal/containertest/

clean:
	rm -rf dist secretexec
