package identity

import "sync/atomic"

// CountChecks makes u count the password hashes it computes, for tests.
func CountChecks(u *Users) *atomic.Int64 {
	var n atomic.Int64
	verify := u.verify
	u.verify = func(pw, phc string) (bool, error) {
		n.Add(1)
		return verify(pw, phc)
	}
	return &n
}
