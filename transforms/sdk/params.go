package sdk

import (
	"os"
	"strconv"
	"strings"
)

// The environment variables the engine sets besides the parameters, named
// as Redpanda names them so modules built for Redpanda read them unchanged.
const (
	envInputTopic        = "REDPANDA_INPUT_TOPIC"
	envOutputTopicPrefix = "REDPANDA_OUTPUT_TOPIC_"
)

// Params returns the deployment's parameters: the `with:` map of a
// transforms.yml step, or the --var KEY=VALUE flags of a deployment. Each
// reaches the module as an environment variable; scalars are strings and
// nested maps and lists are JSON text. The topic variables and the
// describe probe's variable are not parameters.
func Params() map[string]string {
	params := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if k == envInputTopic || strings.HasPrefix(k, envOutputTopicPrefix) || k == DescribeEnv {
			continue
		}
		params[k] = v
	}
	return params
}

// Param returns the parameter named name and whether it is set.
func Param(name string) (string, bool) {
	if name == envInputTopic || strings.HasPrefix(name, envOutputTopicPrefix) || name == DescribeEnv {
		return "", false
	}
	return os.LookupEnv(name)
}

// InputTopic returns the name of the input topic.
func InputTopic() string { return os.Getenv(envInputTopic) }

// OutputTopics returns the names of the output topics, in order; Write
// writes to the first.
func OutputTopics() []string {
	var topics []string
	for i := 0; ; i++ {
		t, ok := os.LookupEnv(envOutputTopicPrefix + strconv.Itoa(i))
		if !ok {
			return topics
		}
		topics = append(topics, t)
	}
}
