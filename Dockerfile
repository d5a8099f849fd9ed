# Skiff: a static binary on an empty image.
#   docker build -t skiff .
#   docker run -p 9092:9092 -v skiff-data:/data skiff
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 -t skiff .
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS=linux TARGETARCH=amd64 VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o /out/skiff ./cmd/skiff \
 && mkdir -p /out/data

FROM scratch
COPY --from=build /out/skiff /skiff
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME /data
EXPOSE 9092 9644
# In a container the listener binds all interfaces; advertise the address
# clients reach (override SKIFF_ADVERTISE, e.g. broker.example:9092).
ENV SKIFF_LISTEN=0.0.0.0:9092 SKIFF_ADVERTISE=localhost:9092 SKIFF_DATA_DIR=/data SKIFF_METRICS_LISTEN=0.0.0.0:9644
ENTRYPOINT ["/skiff"]
CMD ["server"]
