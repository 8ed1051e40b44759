package store

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// epoch is the zero of generated IDs (2025-01-01T00:00:00Z, in milliseconds).
const epoch = 1735689600000

// IDs generates 53-bit identifiers (so JavaScript reads them exactly): 41 bits of milliseconds
// since epoch, then 12 bits of a sequence that starts at a random value each millisecond.
// They increase within one process; across nodes a collision is caught by the primary key.
type IDs struct {
	mu   sync.Mutex
	last int64
}

// Next returns a new identifier, larger than every one this generator returned before.
func (g *IDs) Next() int64 {
	now := (time.Now().UnixMilli() - epoch) << 12
	var b [2]byte
	_, _ = rand.Read(b[:])
	candidate := now | int64(binary.BigEndian.Uint16(b[:])&0x3ff) // leave room to count up
	g.mu.Lock()
	defer g.mu.Unlock()
	if candidate <= g.last {
		candidate = g.last + 1
	}
	g.last = candidate
	return candidate
}
