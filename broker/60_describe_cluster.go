package broker

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeCluster, key 60, versions 0-1.
//
// The brokers of the cluster (this node until replication lands), the
// cluster id and the controller. Authorized operations are every cluster
// operation when asked for, as Kafka answers without an authorizer
// (authorized_ops.go).

func init() { regKey(60, 0, 1, handleDescribeCluster) }

func handleDescribeCluster(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.DescribeClusterRequest)
	resp := respFor[*kmsg.DescribeClusterResponse](r)
	resp.EndpointType = req.EndpointType
	resp.ClusterID = b.ctrl.Meta().ClusterID
	resp.ControllerID = b.cfg.NodeID
	host, port := b.brokerEndpoint()
	resp.Brokers = []kmsg.DescribeClusterResponseBroker{{NodeID: b.cfg.NodeID, Host: host, Port: port}}
	resp.ClusterAuthorizedOperations = authorizedOps(req.IncludeClusterAuthorizedOperations, clusterOps)
	return reply{resp: resp}, nil
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
