package compat_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
)

// groupLog collects what the members of a group scenario report (records read, offsets
// committed, partitions assigned and revoked) and judges it as it comes: a record read a
// second time must be explained by a missing commit, that is, the last commit reported
// for its partition must not be past it.
type groupLog struct {
	mu    sync.Mutex
	phase string // the scenario's phase, named in what the log reports

	produced map[groupOffset]string // value produced at each offset
	ends     map[int32]int64        // end offset of each partition

	reads       map[groupOffset][]string // members that read each offset, in order
	values      map[groupOffset]string   // value first read at each offset
	perMember   map[string]int
	rereads     int
	unexplained []string             // re-reads that no missing commit explains
	reported    int                  // how many of them check reported
	wrong       map[groupOffset]bool // offsets check reported read with the wrong value
	committed   map[int32]int64
	dead        map[string]bool

	owned   map[string]map[int32]bool
	revokes map[string]int // partitions revoked or lost, per member

	freshFrom map[string]map[int32]int64 // a fresh member must start at these offsets
	freshOld  map[string]int             // its reads below them
	freshRead map[string]int

	notes []string // client errors worth showing when a wait fails
}

type groupOffset struct {
	p int32
	o int64
}

func (x groupOffset) String() string { return fmt.Sprintf("p%d@%d", x.p, x.o) }

func newGroupLog() *groupLog {
	return &groupLog{
		produced:  map[groupOffset]string{},
		ends:      map[int32]int64{},
		reads:     map[groupOffset][]string{},
		values:    map[groupOffset]string{},
		wrong:     map[groupOffset]bool{},
		perMember: map[string]int{},
		committed: map[int32]int64{},
		dead:      map[string]bool{},
		owned:     map[string]map[int32]bool{},
		revokes:   map[string]int{},
		freshFrom: map[string]map[int32]int64{},
		freshOld:  map[string]int{},
		freshRead: map[string]int{},
	}
}

func (l *groupLog) wrote(p int32, o int64, value string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.produced[groupOffset{p, o}] = value
	l.ends[p] = max(l.ends[p], o+1)
}

func (l *groupLog) setPhase(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.phase = name
}

// read records that member read value at partition p, offset o.
func (l *groupLog) read(member string, p int32, o int64, value string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead[member] {
		return
	}
	at := groupOffset{p, o}
	if before := l.reads[at]; len(before) > 0 {
		l.rereads++
		if c, ok := l.committed[p]; ok && c > o {
			l.unexplained = append(l.unexplained, fmt.Sprintf("%s: %v read by %s after offset %d was committed (read before by %v)", l.phase, at, member, c, before))
		}
		if l.values[at] != value {
			l.unexplained = append(l.unexplained, fmt.Sprintf("%s: %v read by %s as %q, before as %q", l.phase, at, member, value, l.values[at]))
		}
	} else {
		l.values[at] = value
	}
	l.reads[at] = append(l.reads[at], member)
	l.perMember[member]++
	if from, ok := l.freshFrom[member]; ok {
		l.freshRead[member]++
		if o < from[p] {
			l.freshOld[member]++
		}
	}
}

// commit records offsets (next offset to read, by partition) that member committed
// successfully.
func (l *groupLog) commit(member string, offsets map[int32]int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead[member] {
		return
	}
	maps.Copy(l.committed, offsets)
}

// assigned and revoked are incremental changes of member's partitions; lost is a
// revocation without a chance to commit; assignment replaces them (eager clients).
func (l *groupLog) assigned(member string, ps []int32) { l.own(member, ps, true, false) }
func (l *groupLog) revoked(member string, ps []int32)  { l.own(member, ps, false, false) }
func (l *groupLog) lost(member string, ps []int32)     { l.own(member, ps, false, false) }
func (l *groupLog) assignment(member string, ps []int32) {
	l.own(member, ps, true, true)
}

func (l *groupLog) own(member string, ps []int32, add, replace bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead[member] {
		return
	}
	if l.owned[member] == nil || replace {
		l.owned[member] = map[int32]bool{}
	}
	for _, p := range ps {
		if add {
			l.owned[member][p] = true
		} else if l.owned[member][p] {
			delete(l.owned[member], p)
			l.revokes[member]++
		}
	}
}

