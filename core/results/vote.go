package results

import (
	"strings"

	"github.com/concorde-civic/concorde/core/errs"
)

// Key is what a vote says about a proposal.
type Key string

// The three vote keys.
const (
	Agree    Key = "agree"
	Disagree Key = "disagree"
	Neutral  Key = "neutral"
)

// Qualification refines a vote; each one belongs to exactly one key.
type Qualification string

// The qualifications, three per key.
const (
	LikeIt            Qualification = "likeIt"            // agree: coup de cœur
	Doable            Qualification = "doable"            // agree: réaliste
	PlatitudeAgree    Qualification = "platitudeAgree"    // agree: banalité
	NoWay             Qualification = "noWay"             // disagree: surtout pas
	Impossible        Qualification = "impossible"        // disagree: infaisable
	PlatitudeDisagree Qualification = "platitudeDisagree" // disagree: banalité
	DoNotUnderstand   Qualification = "doNotUnderstand"   // neutral: pas compris
	NoOpinion         Qualification = "noOpinion"         // neutral: pas d'avis
	DoNotCare         Qualification = "doNotCare"         // neutral: indifférent
)

// NumKeys and NumQualifications size the arrays indexed by Key.Index and Qualification.Index.
const (
	NumKeys           = 3
	NumQualifications = 9
)

// Index order is part of the public contract of Counts: qualification i belongs to key i/3.
var (
	keys           = [NumKeys]Key{Agree, Disagree, Neutral}
	qualifications = [NumQualifications]Qualification{
		LikeIt, Doable, PlatitudeAgree,
		NoWay, Impossible, PlatitudeDisagree,
		DoNotUnderstand, NoOpinion, DoNotCare,
	}
)

// Keys returns the vote keys in index order.
func Keys() []Key { return append([]Key(nil), keys[:]...) }

// Qualifications returns every qualification in index order.
func Qualifications() []Qualification {
	return append([]Qualification(nil), qualifications[:]...)
}

// Index is k's position in Keys, or -1 if k is not a vote key.
func (k Key) Index() int {
	switch k {
	case Agree:
		return 0
	case Disagree:
		return 1
	case Neutral:
		return 2
	}
	return -1
}

// Index is q's position in Qualifications, or -1 if q is not a qualification.
func (q Qualification) Index() int {
	switch q {
	case LikeIt:
		return 0
	case Doable:
		return 1
	case PlatitudeAgree:
		return 2
	case NoWay:
		return 3
	case Impossible:
		return 4
	case PlatitudeDisagree:
		return 5
	case DoNotUnderstand:
		return 6
	case NoOpinion:
		return 7
	case DoNotCare:
		return 8
	}
	return -1
}

// Key returns the key q belongs to, or "" if q is not a qualification.
func (q Qualification) Key() Key {
	i := q.Index()
	if i < 0 {
		return ""
	}
	return keys[i/3]
}

// QualificationsOf returns the qualifications that a vote with key k may carry (none if k is unknown).
func QualificationsOf(k Key) []Qualification {
	i := k.Index()
	if i < 0 {
		return nil
	}
	return append([]Qualification(nil), qualifications[3*i:3*i+3]...)
}

// ParseKey reads a vote key as sent by a client.
func ParseKey(s string) (Key, bool) {
	k := Key(s)
	return k, k.Index() >= 0
}

// ParseQualification reads a qualification as sent by a client.
func ParseQualification(s string) (Qualification, bool) {
	q := Qualification(s)
	return q, q.Index() >= 0
}

// ValidQualifications checks the qualifications sent with a vote of key k: each must belong
// to k and appear once. The error (errs.Invalid, field "qualifications") names the allowed values.
func ValidQualifications(k Key, qs []string) ([]Qualification, error) {
	if k.Index() < 0 {
		return nil, errs.Field("key", "vote key %q is unknown; use agree, disagree or neutral", string(k))
	}
	if len(qs) == 0 {
		return nil, nil
	}
	out := make([]Qualification, 0, len(qs))
	for _, s := range qs {
		q, ok := ParseQualification(s)
		if !ok || q.Key() != k {
			return nil, errs.Field("qualifications",
				"qualification %q does not go with a vote %q; use one of: %s", s, string(k), allowed(k))
		}
		for _, seen := range out {
			if seen == q {
				return nil, errs.Field("qualifications", "qualification %q is given twice; give each at most once", s)
			}
		}
		out = append(out, q)
	}
	return out, nil
}

func allowed(k Key) string {
	var b strings.Builder
	for i, q := range QualificationsOf(k) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(q))
	}
	return b.String()
}

// Trust says how a vote reached the platform, which sets its weight in scores.
type Trust uint8

// The trust levels. Their order is the first index of Counts' arrays.
const (
	Troll    Trust = 0 // no key, or a key that does not verify
	Trusted  Trust = 1 // a valid key from search or a direct link
	Sequence Trust = 2 // a valid key from the sequence
)

// NumTrusts sizes the arrays indexed by Trust.
const NumTrusts = 3

// Weight is the weight of one vote of trust t in scores. Only sequence votes count: the
// server chose what each participant saw, so they approximate a random sample of opinions on
// each proposal; votes through a shared link or a search are self-selected (sharing a link is
// how an interest group pushes one proposal), so they are published beside the scores
// (Scores.Beside) and never move them. Troll votes count for nothing.
func (t Trust) Weight() float64 {
	if t == Sequence {
		return 1
	}
	return 0
}

func (t Trust) String() string {
	switch t {
	case Troll:
		return "troll"
	case Trusted:
		return "trusted"
	case Sequence:
		return "sequence"
	}
	return "unknown"
}
