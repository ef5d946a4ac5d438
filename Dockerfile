# The secretexec image: one static binary on an empty base. Apps do not run FROM it; they copy
# the binary into their own image:
#
#   COPY --from=ghcr.io/secretexec/secretexec:latest /secretexec /usr/local/bin/secretexec
#   ENTRYPOINT ["secretexec", "--"]
#
# (docs/install.md: check a release's image and pin its digest rather than :latest.) The
# published image is built from the release's own binaries (Dockerfile.release); this file is
# the same image built from source, with the same flags (internal/releasetest checks them).
#
# No CA bundle is needed: the binary carries its own roots for TLS to AWS.
#
#   docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) -t secretexec .
#   docker buildx build --platform linux/amd64,linux/arm64 ...   (cross-compiles, no emulation)

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS=linux
ARG TARGETARCH
ARG VERSION
ARG COMMIT
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=$VERSION -X main.commit=$COMMIT" \
    -o /out/secretexec .

FROM scratch
LABEL org.opencontainers.image.licenses=Apache-2.0
COPY --from=build /out/secretexec /secretexec
ENTRYPOINT ["/secretexec"]
