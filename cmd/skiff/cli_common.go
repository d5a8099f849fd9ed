package main

// Plumbing shared by the client subcommands (topic, produce, consume): flag
// sets that accept flags after positional arguments, connecting to a cluster
// with a reachability check, and turning Kafka error codes into advice.
//
// Every run function takes its IO as arguments so tests (and the end-to-end
// suite against a real `skiff server`) can drive it in-process. The only
// process state read here is the SKIFF_BROKERS environment variable, through
// getenv.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	// defaultBrokerAddr is where `skiff server` listens by default.
	defaultBrokerAddr = "127.0.0.1:9092"
	// brokersEnv overrides defaultBrokerAddr for every client subcommand.
	brokersEnv = "SKIFF_BROKERS"
	// pingTimeout bounds the first round trip, so a wrong address fails
	// fast instead of hanging in the client's retry loop.
	pingTimeout = 3 * time.Second
	// adminTimeout bounds a whole admin command (create, list, ...).
	adminTimeout = 30 * time.Second
)

// getenv is os.Getenv; tests replace it.
var getenv = os.Getenv

func defaultBrokers() string {
	if b := strings.TrimSpace(getenv(brokersEnv)); b != "" {
		return b
	}
	return defaultBrokerAddr
}

// newFlagSet returns a flag set for `skiff NAME` that reports to stderr, and
// the --brokers flag every client subcommand has. synopsis follows the
// command name in the usage line, e.g. "NAME [flags]".
func newFlagSet(name, synopsis string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("skiff "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: skiff %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	brokers := fs.String("brokers", defaultBrokers(),
		"comma-separated broker addresses (env "+brokersEnv+")")
	return fs, brokers
}

// parseFlags parses args and returns the positional arguments. Unlike
// fs.Parse alone it accepts flags after positionals
// (`skiff topic create orders --partitions 3`); "--" ends flag parsing.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" && !takesValue(fs, args, n-2) {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// takesValue reports whether args[i] is a non-boolean flag written without
// "=", so that args[i+1] is its value rather than a "--" terminator.
func takesValue(fs *flag.FlagSet, args []string, i int) bool {
	if i < 0 || !strings.HasPrefix(args[i], "-") || strings.Contains(args[i], "=") {
		return false
	}
	f := fs.Lookup(strings.TrimLeft(args[i], "-"))
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}

// parseOrExit parses args and checks the number of positionals. It returns
// ok=false with the exit code to use: 0 for -h, 2 for a usage error.
func parseOrExit(fs *flag.FlagSet, args []string, wantPositional int, stderr io.Writer) (positional []string, code int, ok bool) {
	positional, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, 0, false
	}
	if err != nil {
		return nil, 2, false // flag already printed the error and usage
	}
	if len(positional) != wantPositional {
		if len(positional) < wantPositional {
			fmt.Fprintf(stderr, "%s: missing argument\n", fs.Name())
		} else {
			fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), positional[wantPositional])
		}
		fs.Usage()
		return nil, 2, false
	}
	return positional, 0, true
}

// usageError prints msg and the usage of fs, and returns exit code 2.
func usageError(fs *flag.FlagSet, stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return 2
}

// seedOpts returns the client options that point at brokers.
func seedOpts(brokers string) []kgo.Opt {
	var seeds []string
	for _, b := range strings.Split(brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			seeds = append(seeds, b)
		}
	}
	return []kgo.Opt{kgo.SeedBrokers(seeds...)}
}

// connect makes a client for brokers and checks that one of them answers
// within pingTimeout, so that a missing broker is reported at once and in
// words a user can act on.
func connect(ctx context.Context, brokers string, opts ...kgo.Opt) (*kgo.Client, error) {
	cl, err := kgo.NewClient(append(seedOpts(brokers), opts...)...)
	if err != nil {
		return nil, fmt.Errorf("brokers %q: %w", brokers, err)
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		cl.Close()
		return nil, unreachable(brokers, err)
	}
	return cl, nil
}

// unreachable explains why no broker at brokers answered.
func unreachable(brokers string, err error) error {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return fmt.Errorf("no broker at %s: start one with `skiff server` (or pass --brokers / set %s)", brokers, brokersEnv)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("broker at %s did not answer within %s: check that it is a Kafka broker and that --brokers / %s is right", brokers, pingTimeout, brokersEnv)
	default:
		return fmt.Errorf("cannot talk to the broker at %s: %w", brokers, err)
	}
}

// fail prints `skiff CMD: MESSAGE` for err and returns exit code 1. topic
// names the topic the advice is about; brokerMsg is the optional free-text
// ErrorMessage some responses carry next to the error code.
func fail(stderr io.Writer, cmd string, err error, topic, brokerMsg string) int {
	fmt.Fprintf(stderr, "skiff %s: %s\n", cmd, explain(err, topic, brokerMsg))
	return 1
}

// explain turns err into a message for a user. A Kafka error code becomes
// what to do about it, followed by the code's name and description, e.g.
//
//	topic orders already exists: pick another name or `skiff topic delete orders` [TOPIC_ALREADY_EXISTS: ...]
func explain(err error, topic, brokerMsg string) string {
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		return err.Error()
	}
	msg := err.Error() // the code's name and description, maybe with context
	if brokerMsg != "" && brokerMsg != ke.Description {
		msg += " (broker: " + brokerMsg + ")"
	}
	if advice := kafkaAdvice(ke, topic); advice != "" {
		return advice + " [" + msg + "]"
	}
	return msg
}

// kafkaAdvice says what to do about a Kafka error code, or "" if there is
// nothing more useful to say than the code's own description.
func kafkaAdvice(ke *kerr.Error, topic string) string {
	switch ke {
	case kerr.TopicAlreadyExists:
		return fmt.Sprintf("topic %s already exists: pick another name or `skiff topic delete %s`", topic, topic)
	case kerr.UnknownTopicOrPartition, kerr.UnknownTopicID:
		return fmt.Sprintf("topic %s does not exist: create it with `skiff topic create %s`", topic, topic)
	case kerr.InvalidTopicException:
		return fmt.Sprintf("%q is not a valid topic name: use 1 to 249 letters, digits, '.', '_' and '-'", topic)
	case kerr.InvalidPartitions:
		return "the partition count was rejected: pass --partitions 1 or more"
	case kerr.InvalidReplicationFactor:
		return "the replication factor was rejected: pass a --replication-factor between 1 and the number of brokers"
	case kerr.InvalidConfig:
		return "a --config setting was rejected: check the key's spelling and the value's type"
	case kerr.MessageTooLarge, kerr.RecordListTooLarge:
		return fmt.Sprintf("the record is larger than topic %s accepts: split it, or recreate the topic with --config max.message.bytes=N", topic)
	case kerr.PolicyViolation:
		return "the cluster's topic policy rejected the request"
	case kerr.TopicDeletionDisabled:
		return "the cluster does not allow deleting topics"
	case kerr.TopicAuthorizationFailed, kerr.ClusterAuthorizationFailed:
		return "not authorized: ask the cluster's operator for access"
	case kerr.NotController, kerr.NotLeaderForPartition, kerr.LeaderNotAvailable,
		kerr.BrokerNotAvailable, kerr.RequestTimedOut:
		return "the cluster is busy or electing a leader: retry in a moment"
	case kerr.UnsupportedVersion:
		return "the broker does not support this request: check that --brokers points at a Kafka-compatible broker"
	}
	return ""
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
