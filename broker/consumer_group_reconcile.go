package broker

import (
	"maps"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Reconciliation: how a member's current assignment moves towards its target,
// as Kafka's CurrentAssignmentBuilder does it.
//
//	STABLE                 at its epoch; a newer target assignment starts the
//	                       next step, a subscription change drops topics it
//	                       no longer subscribes to
//	UNREVOKED_PARTITIONS   keeps its epoch until its heartbeat no longer
//	                       lists the partitions it must give up
//	UNRELEASED_PARTITIONS  at the target epoch, waiting for partitions others
//	                       still own; each heartbeat hands it those released
//
// A step computes, per topic: assigned = current ∩ target, revoke = current −
// target, and to assign = target − current, less those another member still
// owns (unreleased). Revocation goes first: while anything is to be revoked
// the member only loses partitions. Partitions newly assigned carry the
// target epoch; those it keeps carry the epoch they were assigned in.

// reconcile returns the member's next state, or m itself if nothing changes.
func (cg *consumerGroup) reconcile(m *consumerMember, view *topicView, subscriptionChanged bool, owned []kmsg.ConsumerGroupHeartbeatRequestTopic) *consumerMember {
	target := cg.target[m.id]
	subscribed := cg.subscribedIDs(m, view)
	switch m.state {
	case reconStable:
		if m.epoch != cg.assignmentEpoch {
			return cg.nextAssignment(m, target, subscribed, owned)
		}
		if subscriptionChanged {
			return dropUnsubscribed(m, subscribed, owned)
		}
		return m
	case reconUnrevoked:
		if ownsAny(owned, m.revoking) {
			if subscriptionChanged {
				return dropUnsubscribed(m, subscribed, owned)
			}
			return m
		}
		return cg.nextAssignment(m, target, subscribed, owned)
	default: // reconUnreleased
		return cg.nextAssignment(m, target, subscribed, owned)
	}
}

// ownsAny reports whether the member's heartbeat still lists one of the
// partitions; a heartbeat without its owned partitions (unchanged since the
// last one) counts as still owning them.
func ownsAny(owned []kmsg.ConsumerGroupHeartbeatRequestTopic, ps partEpochs) bool {
	if owned == nil {
		return true
	}
	for _, t := range owned {
		for _, p := range t.Partitions {
			if _, ok := ps[topicPart{t.TopicID, p}]; ok {
				return true
			}
		}
	}
	return false
}

// dropUnsubscribed moves the partitions of topics the member no longer
// subscribes to out of its assignment, without waiting for a new target.
func dropUnsubscribed(m *consumerMember, subscribed map[[16]byte]bool, owned []kmsg.ConsumerGroupHeartbeatRequestTopic) *consumerMember {
	var keep, revoke partEpochs
	for tp, e := range m.assigned {
		if subscribed[tp.id] {
			continue
		}
		if keep == nil {
			keep = maps.Clone(m.assigned)
			revoke = maps.Clone(m.revoking)
			if revoke == nil {
				revoke = partEpochs{}
			}
		}
		delete(keep, tp)
		revoke[tp] = e
	}
	if keep == nil {
		return m
	}
	nm := *m
	nm.assigned = keep
	nm.prevEpoch = m.epoch
	if len(revoke) > 0 && ownsAny(owned, revoke) {
		nm.state = reconUnrevoked
		nm.revoking = revoke
	}
	return &nm
}

// nextAssignment is one reconciliation step towards the target.
func (cg *consumerGroup) nextAssignment(m *consumerMember, target partSet, subscribed map[[16]byte]bool, owned []kmsg.ConsumerGroupHeartbeatRequestTopic) *consumerMember {
	assigned, revoke := partEpochs{}, partEpochs{}
	for tp, e := range m.assigned {
		if _, ok := target[tp]; ok && subscribed[tp.id] {
			assigned[tp] = e
		} else {
			revoke[tp] = e
		}
	}
	var toAssign []topicPart
	unreleased := false
	for tp := range target {
		if _, ok := assigned[tp]; ok || !subscribed[tp.id] {
			continue
		}
		// Free, or this member's own partition pending revocation: it
		// can have it back.
		if owner, taken := cg.owners[tp]; taken && owner != m.id {
			unreleased = true
			continue
		}
		toAssign = append(toAssign, tp)
	}
	nm := *m
	nm.prevEpoch = m.epoch
	switch {
	case len(revoke) > 0 && ownsAny(owned, revoke):
		// Revoke first; the member stays at its epoch.
		nm.state = reconUnrevoked
		nm.assigned, nm.revoking = assigned, revoke
	default:
		for _, tp := range toAssign {
			assigned[tp] = cg.assignmentEpoch
		}
		nm.state = reconStable
		if unreleased {
			nm.state = reconUnreleased
		}
		nm.epoch = cg.assignmentEpoch
		nm.assigned, nm.revoking = assigned, nil
	}
	if sameMemberState(m, &nm) {
		return m
	}
	return &nm
}

func sameMemberState(a, b *consumerMember) bool {
	return a.state == b.state && a.epoch == b.epoch && a.prevEpoch == b.prevEpoch &&
		maps.Equal(a.assigned, b.assigned) && maps.Equal(a.revoking, b.revoking)
}
