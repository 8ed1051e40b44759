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

// maxPendingSequences bounds the sequences followed per consultation (about 150 bytes each);
// past it, the oldest are let go as if expired, so memory stays bounded whatever arrives:
// 20,000 sequences in 10 minutes is 33 a second, a busy consultation. A consultation's
// records are dropped once none is left; those of one nobody visits any more stay until
// the process ends, at most this many.
const maxPendingSequences = 20_000

// pendingCards follows, per consultation, the cards of each participant's last full-weight
// sequence that they have not voted on yet: the votes on their way that the sequence counts
// (catalog.Entry.MarkShown, sequence rule 0). A card stops counting when the participant
// moves on without voting on it: they ask for another sequence, vote on a card past ones
// they skipped (picking, not voting through: all their other cards stop counting, and their
// picked votes are published beside the results, see voted), or leave it for PendingFor. Without this, every card shown to someone who leaves (a
// visitor who looks and goes, or a script opening session after session to hunt chosen
// proposals, voting on one or two cards of 12) held its proposal back for good: the sequence
// took it for a proposal with more votes than it had, and stopped giving it the votes a
// zone needs (ops/integrity's harvest attack: the least voted proposal had 3 to 7 votes
// where 12 per proposal had been cast, against 10 without the attack).
type pendingCards struct {
	mu             sync.Mutex
	byConsultation map[int64]*consultationCards
}

type consultationCards struct {
	last  map[string]*shownCards // participant → their last full-weight sequence
	queue []*shownCards          // in the order shown, for expiry
}

type shownCards struct {
	participant string
	ids         []int64 // shown and not voted on yet, in the order shown
	at          time.Time
	picking     bool // the participant skipped cards to vote on one: ids no longer count
}

// shown records the full-weight cards just shown to participant, and lets go of those of
// their previous sequence that they did not vote on, and of expired ones.
func (p *pendingCards) shown(e *catalog.Entry, participant string, ids []int64, now time.Time, ttl time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byConsultation == nil {
		p.byConsultation = map[int64]*consultationCards{}
	}
	cc := p.byConsultation[e.Consultation.ID]
	if cc == nil {
		cc = &consultationCards{last: map[string]*shownCards{}}
		p.byConsultation[e.Consultation.ID] = cc
	}
	if prev := cc.last[participant]; prev != nil {
		release(e, prev)
	}
	s := &shownCards{participant: participant, ids: append([]int64(nil), ids...), at: now}
	cc.last[participant] = s
	cc.queue = append(cc.queue, s)
	cc.expire(e, now, ttl)
}

// voted takes a card the participant voted on with a full-weight key out of their
// outstanding cards (its vote is on the counters' way now). It says whether the participant
// picked it: voted on it past cards of the same sequence they skipped, or after such a pick.
// A participant who picks chooses what they vote on among the cards served, as through a
// shared link, so their vote is no longer one of a random sample (core/vote rule 6); and none
// of their other cards is on its way any more.
func (p *pendingCards) voted(e *catalog.Entry, participant string, id int64, now time.Time, ttl time.Duration) (picked bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cc := p.byConsultation[e.Consultation.ID]
	if cc == nil {
		return false
	}
	if s := cc.last[participant]; s != nil {
		if i := slices.Index(s.ids, id); i >= 0 {
			switch {
			case s.picking:
				picked = true
			case i == 0: // voting through, in order
			default:
				// The picked card too: its vote is published beside, so no sequence vote
				// comes to take it off the counters' way.
				e.Unmark(s.ids...)
				s.picking, picked = true, true
			}
			s.ids = slices.Delete(s.ids, i, i+1)
		}
	}
	cc.expire(e, now, ttl)
	if len(cc.queue) == 0 {
		delete(p.byConsultation, e.Consultation.ID)
	}
	return picked
}

// expire lets go of the cards shown more than ttl ago, and of the oldest sequences past
// maxPendingSequences.
func (cc *consultationCards) expire(e *catalog.Entry, now time.Time, ttl time.Duration) {
	n := 0
	for n < len(cc.queue) && (now.Sub(cc.queue[n].at) > ttl || len(cc.queue)-n > maxPendingSequences) {
		s := cc.queue[n]
		release(e, s)
		if cc.last[s.participant] == s {
			delete(cc.last, s.participant)
		}
		cc.queue[n] = nil
		n++
	}
	cc.queue = cc.queue[n:]
}

// release takes s's cards out of the votes on their way.
func release(e *catalog.Entry, s *shownCards) {
	if !s.picking {
		e.Unmark(s.ids...)
	}
	s.ids = nil
}
