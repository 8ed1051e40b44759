// Package vote records votes: who agrees, disagrees or is neutral on a proposal, how far the
// vote can be trusted, and the counters results are read from.
//
// # Writing
//
// Every vote goes through one writer goroutine per Service (Start, Close). Cast and Withdraw
// queue a request and return once the transaction holding it is committed: a vote is durable
// before it is acknowledged. The writer takes everything queued (up to Options.MaxBatch) into
// one transaction, so under load thousands of votes a second share a few commits (group
// commit). In that transaction it reads the votes being replaced, writes the vote rows, and
// adds the change to the per-proposal counters (proposal_counts, one row per proposal and
// trust level). If the transaction fails, each request of the batch is retried alone, so a
// bad request fails only itself. On PostgreSQL the batch is a few multi-row statements (one
// round trip each); on SQLite, which has no round trips but would parse each such statement
// anew, it is fixed statements prepared once and run once per vote (prepared.go).
//
// Counters can always be rebuilt from the raw votes (Recompute), with identical results.
//
// Every transaction that changes votes or counters of a tenant holds that tenant's write
// lock: on SQLite the database's (transactions begin IMMEDIATE), on PostgreSQL a
// transaction-level advisory lock. So several processes can write one PostgreSQL database,
// and Merge, Detach and Recompute never interleave with a batch of votes.
//
// # One person, one vote
//
// A participant has one vote per proposal: voting again changes it, and keeps the trust the
// first vote earned unless the new key is stronger (a change of mind through a shared link
// or a search does not demote a vote the sequence asked for). Erasing a
// participant (Detach, DetachIn) moves their votes to one random pseudonym, the same for all of
// them (they stay counted, and coalescing and the opinion groups still see one participant: see
// rule 9), and retires their id (retired_participants, no personal data):
// the service refuses their votes from then on (errs.Forbidden), so a browser that kept the id
// cannot vote again as a new person while the erased votes stay counted.
//
// # What callers check before
//
// The service checks the ballot's shape (key, qualifications of that key, trust, origin) and
// that the proposal exists in the tenant and belongs to the consultation. Whether the
// consultation is open and the proposal accepted is for the caller, which holds that
// metadata in memory (ARCHITECTURE.md D5), as is the vote key (Signer.Trust) and the rate
// limits (Limiter).
//
// # Bursts
//
// The writer feeds every committed vote to a BurstDetector, after commit, and records the
// minutes it flags in vote_bursts (Bursts reads them per proposal) and in
// concorde_vote_bursts_total. Callers have nothing to call for it.
//
// # Vote keys: what makes a vote count
//
// Results are estimated from sequence votes only (core/results, Trust.Weight): the server
// chose what each participant saw, so those votes approximate a random sample. What keeps an
// organised group from buying its way into that sample are these rules, each enforced here
// or in core/booth or core/results, and published on each site's methodology page
// (/methode):
//
//  1. Every proposal served carries a key: a one-letter origin code (sequence, search,
//     direct link, results page, or ignored: see rule 6), the minute it was issued, and an
//     HMAC-SHA256 (truncated to 128 bits) over tenant, proposal, participant, origin and that
//     minute, under the server's secret. The key is the record of the card shown: every node
//     of an installation checks it with the shared secret, without a lookup, so it holds
//     across several nodes on one PostgreSQL and costs nothing on the vote path.
//  2. A sequence key exists only for a card the sequence served to that participant: only
//     the sequence (API and pages) signs the sequence origin, only for the proposals it drew
//     for that participant, and the key binds the participant, so it is worth nothing to
//     anyone else. A key replayed for another participant, proposal or tenant, relabelled,
//     or made up is forged (ErrForgedKey, 403): the vote is kept as a troll vote, for the
//     record, and counted in no result.
//  3. Keys expire Signer.TTL (DefaultKeyTTL, 24 hours) after they were issued; an expired
//     key, or one issued more than five minutes in the future, is refused with 400 and the
//     vote is not recorded: ask for the proposal again.
//  4. A key serves one vote: a participant has one vote per proposal (the votes table's
//     primary key), so voting again with the same key changes that vote, never adds one, and
//     keeps the trust of the first vote unless the new key is stronger.
//  5. Sequences are rate-limited per participant (20 a minute) and per source address (120 a
//     minute): 429 with Retry-After (core/ratelimit, AllowSequence).
//  6. Full weight is earned by voting. Within a day, a participant gets at most
//     1 + 2 × votes ÷ size sequences through the API whose cards carry sequence keys (1 + 2 ×
//     votes pages on the site, which show one card each), votes counted in that
//     consultation. Past that, sequences still come, but their cards carry "ignored" keys
//     (origin Ignored): votes with them are published beside the results, like link votes,
//     and move nothing. So a participant who keeps asking for sequences and votes on almost
//     none of what they were shown, hunting for chosen proposals, loses full weight after
//     their first sequence. And a sequence is voted through in order: a participant who
//     skips cards of their last full-weight sequence to vote on one further on picks what
//     they vote on, as through a shared link, so that vote, any later vote on a card of that
//     sequence (the picked one again included), and any vote on a card of an earlier
//     sequence they moved on from without voting on it carry trust Trusted and origin
//     Ignored (core/booth, pendingCards: kept for the keys' lifetime in the memory of the
//     node that served the sequence, like the rate limits without Redis, at most 50,000
//     sequences per consultation; a vote reaching another node is not checked). The cards of a sequence stop counting as
//     votes on their way for the sequence's exposure as soon as the participant picks, asks
//     for another sequence, or leaves them ten minutes: they do not hold those proposals back.
//  7. Fresh sessions from one source are pooled: every full-weight sequence given to a
//     participant who has not voted yet in the consultation draws on a budget per source
//     address and consultation (core/booth, FreshPerSourcePerHour, 5 an hour). Past it,
//     that source's fresh sessions get ignored keys until they have earned full weight by
//     voting (rule 6). Opening session after session from one machine, to be shown chosen
//     proposals with full-weight keys, stops there.
//  8. Raking (weighting to population margins, core/results) counts only participants with
//     at least one sequence vote: troll-only and link-only sessions are left out of the
//     sample, so profiles claimed by sessions that never took part in the sequence cannot
//     change anyone's weight. And in weighted results each profile cell's votes on a
//     proposal are pooled with results.Config.CellPrior (100) votes of everyone's, so a
//     bloc that does take part through the sequence and all claim a rare profile cannot
//     multiply its few votes on a proposal by that profile's weight.
//  9. Sessions from one source that vote alike count as one participant (core/results,
//     Coalesce, after Community Notes' post-selection similarity). Every vote stores the
//     source it came from as Signer.Source: an HMAC-SHA256 of tenant, consultation and
//     network under the server's secret, truncated to 64 bits (the network is the address
//     for IPv4 and its /64 for IPv6, forwarded.Network, as for every per-source limit). No address is stored (an
//     unkeyed hash of an IPv4 address could be reversed by trying them all), a source
//     cannot be matched across consultations. Erasing a participant (DetachIn) gives all their
//     votes in one consultation one random pseudonym (another in each consultation, so that
//     nothing links them across consultations) and keeps only the first
//     results.SourceBucketChars characters of their source (18 bits, a bucket shared by about
//     one network in 260,000): the votes no longer point to the network, yet an erased
//     session is compared with the sessions of its bucket, so a script that erases its clones
//     after voting is still coalesced with them, and with its clones that were not erased. Two sessions whose sequence votes came mostly
//     from one source, that
//     voted on at least 5 proposals in common with (proposal, vote) pairs of Jaccard
//     similarity 0.9 or more, are linked; linked sessions form a group, and on each
//     proposal the group's sequence votes weigh one vote together. This is computed in the
//     background with the opinion groups (Service.Opinions), from the raw votes, so
//     `concorde results recompute`, the verify endpoint and the frozen snapshot include it;
//     the write path only stores the hash (one HMAC per vote). People behind one address
//     who vote their own way (a school, a library) are shown different proposals and vote
//     differently: they are not linked. It does not catch a harvester whose sessions each
//     vote on one or two chosen proposals only (too few in common to compare): rules 6 and 7
//     are what stop those.
//
// Rules 6 and 7 count in the rate limiter: in this node's memory, or across nodes in Redis
// when one is configured; without Redis, each node of an installation keeps its own counts
// (so n nodes allow n times as much), as for the other rate limits. The limiter's keys hold
// the client address itself, in memory or in Redis, for at most their window (an hour).
//
// Votes outside the sequence (results.Trusted: direct link, search, results page, ignored
// key) are published beside the results, each origin with its own count and rates
// (Service.BesideByOrigin, read in the background: the write path keeps no count per origin).
package vote

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"time"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/results"
)

