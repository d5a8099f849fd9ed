package broker

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// Tests of the server-side assignors: every partition of a subscribed topic
// goes to exactly one of its subscribers, uniform is balanced and sticky,
// range gives co-partitioned ranges.

func tid(n byte) [16]byte { return [16]byte{n} }

// spec builds an assignSpec: subs maps member id to the topics (by number)
// it subscribes to; parts gives each topic's partition count.
func spec(parts map[byte]int32, subs map[string][]byte, current map[string]partSet) *assignSpec {
	s := &assignSpec{partitions: map[[16]byte]int32{}}
	ids := make([]string, 0, len(subs))
	for id := range subs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		m := &assignMember{id: id, subscribed: map[[16]byte]bool{}, current: current[id]}
		for _, t := range subs[id] {
			m.subscribed[tid(t)] = true
			m.topics = append(m.topics, tid(t))
			s.partitions[tid(t)] = parts[t]
		}
		sort.Slice(m.topics, func(i, j int) bool { return compareIDs(m.topics[i], m.topics[j]) < 0 })
		s.members = append(s.members, m)
	}
	return s
}

// checkComplete checks that each partition of every subscribed topic is
// assigned exactly once, to a subscriber.
func checkComplete(t *testing.T, s *assignSpec, out map[string]partSet) {
	t.Helper()
	seen := map[topicPart]string{}
	for _, m := range s.members {
		for tp := range out[m.id] {
			if !m.subscribed[tp.id] {
				t.Fatalf("%s got %v of a topic it does not subscribe to", m.id, tp)
			}
			if other, dup := seen[tp]; dup {
				t.Fatalf("%v assigned to %s and %s", tp, other, m.id)
			}
			seen[tp] = m.id
		}
	}
	for id, n := range s.partitions {
		for p := range n {
			if _, ok := seen[topicPart{id, p}]; !ok {
				t.Fatalf("partition %v-%d unassigned: %v", id[0], p, out)
			}
		}
	}
}

func counts(out map[string]partSet) []int {
	var c []int
	for _, ps := range out {
		c = append(c, len(ps))
	}
	sort.Ints(c)
	return c
}

func TestConsumerGroupUniformHomogeneous(t *testing.T) {
	parts := map[byte]int32{1: 6, 2: 5}
	subs := map[string][]byte{"a": {1, 2}, "b": {1, 2}, "c": {1, 2}}
	s := spec(parts, subs, nil)
	out := assignUniform(s)
	checkComplete(t, s, out)
	if c := counts(out); !slices.Equal(c, []int{3, 4, 4}) {
		t.Fatalf("11 partitions over 3 members: %v", c)
	}
	// Stable: the same input gives the same assignment.
	again := assignUniform(spec(parts, subs, out))
	for id := range out {
		if !sameSet(out[id], again[id]) {
			t.Fatalf("%s: %v then %v", id, out[id], again[id])
		}
	}
	// A fourth member takes only what the others have above their quota.
	subs["d"] = []byte{1, 2}
	s = spec(parts, subs, out)
	four := assignUniform(s)
	checkComplete(t, s, four)
	if c := counts(four); !slices.Equal(c, []int{2, 3, 3, 3}) {
		t.Fatalf("11 partitions over 4 members: %v", c)
	}
	for _, id := range []string{"a", "b", "c"} {
		for tp := range four[id] {
			if _, had := out[id][tp]; !had {
				t.Fatalf("%s was given %v, which moved from another member; only d should gain", id, tp)
			}
		}
	}
	// A member leaves: the others keep everything they had.
	delete(subs, "b")
	delete(four, "b")
	s = spec(parts, subs, four)
	three := assignUniform(s)
	checkComplete(t, s, three)
	for _, id := range []string{"a", "c", "d"} {
		for tp := range four[id] {
			if _, kept := three[id][tp]; !kept {
				t.Fatalf("%s lost %v when b left", id, tp)
			}
		}
	}
}

func sameSet(a, b partSet) bool {
	if len(a) != len(b) {
		return false
	}
	for tp := range a {
		if _, ok := b[tp]; !ok {
			return false
		}
	}
	return true
}

