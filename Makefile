# Release binaries and the usual checks. The flags match the Dockerfile's and the release's
# (.goreleaser.yaml; internal/releasetest checks all three): a static binary (CGO_ENABLED=0)
# with no build paths, no symbols, and the version stamped in.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
PLATFORMS := linux/amd64 linux/arm64
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: release build snapshot test test-container vet clean help

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

## snapshot: what a v* tag publishes, in dist/ (not uploaded; no image, no signatures), with
##   the pinned GoReleaser and syft (.ci/tools builds them: minutes the first time)
# Without a git remote GoReleaser loses the commit and version ("none"): give it the project's.
snapshot:
	git ls-remote --get-url >/dev/null 2>&1 || export GIT_CONFIG_COUNT=1 \
		GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0=https://github.com/secretexec/secretexec.git; \
	PATH="$$(.ci/tools):$$PATH" GOMODCACHE="$$(go env GOMODCACHE)" \
		goreleaser release --snapshot --clean --skip=docker,sign

## vet: gofmt and go vet
vet:
	test -z "$$(gofmt -l .)"
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

## test: vet, then every test (README's command)
test: vet
	go test -race ./...

## test-container: the podman tests alone (needs: apt-get install podman runc)
test-container:
	go test -count=1 -v -run TestContainer ./internal/containertest/

## clean: remove dist/ and ./secretexec
clean:
	rm -rf dist secretexec

## help: this list
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)
