package broker

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FindCoordinator, key 10, versions 0-6.
//
// This node is the coordinator of every consumer group (key type 0). v4+
// batches keys (CoordinatorKeys) and answers per key; v0-3 carry one key
// and answer in the top-level fields.
//
// # Notes
//   - Transactional ids (key type 1) are answered with this node as well,
//     as Kafka does. Transactions are not implemented yet: the client's
//     next request, InitProducerId with its transactional id, gets
//     UNSUPPORTED_VERSION, which clients treat as fatal with a clear
//     "broker does not support" message. COORDINATOR_NOT_AVAILABLE here
//     would instead make them retry until their timeout.
//   - Other key types (share groups, KIP-932) are INVALID_REQUEST, as Kafka
//     answers an unknown coordinator type.
//   - The key is not validated: Kafka accepts any group id here and rejects
//     an empty one in JoinGroup (INVALID_GROUP_ID).

func init() { regKey(10, 0, 6, handleFindCoordinator) }

func handleFindCoordinator(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.FindCoordinatorRequest)
	resp := respFor[*kmsg.FindCoordinatorResponse](r)
	keys := req.CoordinatorKeys
	if r.version < 4 {
		keys = []string{req.CoordinatorKey}
	}
	host, port := b.brokerEndpoint()
	for _, k := range keys {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key, c.NodeID, c.Host, c.Port = k, -1, "", -1
		switch {
		case req.CoordinatorType != 0 && req.CoordinatorType != 1:
			c.ErrorCode = kerr.InvalidRequest.Code
			c.ErrorMessage = strp("unknown coordinator type")
		case b.groups.coordinatorCode() != 0:
			c.ErrorCode = kerr.CoordinatorNotAvailable.Code
		default:
			c.NodeID, c.Host, c.Port = b.cfg.NodeID, host, port
		}
		resp.Coordinators = append(resp.Coordinators, c)
	}
	if r.version < 4 {
		c := resp.Coordinators[0]
		resp.Coordinators = nil
		resp.ErrorCode, resp.NodeID, resp.Host, resp.Port = c.ErrorCode, c.NodeID, c.Host, c.Port
		if r.version >= 1 {
			resp.ErrorMessage = c.ErrorMessage
		}
	}
	return reply{resp: resp}, nil
}
