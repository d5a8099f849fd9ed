package broker

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ApiVersions, key 18, versions 0-4.
//
// The answer is built from the handler registry, so advertised versions
// cannot drift from what is served (Produce is listed from v0, as in Kafka
// 4.4, though v0-v2 close the connection: see 00_produce.go). The response header is always v0 (see
// protocol.AppendResponse). A request of a version newer than this broker
// knows gets a v0 body with UNSUPPORTED_VERSION and the full key list, as
// Kafka does, so the client can retry with a version both sides support.

func init() { regKey(18, 0, 4, handleApiVersions) }

func apiVersionKeys() []kmsg.ApiVersionsResponseApiKey {
	var out []kmsg.ApiVersionsResponseApiKey
	for _, k := range supportedKeys() {
		a := apis[k]
		out = append(out, kmsg.ApiVersionsResponseApiKey{ApiKey: k, MinVersion: a.advertisedMin, MaxVersion: a.max})
	}
	return out
}

func handleApiVersions(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.ApiVersionsRequest)
	resp := respFor[*kmsg.ApiVersionsResponse](r)
	resp.ApiKeys = apiVersionKeys()
	if r.version >= 3 && (!validSoftware(req.ClientSoftwareName) || !validSoftware(req.ClientSoftwareVersion)) {
		resp.ErrorCode = kerr.InvalidRequest.Code
	}
	return reply{resp: resp}, nil
}

func apiVersionsFallback() kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	resp.ApiKeys = apiVersionKeys()
	return resp
}

// validSoftware applies Kafka's rule for client software name and version
// (KIP-511): letters, digits, '.', '-'; starting and ending alphanumeric.
func validSoftware(s string) bool {
	if s == "" {
		return true // older clients send nothing
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	if !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '.' && c != '-' {
			return false
		}
	}
	return true
}
