//go:build long

package e2e_test

import "testing"

// Run by `make test-long` (about a minute or two per dialect on two cores).
func TestVotes_100000ThroughTheRealServer(t *testing.T) {
	eachDialect(t, func(t *testing.T, url string) { driveVotes(t, url, 100_000, 200) })
}
