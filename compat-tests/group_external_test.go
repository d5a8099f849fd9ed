package compat_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/skiffstream/skiff/compat-tests/harness"
)

// The group scenario (group_test.go) with the client programs outside Go, each member a
// child process killed with SIGKILL (see group_proc_test.go). compat-tests/install.sh
// builds what they need.

// TestCompatGroupJava runs kafka-clients 4.x (java/.../GroupMember.java) with
// group.protocol=classic and the CooperativeStickyAssignor: members that stay must keep
// their partitions when one leaves or dies.
func TestCompatGroupJava(t *testing.T) {
	harness.Require(t, "java")
	jar := needBuilt(t, filepath.Join("java", "target", "skiff-compat-java.jar"))
	needNewer(t, jar, filepath.Join("java", "src", "main", "java", "dev", "skiff", "compat", "GroupMember.java"))
	argv := []string{"java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Dskiff.group.protocol=classic",
		"-cp", jar, "dev.skiff.compat.GroupMember"}
	runGroupScenario(t, groupClient{
		name:        "java",
		assignor:    "cooperative-sticky (classic protocol)",
		cooperative: true,
		start: func(g *groupRun, id string) (groupMember, error) {
			return startProcMember(g, id, argv, nil)
		},
	})
}

// TestCompatGroupJavaConsumerProtocol runs the same Java members with
// group.protocol=consumer (KIP-848): the broker assigns (its default uniform assignor)
// and reconciles incrementally, so members that stay keep their partitions, and the
// broker's session timeout (here 6s, as the classic runs use; Kafka's default is
// 45s) decides when the killed member's partitions move.
func TestCompatGroupJavaConsumerProtocol(t *testing.T) {
	harness.Require(t, "java")
	jar := needBuilt(t, filepath.Join("java", "target", "skiff-compat-java.jar"))
	needNewer(t, jar, filepath.Join("java", "src", "main", "java", "dev", "skiff", "compat", "GroupMember.java"))
	argv := []string{"java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Dskiff.group.protocol=consumer",
		"-cp", jar, "dev.skiff.compat.GroupMember"}
	runGroupScenario(t, groupClient{
		name:             "java-consumer",
		assignor:         "uniform (consumer protocol, server-side)",
		cooperative:      true,
		consumerProtocol: true,
		sessionTimeout:   groupSessionTimeout,
		serverArgs: []string{"--group-consumer-session-timeout", groupSessionTimeout.String(),
			"--group-consumer-heartbeat-interval", "500ms"},
		start: func(g *groupRun, id string) (groupMember, error) {
			return startProcMember(g, id, argv, nil)
		},
	})
}

// TestCompatGroupKafkaJS runs kafkajs 2.x (node/group.js) with its round-robin assigner.
func TestCompatGroupKafkaJS(t *testing.T) {
	harness.Require(t, "node")
	needBuilt(t, filepath.Join("node", "node_modules", "kafkajs", "package.json"))
	argv := []string{"node", needBuilt(t, filepath.Join("node", "group.js"))}
	runGroupScenario(t, groupClient{
		name:     "kafkajs",
		assignor: "round-robin",
		start: func(g *groupRun, id string) (groupMember, error) {
			return startProcMember(g, id, argv, nil)
		},
	})
}

// TestCompatGroupPython runs confluent-kafka for Python (python/group.py) with
// librdkafka's cooperative-sticky assignor, held to the same rule as franz-go and Java:
// members that stay keep their partitions.
func TestCompatGroupPython(t *testing.T) {
	python := needBuilt(t, filepath.Join("python", ".venv", "bin", "python"))
	argv := []string{python, needBuilt(t, filepath.Join("python", "group.py"))}
	runGroupScenario(t, groupClient{
		name:        "python",
		assignor:    "cooperative-sticky",
		cooperative: true,
		start: func(g *groupRun, id string) (groupMember, error) {
			return startProcMember(g, id, argv, []string{"PYTHONUNBUFFERED=1"})
		},
	})
}

// needNewer fails or skips, as needBuilt does, when built is older than src: the build
// predates the source, so compat-tests/install.sh must run again.
func needNewer(t *testing.T, built, src string) {
	t.Helper()
	b, errB := os.Stat(built)
	s, errS := os.Stat(src)
	if errB != nil || errS != nil || !b.ModTime().Before(s.ModTime()) {
		return
	}
	msg := built + " is older than " + src + ": run compat-tests/install.sh to rebuild it"
	if os.Getenv("CI") != "" || os.Getenv("SKIFF_COMPAT_STRICT") == "1" {
		t.Fatal(msg)
	}
	t.Skip("skipping: " + msg + "; set SKIFF_COMPAT_STRICT=1 to fail instead")
}
