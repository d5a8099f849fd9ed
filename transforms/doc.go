// Package transforms will host Skiff's SmartModule engine (wazero, the
// redpanda_transform ABI) and its Go SDK. It is empty until the SmartModules
// issue lands; see ../shared/DESIGN.md decision 7.
package transforms
