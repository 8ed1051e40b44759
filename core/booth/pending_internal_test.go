package booth

import (
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/consultation"
)

// The picking rule on its own: cards left unvoted when the participant moves on are picks if
// voted on later, unless the server draws them again, in which case the new sequence's order
// is what counts; and everything is forgotten once the keys have expired.
func TestPendingCards_PassedCardsAndCardsDrawnAgain(t *testing.T) {
	e := &catalog.Entry{Consultation: consultation.Consultation{ID: 7, TenantID: 3}}
	other := &catalog.Entry{Consultation: consultation.Consultation{ID: 7, TenantID: 4}} // same id, another tenant
	var p pendingCards
	now := time.Unix(1_800_000_000, 0)
	const pendingFor, ttl = 10 * time.Minute, 24 * time.Hour

	p.shown(e, "p:a", []int64{1, 2, 3}, now, pendingFor, ttl)
	if p.picked(e, "p:a", 1) || !p.picked(e, "p:a", 2) {
		t.Fatal("in a fresh sequence, the first card is voted through and the second would be picked")
	}
	if p.picked(other, "p:a", 2) {
		t.Fatal("another tenant's consultation of the same id shares the records")
	}
	p.shown(e, "p:a", []int64{4, 5, 6}, now, pendingFor, ttl) // moves on without voting
	if !p.picked(e, "p:a", 1) || !p.picked(e, "p:a", 3) {
		t.Fatal("cards of a sequence left unvoted must be picks when voted on later")
	}
	p.shown(e, "p:a", []int64{3, 8, 9}, now, pendingFor, ttl) // 3 drawn again, first
	if p.picked(e, "p:a", 3) {
		t.Fatal("a card drawn again and first of its new sequence is voted through, not picked")
	}
	if !p.picked(e, "p:a", 1) {
		t.Fatal("card 1, still passed over, must stay a pick")
	}
	// The keys expire: nothing is remembered after ttl.
	later := now.Add(ttl + time.Hour)
	p.shown(e, "p:b", []int64{10}, later, pendingFor, ttl)
	if p.picked(e, "p:a", 1) {
		t.Fatal("records kept after the keys expired")
	}
}