// Origin says where a participant was shown the proposal they vote on.
type Origin string

// The places a proposal is shown, each with its own vote key.
const (
	Sequence Origin = "sequence" // chosen for the participant by the sequence
	Search   Origin = "search"   // found by keyword or theme
	Direct   Origin = "direct"   // reached through a shared link or the proposal's own page
	Results  Origin = "results"  // voted from the results page
	// Ignored: chosen by the sequence for a participant who has not earned full weight
	// (rules 6 and 7 of the package comment); such votes are published beside the results.
	Ignored Origin = "ignored"
)

// Keys are short: they travel with every proposal served, so origins get one-letter codes.
var originCodes = map[Origin]string{Sequence: "s", Search: "q", Direct: "d", Results: "r", Ignored: "i"}

func originOf(code string) (Origin, bool) {
	for o, c := range originCodes {
		if c == code {
			return o, true
		}
	}
	return "", false
}

// Valid reports whether o is one of the known origins.
func (o Origin) Valid() bool {
	_, ok := originCodes[o]
	return ok
}

// macLen is the length of a key's MAC: 128 bits make forging out of reach and keep keys short.
const macLen = 16

// stampLen is the length of a key's issue time: minutes since the Unix epoch, big-endian.
const stampLen = 4

// encodedLen is the length of a key's stamp and MAC in base64url without padding.
var encodedLen = base64.RawURLEncoding.EncodedLen(stampLen + macLen)

