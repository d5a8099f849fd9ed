package broker

import (
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListGroups, key 16, versions 0-5.
//
// Every group this node coordinates, with its protocol type. v4+ return the
// state and filter by it (KIP-518), v5+ return the group type and filter by
// it (KIP-848); both filters are case-insensitive, as in Kafka. Every group
// here is a "classic" group.

func init() { regKey(16, 0, 5, handleListGroups) }

func handleListGroups(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.ListGroupsRequest)
	resp := respFor[*kmsg.ListGroupsResponse](r)
	if code := b.groups.coordinatorCode(); code != 0 {
		resp.ErrorCode = code
		return reply{resp: resp}, nil
	}
	if r.version >= 5 && len(req.TypesFilter) > 0 && !containsFold(req.TypesFilter, "classic") {
		return reply{resp: resp}, nil
	}
	for _, g := range b.groups.sortedGroups() {
		g.mu.Lock()
		state, protocolType := g.state, g.protocolType
		g.mu.Unlock()
		if state == groupDead || r.version >= 4 && len(req.StatesFilter) > 0 && !containsFold(req.StatesFilter, state.String()) {
			continue
		}
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group, lg.ProtocolType, lg.GroupState, lg.GroupType = g.name, protocolType, state.String(), "classic"
		resp.Groups = append(resp.Groups, lg)
	}
	return reply{resp: resp}, nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
