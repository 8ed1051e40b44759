//go:build long

package e2e_test

import (
	"testing"
	"time"
)

// Run by `make test-long` (about a minute or two per dialect on two cores).
func TestVotes_100000ThroughTheRealServer(t *testing.T) {
	eachDialect(t, func(t *testing.T, url string) { driveVotes(t, url, 100_000, 200) })
}

// Issue 15's goals at scale: 10,000 tenants with a tenant admin each, then 100,000 without
// accounts (start-up, idle processor time over 30 s, requests across two 15 s refreshes while
// the policy changes, `concorde tenant create`). See scale_test.go.
func TestScale_10000TenantsWithAnAdminEach(t *testing.T) {
	eachDialect(t, func(t *testing.T, url string) {
		measureScale(t, url, scaleRun{tenants: 10_000, admins: true, idle: 30 * time.Second, busy: 35 * time.Second})
	})
}

func TestScale_100000TenantsWithoutAccounts(t *testing.T) {
	eachDialect(t, func(t *testing.T, url string) {
		measureScale(t, url, scaleRun{tenants: 100_000, admins: false, idle: 30 * time.Second, busy: 20 * time.Second})
	})
}
