package main

// One view of a consumer group whichever protocol it uses, for the group
// commands: a classic group (JoinGroup/SyncGroup, described by
// DescribeGroups) or a KIP-848 consumer group (ConsumerGroupHeartbeat,
// described by ConsumerGroupDescribe). A group's type comes from ListGroups
// v5+ (KIP-1043), which kadm's ListedGroup does not carry, so the group
// commands send that request themselves.
//
// # Notes
//
//   - A broker that is not the group coordinator may answer ListGroups
//     with NOT_COORDINATOR (a Skiff node that is not the offsets leader
//     does); that broker coordinates no group, so its answer is skipped.
//   - Describing tries DescribeGroups first and asks ConsumerGroupDescribe
//     only for a group ListGroups calls "consumer", so a broker without
//     KIP-848 never gets a request it does not know.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupAdmin is a kadm client with the kgo client under it, for the
// requests kadm does not wrap as needed here.
type groupAdmin struct {
	*kadm.Client
	cl *kgo.Client
}

// The group types of ListGroups v5+.
const (
	typeClassic  = "classic"
	typeConsumer = "consumer"
)

// listedGroup is one group of ListGroups.
type listedGroup struct {
	name, typ, state, protocolType string
}

// listGroups lists every group of the cluster, sorted by name, with its
// type (classic where the broker predates group types).
func (a groupAdmin) listGroups(ctx context.Context) ([]listedGroup, error) {
	var out []listedGroup
	var firstErr error
	answered := false
	for _, shard := range a.cl.RequestSharded(ctx, kmsg.NewPtrListGroupsRequest()) {
		err := shard.Err
		if err == nil {
			resp := shard.Resp.(*kmsg.ListGroupsResponse)
			if err = kerr.ErrorForCode(resp.ErrorCode); err == nil {
				answered = true
				for _, g := range resp.Groups {
					typ := strings.ToLower(g.GroupType)
					if typ == "" {
						typ = typeClassic
					}
					out = append(out, listedGroup{g.Group, typ, g.GroupState, g.ProtocolType})
				}
				continue
			}
		}
		if errors.Is(err, kerr.NotCoordinator) {
			continue // coordinates no group
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("list groups on broker %d: %w", shard.Meta.NodeID, err)
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if !answered {
		return nil, kerr.CoordinatorNotAvailable
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// groupView is a described group of either type.
type groupView struct {
	name, typ, state string
	// protocol is a classic group's partition assignor ("" if none), with
	// its protocol type in parentheses; a consumer group's server assignor.
	protocol string
	// epoch and assignmentEpoch are a consumer group's group epoch and
	// target assignment epoch.
	epoch, assignmentEpoch int32
	members                []memberView
}

// memberView is a member of either type of group.
type memberView struct {
	id         string
	instanceID *string
	host       string
	clientID   string
	// known is false for a classic member whose assignment is not of the
	// consumer protocol (Kafka Connect, say), which is shown as "-".
	known    bool
	assigned []topicPartition // current; for a consumer group with what it is still revoking
	// A consumer group member's epoch and target assignment.
	epoch  int32
	target []topicPartition
}

// describeGroup describes one group of either type; an unknown group is
// GROUP_ID_NOT_FOUND, whichever DescribeGroups version said so (v6+ by
// code, older as Dead).
func (a groupAdmin) describeGroup(ctx context.Context, name string) (groupView, error) {
	ds, err := a.DescribeGroups(ctx, name)
	if err != nil {
		return groupView{}, err
	}
	d, ok := ds[name]
	switch {
	case ok && d.Err == nil && d.State != "Dead":
		return classicView(d), nil
	case ok && d.Err != nil && !errors.Is(d.Err, kerr.GroupIDNotFound):
		return groupView{}, d.Err
	}
	listed, err := a.listGroups(ctx)
	if err != nil {
		return groupView{}, err
	}
	for _, l := range listed {
		if l.name == name && l.typ == typeConsumer {
			return a.describeConsumerGroup(ctx, name)
		}
	}
	return groupView{}, kerr.GroupIDNotFound
}

func (a groupAdmin) describeConsumerGroup(ctx context.Context, name string) (groupView, error) {
	ds, err := a.DescribeConsumerGroups(ctx, name)
	if err != nil {
		return groupView{}, err
	}
	d, ok := ds[name]
	switch {
	case !ok:
		return groupView{}, kerr.GroupIDNotFound
	case d.Err != nil:
		return groupView{}, d.Err
	}
	return consumerView(d), nil
}

func classicView(d kadm.DescribedGroup) groupView {
	v := groupView{name: d.Group, typ: typeClassic, state: d.State, protocol: d.Protocol}
	if d.ProtocolType != "" {
		v.protocol = orMissing(d.Protocol) + " (" + d.ProtocolType + ")"
	}
	for _, m := range d.Members {
		mv := memberView{id: m.MemberID, instanceID: m.InstanceID, host: m.ClientHost, clientID: m.ClientID}
		if a, ok := m.Assigned.AsConsumer(); ok {
			mv.known = true
			for _, t := range a.Topics {
				for _, p := range t.Partitions {
					mv.assigned = append(mv.assigned, topicPartition{t.Topic, p})
				}
			}
			sortTopicPartitions(mv.assigned)
		}
		v.members = append(v.members, mv)
	}
	return v
}

func consumerView(d kadm.DescribedConsumerGroup) groupView {
	v := groupView{name: d.Group, typ: typeConsumer, state: d.State, protocol: d.AssignorName, epoch: d.Epoch, assignmentEpoch: d.AssignmentEpoch}
	for _, m := range d.Members {
		v.members = append(v.members, memberView{
			id: m.MemberID, instanceID: m.InstanceID, host: m.ClientHost, clientID: m.ClientID,
			known: true, assigned: setPartitions(m.Assignment), epoch: m.MemberEpoch, target: setPartitions(m.TargetAssignment),
		})
	}
	return v
}

func setPartitions(s kadm.TopicsSet) []topicPartition {
	var out []topicPartition
	s.Each(func(t string, p int32) { out = append(out, topicPartition{t, p}) })
	sortTopicPartitions(out)
	return out
}

func sortTopicPartitions(tps []topicPartition) {
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].topic != tps[j].topic {
			return tps[i].topic < tps[j].topic
		}
		return tps[i].partition < tps[j].partition
	})
}

// assignmentString is how Kafka's tool shows an assignment: "t:0,1;u:2".
func assignmentString(tps []topicPartition) string {
	if len(tps) == 0 {
		return missing
	}
	var b strings.Builder
	for i, tp := range tps {
		switch {
		case i == 0:
			b.WriteString(tp.topic + ":")
		case tp.topic != tps[i-1].topic:
			b.WriteString(";" + tp.topic + ":")
		default:
			b.WriteString(",")
		}
		b.WriteString(strconv.Itoa(int(tp.partition)))
	}
	return b.String()
}

func samePartitions(a, b []topicPartition) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// writeGroupHeader prints the group's type, state, protocol or assignor,
// and members table. A consumer group's table adds each member's epoch and
// assignment, and its target assignment (KIP-848) when a member's differs,
// as the columns of kafka-consumer-groups --describe --members --verbose.
func writeGroupHeader(w io.Writer, v groupView) {
	fmt.Fprintf(w, "Group:     %s\nType:      %s\nState:     %s\n", v.name, v.typ, v.state)
	if v.typ == typeConsumer {
		fmt.Fprintf(w, "Assignor:  %s\nEpochs:    group %d, target assignment %d\n", orMissing(v.protocol), v.epoch, v.assignmentEpoch)
	} else {
		fmt.Fprintf(w, "Protocol:  %s\n", orMissing(v.protocol))
	}
	fmt.Fprintf(w, "Members:   %d\n", len(v.members))
	if len(v.members) == 0 {
		return
	}
	static, targets := false, false
	for _, m := range v.members {
		static = static || m.instanceID != nil
		targets = targets || v.typ == typeConsumer && !samePartitions(m.assigned, m.target)
	}
	cols := []string{"CONSUMER-ID"}
	if static {
		cols = append(cols, "GROUP-INSTANCE-ID")
	}
	cols = append(cols, "HOST", "CLIENT-ID", "#PARTITIONS")
	if v.typ == typeConsumer {
		cols = append(cols, "CURRENT-EPOCH", "CURRENT-ASSIGNMENT")
		if targets {
			cols = append(cols, "TARGET-ASSIGNMENT")
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\n"+strings.Join(cols, "\t"))
	for _, m := range v.members {
		row := []string{m.id}
		if static {
			instance := missing
			if m.instanceID != nil {
				instance = *m.instanceID
			}
			row = append(row, instance)
		}
		n := missing
		if m.known {
			n = strconv.Itoa(len(m.assigned))
		}
		row = append(row, m.host, m.clientID, n)
		if v.typ == typeConsumer {
			row = append(row, strconv.Itoa(int(m.epoch)), assignmentString(m.assigned))
			if targets {
				row = append(row, assignmentString(m.target))
			}
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
}
