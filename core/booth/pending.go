package booth

import (
	"slices"
	"sync"
	"time"

	"github.com/concorde-civic/concorde/core/catalog"
)

// DefaultPendingFor is how long a card shown with a full-weight key counts as a vote on its
// way at most (catalog.Entry.Pending): a sequence of 12 takes a person a few minutes.
const DefaultPendingFor = 10 * time.Minute

// maxFollowedSequences bounds the sequences followed per consultation (a few hundred bytes
// each); past it, the oldest are let go as if their keys had expired, so memory stays bounded
// whatever arrives: 50,000 is a sequence every 2 seconds for a day. Their participants'
// votes on those cards are then no longer checked for picking.
const maxFollowedSequences = 50_000

// sweepEvery is how often every consultation's records are expired, so that those of a
// consultation nobody visits any more do not stay until the process ends.
const sweepEvery = time.Minute

// pendingCards follows, per consultation, the cards of each participant's full-weight
// sequences, for two rules:
//
//   - Votes on their way (catalog.Entry.MarkShown, sequence rule 0): a card shown counts as a
//     vote on its way until its participant votes on it or moves on without voting on it:
//     they ask for another sequence, vote on a card past ones they skipped, or leave it for
//     PendingFor. Without this, every card shown to someone who leaves (a visitor who looks
//     and goes, or a script opening session after session to hunt chosen proposals, voting
//     on one or two cards of 12) held its proposal back for good: the sequence took it for a
//     proposal with more votes than it had, and stopped giving it the votes a zone needs
//     (ops/integrity's harvest attack: the least voted proposal had 3 to 7 votes where 12
//     per proposal had been cast, against 10 without the attack).
//   - Picking (core/vote rule 6): a sequence is voted through in order. A vote on a card past
//     cards of the same sequence left unvoted, any later vote on a card of that sequence
//     (the picked one again included), and a vote on a card of an earlier sequence that the
//     participant moved on from without voting on it, are picks: the participant chose what
//     to vote on among the cards served, as through a shared link, so the vote is published
//     beside (see Picked). The records last as long as the cards' keys (ttl, the keys' TTL).
//
// Kept in the memory of the node that served the sequence, like the rate limits without
// Redis: a vote reaching another node is not checked.
type pendingCards struct {
	mu             sync.Mutex
	byConsultation map[consultationKey]*consultationCards
	swept          time.Time
}

type consultationKey struct{ tenant, consultation int64 }

type consultationCards struct {
	people   map[string]*follower // participant → what they were served
	queue    []*shownCards        // in the order shown, for expiry
	released int                  // queue[:released] no longer count as votes on their way
}

// follower is what one participant was served in one consultation.
type follower struct {
	last   *shownCards    // their last full-weight sequence
	passed map[int64]bool // cards of earlier sequences they moved on from unvoted, or picked among
}

type shownCards struct {
	participant string
	served      []int64 // every card shown, in order
	open        []int64 // shown and not voted on yet, in order
	onWay       bool    // open cards count as votes on their way (Entry.Shown)
	picking     bool    // the participant skipped cards to vote on one: any vote on served is a pick
	at          time.Time
}

func keyOf(e *catalog.Entry) consultationKey {
	return consultationKey{e.Consultation.TenantID, e.Consultation.ID}
}

// shown records the full-weight cards just shown to participant (none when the sequence
// carries ignored keys), and lets go of their previous sequence: its cards left unvoted stop
// counting as votes on their way, and a later vote on one of them is a pick.
func (p *pendingCards) shown(e *catalog.Entry, participant string, ids []int64, now time.Time, pendingFor, ttl time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sweep(e, now, pendingFor, ttl)
	if p.byConsultation == nil {
		p.byConsultation = map[consultationKey]*consultationCards{}
	}
	cc := p.byConsultation[keyOf(e)]
	if cc == nil {
		cc = &consultationCards{people: map[string]*follower{}}
		p.byConsultation[keyOf(e)] = cc
	}
	f := cc.people[participant]
	if f == nil {
		f = &follower{}
		cc.people[participant] = f
	}
	if prev := f.last; prev != nil {
		release(e, prev)
		passed := prev.open
		if prev.picking {
			passed = prev.served
		}
		for _, id := range passed {
			if f.passed == nil {
				f.passed = map[int64]bool{}
			}
			f.passed[id] = true
		}
	}
	for _, id := range ids {
		delete(f.passed, id) // drawn again by the server: this sequence's order is what counts now
	}
	s := &shownCards{participant: participant, served: slices.Clone(ids), open: slices.Clone(ids), onWay: len(ids) > 0, at: now}
	f.last = s
	cc.queue = append(cc.queue, s)
	cc.expire(e, now, pendingFor, ttl)
}

