module example.com/skiff-test/redpanda-identity

go 1.22

require github.com/redpanda-data/redpanda/src/transform-sdk/go/transform v1.1.0
