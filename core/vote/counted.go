package vote

import "github.com/concorde-civic/concorde/core/results"

// CounterChange is what one commit added to a proposal's counters (negative for votes taken
// back or changed).
type CounterChange struct {
	ConsultationID int64
	Delta          results.Counts
}

// counted hands what the commit just made added to the counters to OnCounted. The writer
// calls it after each commit, before the votes are acknowledged.
func (s *Service) counted() {
	if s.OnCounted == nil {
		return
	}
	for tenant, d := range s.committed {
		changes := make(map[int64]CounterChange, len(d))
		for id, p := range d {
			changes[id] = CounterChange{ConsultationID: p.consultation, Delta: p.counts}
		}
		s.OnCounted(tenant, changes)
	}
}
