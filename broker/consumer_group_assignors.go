package broker

import (
	"slices"
	"sort"
)

// Server-side assignors of the consumer protocol (group.consumer.assignors),
// as Kafka 4.x ships them. A member picks one with ServerAssignor; the group
// uses the one most members pick, else the first configured ("uniform").
//
//	uniform  balanced (member partition counts differ by at most one) and
//	         sticky: members keep what they had as far as balance allows.
//	         When members subscribe to different topics it balances per
//	         topic among that topic's subscribers, then moves partitions from
//	         the most to the least loaded subscribers until no move helps
//	         (Kafka's heterogeneous builder is more elaborate; both put
//	         balance before stickiness).
//	range    each topic's partitions split into contiguous ranges, members
//	         in order (static members first, by instance id, then by member
//	         id), so members get the same partition numbers of co-partitioned
//	         topics. Not sticky.

// assignSpec is what an assignor sees: the members with their subscriptions
// (topic ids of existing topics) and their current target, and the
// partition count of every subscribed topic.
type assignSpec struct {
	members    []*assignMember // by member id
	partitions map[[16]byte]int32
}

type assignMember struct {
	id, instanceID string
	topics         [][16]byte // subscribed, sorted
	subscribed     map[[16]byte]bool
	current        partSet
}

type assignor func(*assignSpec) map[string]partSet

var assignors = map[string]assignor{"uniform": assignUniform, "range": assignRange}

// homogeneous reports whether every member subscribes to the same topics.
func (s *assignSpec) homogeneous() bool {
	for _, m := range s.members[1:] {
		if !slices.Equal(m.topics, s.members[0].topics) {
			return false
		}
	}
	return true
}

// valid reports whether a partition of the current target still exists and
// is subscribed to by the member.
func (s *assignSpec) valid(m *assignMember, tp topicPart) bool {
	return m.subscribed[tp.id] && tp.p >= 0 && tp.p < s.partitions[tp.id]
}

func sortedParts(s partSet) []topicPart {
	out := make([]topicPart, 0, len(s))
	for tp := range s {
		out = append(out, tp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].less(out[j]) })
	return out
}

func assignUniform(s *assignSpec) map[string]partSet {
	if len(s.members) == 0 {
		return map[string]partSet{}
	}
	if s.homogeneous() {
		return uniformHomogeneous(s)
	}
	return uniformHeterogeneous(s)
}

// uniformHomogeneous is Kafka's UniformHomogeneousAssignmentBuilder: each
// member keeps its partitions up to its quota (total / members, one more
// for total % members of them), the rest goes to members below quota.
func uniformHomogeneous(s *assignSpec) map[string]partSet {
	out := make(map[string]partSet, len(s.members))
	taken := partSet{}
	for _, m := range s.members {
		for tp := range m.current {
			if s.valid(m, tp) {
				taken[tp] = struct{}{}
			}
		}
	}
	var unassigned []topicPart
	total := 0
	for _, id := range s.members[0].topics {
		n := int(s.partitions[id])
		total += n
		for p := range n {
			if tp := (topicPart{id, int32(p)}); !hasPart(taken, tp) {
				unassigned = append(unassigned, tp)
			}
		}
	}
	n := len(s.members)
	minQuota, extra := total/n, total%n
	type unfilled struct {
		id    string
		quota int
	}
	var below []unfilled
	for i, m := range s.members {
		quota, hasExtra := minQuota, false
		if extra > 0 {
			quota, hasExtra = quota+1, true
		}
		mine := partSet{}
		for _, tp := range sortedParts(m.current) {
			if !s.valid(m, tp) {
				continue
			}
			if quota > 0 {
				mine[tp] = struct{}{}
				quota--
			} else {
				unassigned = append(unassigned, tp)
			}
		}
		// Leave the extra partition to a later member unless only as
		// many members as extras remain.
		if quota > 0 && hasExtra && n-i > extra {
			quota--
			hasExtra = false
		}
		if quota > 0 {
			below = append(below, unfilled{m.id, quota})
		}
		if hasExtra {
			extra--
		}
		out[m.id] = mine
	}
	next := 0
	for _, u := range below {
		for i := 0; i < u.quota && next < len(unassigned); i++ {
			out[u.id][unassigned[next]] = struct{}{}
			next++
		}
	}
	return out
}

func hasPart(s partSet, tp topicPart) bool {
	_, ok := s[tp]
	return ok
}