func TestConsumerGroupUniformHeterogeneous(t *testing.T) {
	parts := map[byte]int32{1: 6, 2: 6, 3: 2}
	subs := map[string][]byte{"a": {1}, "b": {1, 2}, "c": {2, 3}}
	s := spec(parts, subs, nil)
	out := assignUniform(s)
	checkComplete(t, s, out)
	if c := counts(out); c[2]-c[0] > 1 {
		t.Fatalf("14 partitions, subscriptions overlapping: %v is not balanced", c)
	}
	// A member joins topic 3 alone with c: it gets both of its partitions
	// (balance first), c takes one of topic 2 from b in exchange, and a,
	// which shares nothing with d, keeps what it had.
	subs["d"] = []byte{3}
	s = spec(parts, subs, out)
	next := assignUniform(s)
	checkComplete(t, s, next)
	if len(next["d"]) != 2 || !sameSet(out["a"], next["a"]) {
		t.Fatalf("after d joined topic 3: %v (before %v)", next, out)
	}
	if c := counts(map[string]partSet{"a": next["a"], "b": next["b"], "c": next["c"]}); c[2]-c[0] > 1 {
		t.Fatalf("a, b and c unbalanced: %v", c)
	}
}

func TestConsumerGroupRangeAssignor(t *testing.T) {
	parts := map[byte]int32{1: 3, 2: 3}
	s := spec(parts, map[string][]byte{"m0": {1, 2}, "m1": {1, 2}}, nil)
	out := assignRange(s)
	checkComplete(t, s, out)
	want := map[string][]int32{"m0": {0, 1}, "m1": {2}}
	for id, ps := range want {
		for _, topic := range []byte{1, 2} {
			var got []int32
			for tp := range out[id] {
				if tp.id == tid(topic) {
					got = append(got, tp.p)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, ps) {
				t.Fatalf("%s topic %d: %v, want %v (co-partitioned)", id, topic, got, ps)
			}
		}
	}
	// Static members come first, by instance id.
	s = spec(map[byte]int32{1: 2}, map[string][]byte{"a": {1}, "z": {1}}, nil)
	s.members[1].instanceID = "i0"
	out = assignRange(s)
	if _, ok := out["z"][topicPart{tid(1), 0}]; !ok {
		t.Fatalf("the static member should get the first range: %v", out)
	}
}

// TestConsumerGroupAssignorsRandom runs both assignors over random groups,
// feeding each result back as the current assignment with members coming
// and going: assignments stay complete, uniform stays balanced for groups
// that subscribe alike, and reruns without changes move nothing.
func TestConsumerGroupAssignorsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		parts := map[byte]int32{}
		for topic := byte(1); topic <= byte(1+rng.IntN(4)); topic++ {
			parts[topic] = int32(rng.IntN(12))
		}
		homogeneous := rng.IntN(2) == 0
		var all []byte
		for topic := range parts {
			all = append(all, topic)
		}
		slices.Sort(all)
		subs := map[string][]byte{}
		current := map[string]partSet{}
		for step := range 6 {
			for i := range 1 + rng.IntN(3) {
				id := fmt.Sprintf("m%d-%d", step, i)
				if homogeneous {
					subs[id] = all
				} else {
					for _, topic := range all {
						if rng.IntN(2) == 0 {
							subs[id] = append(subs[id], topic)
						}
					}
				}
			}
			if len(subs) > 2 && rng.IntN(2) == 0 {
				for id := range subs {
					delete(subs, id)
					delete(current, id)
					break
				}
			}
			for name, assign := range assignors {
				s := spec(parts, subs, current)
				out := assign(s)
				checkComplete(t, s, out)
				if name == "uniform" && homogeneous {
					if c := counts(out); len(c) > 0 && c[len(c)-1]-c[0] > 1 {
						t.Fatalf("round %d: uniform unbalanced %v", round, c)
					}
				}
				again := assign(spec(parts, subs, out))
				for id := range out {
					if !sameSet(out[id], again[id]) {
						t.Fatalf("round %d %s: a rerun moved partitions of %s: %v then %v", round, name, id, out[id], again[id])
					}
				}
				if name == "uniform" {
					current = out
				}
			}
		}
	}
}
