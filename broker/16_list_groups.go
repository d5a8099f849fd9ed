package broker

import (
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListGroups, key 16, versions 0-5.
//
// Every group this node coordinates, with its protocol type. v4+ return the
// state and filter by it (KIP-518), v5+ return the group type ("classic",
// or "consumer" for KIP-848 groups) and filter by it; both filters are
// case-insensitive, as in Kafka.

func init() { regKey(16, 0, 5, handleListGroups) }

func handleListGroups(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.ListGroupsRequest)
	resp := respFor[*kmsg.ListGroupsResponse](r)
	if code := b.groups.coordinatorCode(); code != 0 {
		resp.ErrorCode = code
		return reply{resp: resp}, nil
	}
	for _, g := range b.groups.sortedGroups() {
		g.mu.Lock()
		dead, state, protocolType, typ := g.state == groupDead, g.state.String(), g.protocolType, "classic"
		if g.cg != nil {
			state, protocolType, typ = g.cg.stateName(), "consumer", "consumer"
		}
		g.mu.Unlock()
		if dead || r.version >= 4 && len(req.StatesFilter) > 0 && !containsFold(req.StatesFilter, state) ||
			r.version >= 5 && len(req.TypesFilter) > 0 && !containsFold(req.TypesFilter, typ) {
			continue
		}
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group, lg.ProtocolType, lg.GroupState, lg.GroupType = g.name, protocolType, state, typ
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
