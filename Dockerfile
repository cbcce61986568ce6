# syntax=docker/dockerfile:1
# A static scaled binary on a distroless, non-root image.
#   docker build -t scaled .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/scaled ./cmd/scaled

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/scaled /scaled
USER 65532:65532
EXPOSE 9464
ENTRYPOINT ["/scaled"]
CMD ["run", "--config", "/etc/scaled/scaled.yaml"]
