# syntax=docker/dockerfile:1
#
# Toso in a container: a static binary on an empty image, run as a non-root
# user, the database on a volume at /data.
#
#   docker build -t toso .
#   docker run -p 8080:8080 -v toso-data:/data toso                 # serve
#   docker run --rm -v toso-data:/data toso backup /data/backup.db  # any subcommand
#
# Offline, from this machine's Go module cache (no module download; the base
# image golang:1.26.8-bookworm must be present locally):
#
#   docker build --build-context gomodcache="$(go env GOMODCACHE)" -t toso .
#
# Without that build context the modules are downloaded in the stage below.

ARG GO_IMAGE=golang:1.26.8-bookworm

# The module cache as a stage of its own, so that --build-context
# gomodcache=DIR can replace it with a directory of the host.
FROM ${GO_IMAGE} AS download
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download

FROM scratch AS gomodcache
COPY --from=download /go/pkg/mod /

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY . .
ARG VERSION=""
ARG COMMIT=""
ARG BUILD_TIME=""
# GOPROXY=off: every module comes from the mounted cache, never the network.
RUN --mount=type=bind,from=gomodcache,target=/go/pkg/mod \
    GOPROXY=off GOFLAGS=-mod=mod VERSION="$VERSION" COMMIT="$COMMIT" BUILD_TIME="$BUILD_TIME" \
    sh deploy/build.sh /out/toso \
 && /out/toso version \
 && mkdir -p /out/data /out/tmp \
 && echo 'toso:x:10001:10001:toso:/data:/sbin/nologin' >/out/passwd \
 && echo 'toso:x:10001:' >/out/group

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/passwd /etc/passwd
COPY --from=build /out/group /etc/group
COPY --from=build --chown=10001:10001 /out/data /data
COPY --from=build --chmod=1777 /out/tmp /tmp
COPY --from=build /out/toso /usr/local/bin/toso
USER 10001:10001
VOLUME /data
ENV TOSO_DB=/data/toso.db \
    TOSO_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/toso"]
CMD ["serve"]
