package broker

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// InitProducerId, key 22, versions 0-5.
//
// An idempotent producer (no transactional id) gets a new cluster-unique
// producer id from the controller with epoch 0. A producer that sends its
// current id and epoch (KIP-360, after an OUT_OF_ORDER_SEQUENCE or
// UNKNOWN_PRODUCER_ID) keeps its id with the epoch bumped, or gets a new id
// when the epoch would overflow.
//
// # Notes
//   - Until transactions land, a transactional id is answered with
//     UNSUPPORTED_VERSION: clients treat it as fatal and say the broker
//     lacks the feature, where COORDINATOR_NOT_AVAILABLE would make them
//     retry forever and an authorization error would mislead.

func init() { regKey(22, 0, 5, handleInitProducerID) }

func handleInitProducerID(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.InitProducerIDRequest)
	resp := respFor[*kmsg.InitProducerIDResponse](r)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil {
		resp.ErrorCode = kerr.UnsupportedVersion.Code
		return reply{resp: resp}, nil
	}
	if req.ProducerID >= 0 && req.ProducerEpoch >= 0 && req.ProducerEpoch < 32766 {
		resp.ProducerID, resp.ProducerEpoch = req.ProducerID, req.ProducerEpoch+1
		return reply{resp: resp}, nil
	}
	pid, err := b.ctrl.AllocateProducerID()
	if err != nil {
		resp.ErrorCode = errCode(err)
		return reply{resp: resp}, nil
	}
	resp.ProducerID, resp.ProducerEpoch = pid, 0
	return reply{resp: resp}, nil
}
