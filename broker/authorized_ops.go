package broker

import "github.com/twmb/franz-go/pkg/kmsg"

// Authorized operations (KIP-430): Metadata, DescribeCluster, DescribeGroups
// and ConsumerGroupDescribe answer them when asked, as a bit field of ACL
// operation codes. Skiff has no authorizer yet, and Kafka without one
// answers every operation the resource type supports (AuthHelper
// .authorizedOperations, AclEntry.supportedOperations); so does Skiff.
// Unasked, the field stays at opsNotProvided.
const (
	opsNotProvided = int32(-2147483648) // INT32_MIN, the schemas' default

	// topicOps is 3576: READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE,
	// DESCRIBE_CONFIGS, ALTER_CONFIGS.
	topicOps = int32(1<<kmsg.ACLOperationRead | 1<<kmsg.ACLOperationWrite | 1<<kmsg.ACLOperationCreate |
		1<<kmsg.ACLOperationDelete | 1<<kmsg.ACLOperationAlter | 1<<kmsg.ACLOperationDescribe |
		1<<kmsg.ACLOperationDescribeConfigs | 1<<kmsg.ACLOperationAlterConfigs)

	// groupOps is 3400: READ, DELETE, DESCRIBE, DESCRIBE_CONFIGS,
	// ALTER_CONFIGS.
	groupOps = int32(1<<kmsg.ACLOperationRead | 1<<kmsg.ACLOperationDelete | 1<<kmsg.ACLOperationDescribe |
		1<<kmsg.ACLOperationDescribeConfigs | 1<<kmsg.ACLOperationAlterConfigs)

	// clusterOps is 8096: CREATE, ALTER, DESCRIBE, CLUSTER_ACTION,
	// DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE.
	clusterOps = int32(1<<kmsg.ACLOperationCreate | 1<<kmsg.ACLOperationAlter | 1<<kmsg.ACLOperationDescribe |
		1<<kmsg.ACLOperationClusterAction | 1<<kmsg.ACLOperationDescribeConfigs |
		1<<kmsg.ACLOperationAlterConfigs | 1<<kmsg.ACLOperationIdempotentWrite)
)

// authorizedOps returns ops when the request asked for them, else
// opsNotProvided.
func authorizedOps(asked bool, ops int32) int32 {
	if asked {
		return ops
	}
	return opsNotProvided
}