// uniformHeterogeneous keeps each member's valid partitions, gives the
// unassigned ones of each topic to its least loaded subscriber, then
// moves partitions from the most to the least loaded subscriber of a topic
// while that narrows their difference.
func uniformHeterogeneous(s *assignSpec) map[string]partSet {
	n := len(s.members)
	load := make([]int, n)
	owner := map[topicPart]int{}
	subscribers := map[[16]byte][]int{}
	for i, m := range s.members {
		for _, id := range m.topics {
			subscribers[id] = append(subscribers[id], i)
		}
		for tp := range m.current {
			if _, dup := owner[tp]; !dup && s.valid(m, tp) {
				owner[tp] = i
				load[i]++
			}
		}
	}
	topics := make([][16]byte, 0, len(subscribers))
	for id := range subscribers {
		topics = append(topics, id)
	}
	// Most partitions per subscriber first, then fewest subscribers, then id.
	sort.Slice(topics, func(i, j int) bool {
		a, b := topics[i], topics[j]
		pa, pb := int64(s.partitions[a])*int64(len(subscribers[b])), int64(s.partitions[b])*int64(len(subscribers[a]))
		if pa != pb {
			return pa > pb
		}
		if len(subscribers[a]) != len(subscribers[b]) {
			return len(subscribers[a]) < len(subscribers[b])
		}
		return compareIDs(a, b) < 0
	})
	leastLoaded := func(subs []int) int {
		best := subs[0]
		for _, i := range subs[1:] {
			if load[i] < load[best] {
				best = i
			}
		}
		return best
	}
	for _, id := range topics {
		for p := range s.partitions[id] {
			tp := topicPart{id, p}
			if _, ok := owner[tp]; !ok {
				i := leastLoaded(subscribers[id])
				owner[tp] = i
				load[i]++
			}
		}
	}
	// Balance: bounded, as each move lowers the spread of loads.
	for range 1000 {
		moved := false
		for _, id := range topics {
			subs := subscribers[id]
			if len(subs) < 2 {
				continue
			}
			for {
				least := leastLoaded(subs)
				most, from := -1, topicPart{}
				for p := s.partitions[id] - 1; p >= 0; p-- {
					tp := topicPart{id, p}
					if i := owner[tp]; most == -1 || load[i] > load[most] {
						most, from = i, tp
					}
				}
				if most == -1 || load[most]-load[least] <= 1 {
					break
				}
				owner[from] = least
				load[most]--
				load[least]++
				moved = true
			}
		}
		if !moved {
			break
		}
	}
	out := make(map[string]partSet, n)
	for _, m := range s.members {
		out[m.id] = partSet{}
	}
	for tp, i := range owner {
		out[s.members[i].id][tp] = struct{}{}
	}
	return out
}

// assignRange is Kafka's RangeAssignor.
func assignRange(s *assignSpec) map[string]partSet {
	members := slices.Clone(s.members)
	sort.SliceStable(members, func(i, j int) bool {
		a, b := members[i], members[j]
		switch {
		case a.instanceID != "" && b.instanceID != "":
			return a.instanceID < b.instanceID
		case a.instanceID != "" || b.instanceID != "":
			return a.instanceID != ""
		}
		return a.id < b.id
	})
	type rangeState struct{ members, quota, extra, next int32 }
	states := map[[16]byte]*rangeState{}
	for _, m := range members {
		for _, id := range m.topics {
			st := states[id]
			if st == nil {
				st = &rangeState{quota: -1}
				states[id] = st
			}
			st.members++
		}
	}
	out := make(map[string]partSet, len(members))
	for _, m := range members {
		mine := partSet{}
		for _, id := range m.topics {
			st := states[id]
			n := s.partitions[id]
			if st.quota == -1 {
				st.quota, st.extra = n/st.members, n%st.members
			}
			quota := st.quota
			if st.extra > 0 {
				quota++
				st.extra--
			}
			end := min(st.next+quota, n)
			for p := st.next; p < end; p++ {
				mine[topicPart{id, p}] = struct{}{}
			}
			st.next = end
		}
		out[m.id] = mine
	}
	return out
}

// computeTargetAssignment runs the group's assignor over its members and
// makes the result the target of the current group epoch. g.mu is held.
func (g *group) computeTargetAssignment(view *topicView) {
	cg := g.cg
	spec := &assignSpec{partitions: map[[16]byte]int32{}}
	for _, m := range cg.sortedMembers() {
		sub := cg.subscribedIDs(m, view)
		am := &assignMember{id: m.id, instanceID: m.instanceID, subscribed: sub, current: cg.target[m.id]}
		for id := range sub {
			am.topics = append(am.topics, id)
			spec.partitions[id] = int32(len(view.byID[id].parts))
		}
		sort.Slice(am.topics, func(i, j int) bool { return compareIDs(am.topics[i], am.topics[j]) < 0 })
		spec.members = append(spec.members, am)
	}
	name := cg.preferredAssignor(g.c.b.cfg.consumerAssignors())
	target := assignors[name](spec)
	cg.target = map[string]partSet{}
	for id, ps := range target {
		if len(ps) > 0 {
			cg.target[id] = ps
		}
	}
	cg.assignmentEpoch = cg.epoch
	g.c.b.log.Info("consumer group target assignment computed", "group", g.name, "epoch", cg.epoch, "assignor", name, "members", len(spec.members))
}