// picked says whether a full-weight vote of participant on proposal id would be a pick (see
// pendingCards). It changes nothing: voted records the vote once it is cast.
func (p *pendingCards) picked(e *catalog.Entry, participant string, id int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	cc := p.byConsultation[keyOf(e)]
	if cc == nil {
		return false
	}
	f := cc.people[participant]
	switch {
	case f == nil:
		return false
	case f.passed[id]:
		return true
	case f.last == nil:
		return false
	case f.last.picking:
		return slices.Contains(f.last.served, id)
	}
	return slices.Index(f.last.open, id) > 0
}

// voted records a full-weight vote of participant on proposal id, once cast (and expires what
// is due, as shown does): the card is no
// longer open; if the vote was a pick, the sequence's open cards stop counting as votes on
// their way (the picked one too: its vote is published beside, so no sequence vote comes to
// take it off the counters' way).
func (p *pendingCards) voted(e *catalog.Entry, participant string, id int64, now time.Time, pendingFor, ttl time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sweep(e, now, pendingFor, ttl)
	cc := p.byConsultation[keyOf(e)]
	if cc == nil {
		return
	}
	cc.expire(e, now, pendingFor, ttl)
	f := cc.people[participant]
	if f == nil || f.last == nil {
		return
	}
	s := f.last
	i := slices.Index(s.open, id)
	if i < 0 {
		return
	}
	if i > 0 && !s.picking {
		if s.onWay {
			e.Unmark(s.open...)
			s.onWay = false
		}
		s.picking = true
	}
	s.open = slices.Delete(s.open, i, i+1)
}

// sweep forgets, at most once per sweepEvery, the expired records of every consultation, so
// that those of a consultation nobody visits any more do not stay until the process ends. The
// shows of other consultations are left to their own calls, which have their entry at hand.
func (p *pendingCards) sweep(e *catalog.Entry, now time.Time, pendingFor, ttl time.Duration) {
	if now.Sub(p.swept) < sweepEvery {
		return
	}
	p.swept = now
	for k, cc := range p.byConsultation {
		if k == keyOf(e) {
			cc.expire(e, now, pendingFor, ttl)
		} else {
			cc.expire(nil, now, pendingFor, ttl)
		}
		if len(cc.queue) == 0 {
			delete(p.byConsultation, k)
		}
	}
}

// expire lets go of what was shown more than pendingFor ago as votes on their way (given the
// consultation's entry e), and forgets the sequences shown more than ttl ago (their keys have
// expired) and the oldest past maxFollowedSequences.
func (cc *consultationCards) expire(e *catalog.Entry, now time.Time, pendingFor, ttl time.Duration) {
	for e != nil && cc.released < len(cc.queue) && now.Sub(cc.queue[cc.released].at) > pendingFor {
		release(e, cc.queue[cc.released])
		cc.released++
	}
	n := 0
	for n < len(cc.queue) && (now.Sub(cc.queue[n].at) > ttl || len(cc.queue)-n > maxFollowedSequences) {
		s := cc.queue[n]
		release(e, s)
		if f := cc.people[s.participant]; f != nil && f.last == s {
			delete(cc.people, s.participant) // their earlier sequences are older still
		}
		cc.queue[n] = nil
		n++
	}
	cc.queue = cc.queue[n:]
	cc.released = max(cc.released-n, 0)
}

// release takes s's open cards out of the votes on their way, once (e nil: the entry is not
// at hand, and the shows stay in it until its counters catch up or it is dropped).
func release(e *catalog.Entry, s *shownCards) {
	if s.onWay && e != nil {
		e.Unmark(s.open...)
	}
	s.onWay = false
}
