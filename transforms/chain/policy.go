package chain

import (
	"fmt"
	"strings"
)

// Action is what a chain does with an input record a module fails on.
type Action int

const (
	// Fail fails the whole batch: nothing of it is output and the caller
	// reports the error (a producer gets it; a deployment stops).
	Fail Action = iota
	// Skip drops the record, counts it and goes on with the next one.
	Skip
	// DeadLetter drops the record from the output and lists it, for the
	// caller to write to the policy's topic (see DeadLetterRecord).
	DeadLetter
)

// Policy is a deployment's error policy. The zero Policy is Fail.
type Policy struct {
	Action Action
	Topic  string // DeadLetter only
}

// deadLetterPrefix starts the dead-letter form of a policy.
const deadLetterPrefix = "dead-letter:"

// ParsePolicy parses an error policy: "fail" (also ""), "skip" or
// "dead-letter:TOPIC".
func ParsePolicy(s string) (Policy, error) {
	switch {
	case s == "" || s == "fail":
		return Policy{Action: Fail}, nil
	case s == "skip":
		return Policy{Action: Skip}, nil
	case strings.HasPrefix(s, deadLetterPrefix):
		topic := s[len(deadLetterPrefix):]
		if err := checkTopicName(topic); err != nil {
			return Policy{}, fmt.Errorf("error policy %q: dead-letter topic: %v", s, err)
		}
		return Policy{Action: DeadLetter, Topic: topic}, nil
	}
	return Policy{}, fmt.Errorf("error policy %q: use fail, skip or dead-letter:TOPIC", s)
}

// String returns the policy in the form ParsePolicy reads.
func (p Policy) String() string {
	switch p.Action {
	case Skip:
		return "skip"
	case DeadLetter:
		return deadLetterPrefix + p.Topic
	default:
		return "fail"
	}
}

// checkTopicName applies Kafka's rules for topic names.
func checkTopicName(t string) error {
	switch {
	case t == "":
		return fmt.Errorf("no topic name; write dead-letter:TOPIC")
	case t == "." || t == "..":
		return fmt.Errorf("%q is not a valid topic name", t)
	case len(t) > 249:
		return fmt.Errorf("topic name of %d characters; the limit is 249", len(t))
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("topic name %q: only ASCII letters, digits, '.', '_' and '-' are allowed", t)
		}
	}
	return nil
}