// note keeps a client message (an error it reported and went on from), unless the
// member was killed: then errors are expected.
func (l *groupLog) note(member, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.notes) < 50 && !l.dead[member] {
		l.notes = append(l.notes, l.phase+": "+member+": "+msg)
	}
}

// kill marks member dead (what it reports from now on is ignored) and returns what it
// read at or beyond the committed offsets (as the broker answers OffsetFetch): its
// uncommitted tail.
func (l *groupLog) kill(member string, committed map[int32]int64) []groupOffset {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dead[member] = true
	var tail []groupOffset
	for at, who := range l.reads {
		if slices.Contains(who, member) && at.o >= committed[at.p] {
			tail = append(tail, at)
		}
	}
	sortOffsets(tail)
	return tail
}

// notReadAgain returns the offsets of tail that nobody but member read.
func (l *groupLog) notReadAgain(tail []groupOffset, member string) []groupOffset {
	l.mu.Lock()
	defer l.mu.Unlock()
	var missed []groupOffset
	for _, at := range tail {
		if !slices.ContainsFunc(l.reads[at], func(m string) bool { return m != member }) {
			missed = append(missed, at)
		}
	}
	return missed
}

// fresh makes member a new member that must start at committed.
func (l *groupLog) fresh(member string, committed map[int32]int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.freshFrom[member] = maps.Clone(committed)
}

// freshReads returns how many records a fresh member read from before its start
// offsets, and how many it read in all.
func (l *groupLog) freshReads(member string) (old, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.freshOld[member], l.freshRead[member]
}

// unread returns the produced offsets nobody read, in order.
func (l *groupLog) unread() []groupOffset {
	l.mu.Lock()
	defer l.mu.Unlock()
	var missing []groupOffset
	for at := range l.produced {
		if len(l.reads[at]) == 0 {
			missing = append(missing, at)
		}
	}
	sortOffsets(missing)
	return missing
}

func (l *groupLog) endOffsets() map[int32]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.ends)
}

// ownership returns the partitions each live member reported owning.
func (l *groupLog) ownership() map[string][]int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string][]int32{}
	for m, set := range l.owned {
		if !l.dead[m] {
			out[m] = sortedParts(set)
		}
	}
	return out
}

func (l *groupLog) revocations() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.revokes)
}

// check fails t for what the log judged wrong since the last check: re-reads without
// a reason, and records read that were not produced there.
func (l *groupLog) check(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, u := range l.unexplained[l.reported:] {
		if i == 10 {
			t.Errorf("... and %d more", len(l.unexplained)-l.reported-i)
			break
		}
		t.Errorf("unexplained re-read: %s", u)
	}
	l.reported = len(l.unexplained)
	wrong := 0
	for at, v := range l.values {
		if want, ok := l.produced[at]; (!ok || want != v) && !l.wrong[at] {
			l.wrong[at] = true
			if wrong++; wrong <= 10 {
				t.Errorf("%v read as %q, produced %q (present: %v)", at, v, want, ok)
			}
		}
	}
	if wrong > 10 {
		t.Errorf("... %d records in all read with the wrong value", wrong)
	}
}

// summary describes the log in a few lines for failure messages and the test output.
func (l *groupLog) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "produced %d records, ends %v; read %d distinct, %d re-reads (%d unexplained); reads per member %v; last commits %v; owned %v; revocations %v",
		len(l.produced), l.ends, len(l.values), l.rereads, len(l.unexplained), l.perMember, l.committed, l.owned, l.revokes)
	if len(l.notes) > 0 {
		fmt.Fprintf(&b, "\nclient notes:\n  %s", strings.Join(l.notes, "\n  "))
	}
	return b.String()
}

func sortOffsets(s []groupOffset) {
	slices.SortFunc(s, func(a, b groupOffset) int {
		if a.p != b.p {
			return int(a.p - b.p)
		}
		return int(a.o - b.o)
	})
}