// DefaultKeyTTL is how long a vote key stays valid after it was issued (rule 3).
const DefaultKeyTTL = 24 * time.Hour

// clockSkew is how far in the future a key's issue time may be (nodes' clocks differ a little).
const clockSkew = 5 * time.Minute

// ErrForgedKey says that a vote key is well formed but was not issued for this participant,
// proposal and tenant: forged, or replayed from another session or proposal. The vote is
// still recorded, as a troll vote (see Signer.Trust).
var ErrForgedKey = errs.E(errs.Forbidden,
	"this vote's key is not valid for you and this proposal: the vote is kept as untrusted and left out of the results")

// errMalformedKey and errExpiredKey refuse a vote outright: nothing is recorded.
var (
	errMalformedKey = errs.Field("key", "the vote key is malformed; send back the key that came with the proposal, or none").Say("err_vote_key_malformed")
	errExpiredKey   = errs.Field("key", "this vote key has expired; reload the proposal to get a fresh one, then vote again").Say("err_vote_key_expired")
)

// Signer issues and checks vote keys, after Make.org's trust levels: every proposal served
// carries a key that binds tenant, proposal, participant (session), origin and issue time,
// signed with the server secret. A vote brings its key back; the key sets the vote's trust.
type Signer struct {
	Secret []byte
	// TTL is how long a key stays valid (DefaultKeyTTL when zero).
	TTL time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (s Signer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Key is the vote key for showing proposal proposalID to participant, from origin o, now:
// a one-letter origin code, a dot, and in base64url the issue minute and a truncated
// HMAC-SHA256. An unknown origin is signed as Direct.
func (s Signer) Key(tenantID, proposalID int64, participant string, o Origin) string {
	code, ok := originCodes[o]
	if !ok {
		code, o = originCodes[Direct], Direct
	}
	var raw [stampLen + macLen]byte
	minute := uint32(s.now().Unix() / 60)
	binary.BigEndian.PutUint32(raw[:stampLen], minute)
	copy(raw[stampLen:], s.mac(tenantID, proposalID, participant, o, minute))
	return code + "." + base64.RawURLEncoding.EncodeToString(raw[:])
}

// Trust checks the key a vote came with. No key gives a troll vote (no error); a key that is
// not a vote key at all, or has expired, is errs.Invalid (the vote must not be recorded); a
// well-formed key that does not verify gives a troll vote and ErrForgedKey, so the caller
// can record the vote as a troll vote and tell the participant. A valid sequence key gives
// results.Sequence, any other valid key results.Trusted (published beside the results).
func (s Signer) Trust(key string, tenantID, proposalID int64, participant string) (results.Trust, Origin, error) {
	if key == "" {
		return results.Troll, "", nil
	}
	if len(key) != 2+encodedLen || key[1] != '.' {
		return results.Troll, "", errMalformedKey
	}
	o, ok := originOf(key[:1])
	if !ok {
		return results.Troll, "", errMalformedKey
	}
	var got [stampLen + macLen + 2]byte // room to spare keeps Decode from panicking
	n, err := base64.RawURLEncoding.Strict().Decode(got[:], []byte(key[2:]))
	if err != nil || n != stampLen+macLen {
		return results.Troll, "", errMalformedKey
	}
	minute := binary.BigEndian.Uint32(got[:stampLen])
	want := s.mac(tenantID, proposalID, participant, o, minute)
	if !hmac.Equal(got[stampLen:stampLen+macLen], want[:macLen]) {
		return results.Troll, o, ErrForgedKey
	}
	ttl := s.TTL
	if ttl <= 0 {
		ttl = DefaultKeyTTL
	}
	issued := time.Unix(int64(minute)*60, 0)
	if now := s.now(); issued.After(now.Add(clockSkew)) || now.Sub(issued) > ttl {
		return results.Troll, o, errExpiredKey
	}
	if o == Sequence {
		return results.Sequence, o, nil
	}
	return results.Trusted, o, nil
}

// Source is the keyed hash a vote stores of the network address it came from (for
// Service.Cast's Ballot.Source): an HMAC-SHA256 of tenant, consultation and address under the
// server's secret, truncated to 64 bits, in base64url. The address cannot be read back from
// it without the secret (an unkeyed hash of an IPv4 address can be reversed by trying them
// all), and the same address gives another value in another consultation. "" for no address.
func (s Signer) Source(tenantID, consultationID int64, addr string) string {
	if addr == "" {
		return ""
	}
	m := hmac.New(sha256.New, s.Secret)
	b := make([]byte, 0, 64+len(addr))
	b = append(b, "vote-source|"...)
	b = strconv.AppendInt(b, tenantID, 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, consultationID, 10)
	b = append(b, '|')
	b = append(b, addr...)
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:8])
}

func (s Signer) mac(tenantID, proposalID int64, participant string, o Origin, minute uint32) []byte {
	m := hmac.New(sha256.New, s.Secret)
	b := make([]byte, 0, 80+len(participant))
	b = append(b, "vote-key|"...)
	b = strconv.AppendInt(b, tenantID, 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, proposalID, 10)
	b = append(b, '|')
	b = append(b, participant...)
	b = append(b, '|')
	b = append(b, o...)
	b = append(b, '|')
	b = strconv.AppendUint(b, uint64(minute), 10)
	m.Write(b)
	return m.Sum(nil)[:macLen]
}
