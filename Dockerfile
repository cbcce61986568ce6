# syntax=docker/dockerfile:1
# The image `make image` builds without Docker (hack/image), for those who
# build with Docker: the same files, laid out by the same program, on an empty
# base, run as the same non-root user (a test compares the two).
#   docker build -t scaled .
#   docker buildx build --platform linux/amd64,linux/arm64 -t scaled .
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG TARGETARCH
RUN go run ./hack/image -rootfs /out/rootfs -platforms linux/${TARGETARCH} -version ${VERSION} -commit ${COMMIT}

FROM scratch
COPY --from=build /out/rootfs/ /
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="scaled" \
      org.opencontainers.image.description="An autoscaling decision daemon: sizes workloads on SLO signals and explains every decision" \
      org.opencontainers.image.source="https://github.com/scaled-dev/scaled" \
      org.opencontainers.image.url="https://github.com/scaled-dev/scaled" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
EXPOSE 9464
ENTRYPOINT ["/scaled"]
CMD ["run", "--config", "/etc/scaled/scaled.yaml"]
