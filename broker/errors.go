package broker

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
)

// errCode turns an error into the Kafka error code to put in a response.
// Kafka errors (kerr) keep their code; anything else is reported as
// UNKNOWN_SERVER_ERROR (and should be logged by the caller).
func errCode(err error) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return kerr.UnknownServerError.Code
}

func errName(code int16) string {
	if code == 0 {
		return "NONE"
	}
	var ke *kerr.Error
	if errors.As(kerr.ErrorForCode(code), &ke) {
		return ke.Message
	}
	return "UNKNOWN"
}

func strp(s string) *string { return &s }
