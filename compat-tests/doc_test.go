// Package compat_test drives a Skiff broker (see package harness) with real
// Kafka client libraries and checks that what they write comes back exactly:
// keys, values, headers, offsets, order within each partition, and nothing
// lost or doubled, in every compression codec a client supports, before and
// after a broker restart.
//
// Tests are named TestCompat<Client>… so one client can be picked with -run.
// SKIFF_COMPAT_TARGET=kfake runs them against franz-go's kfake instead.
package compat_test
