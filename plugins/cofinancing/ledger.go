package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// The ledger: every movement of money, append-only and hash-chained like the host's audit
// log. Entry n holds the hash of entry n−1 (prev) and its own hash, the SHA-256 of its JSON
// without the hash; the head key holds the last sequence number and hash, and every write
// that appends checks the head's version, so the chain never forks. Anyone with the entries
// can recompute the chain (GET /ledger.csv, GET /ledger/verify).

// Kinds of ledger entries.
const (
	movePledge       = "pledge"       // a backer promised amount_cents
	moveMatch        = "match"        // a fund matched amount_cents (of a pledge or at the close)
	moveCancel       = "cancel"       // the backer withdrew their pledge
	moveRelease      = "release"      // the project failed: the pledge is released
	moveMatchReturn  = "match_return" // a match went back to its fund
	moveConfirm      = "confirm"      // staff confirmed that the money arrived
	moveDisbursement = "disbursement" // money paid out for the project, with its purpose
)

const (
	ledgerPrefix = "ledger/"
	ledgerHead   = "ledger-head"
)

// LedgerEntry is one movement.
type LedgerEntry struct {
	Seq         int64     `json:"seq"`
	At          time.Time `json:"at"`
	Kind        string    `json:"kind"`
	Project     string    `json:"project,omitempty"`
	Pledge      string    `json:"pledge,omitempty"`
	Fund        string    `json:"fund,omitempty"`
	AmountCents int64     `json:"amount_cents"`
	// Backer is the name a backer agreed to show; empty for everyone else ("anonyme").
	Backer  string `json:"backer,omitempty"`
	Purpose string `json:"purpose,omitempty"`
	Prev    string `json:"prev"`
	Hash    string `json:"hash"`
}

type head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

func ledgerKey(seq int64) string { return fmt.Sprintf("%s%012d", ledgerPrefix, seq) }

// hashOf is the hash of an entry: SHA-256 of its JSON with an empty hash.
func hashOf(e LedgerEntry) string {
	e.Hash = ""
	b, _ := json.Marshal(e) // a struct of strings, numbers and a time: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// chain gives entries their sequence numbers, previous hashes and hashes after h.
func chain(h head, entries []LedgerEntry) ([]LedgerEntry, head) {
	out := make([]LedgerEntry, len(entries))
	for i, e := range entries {
		e.Seq, e.Prev, e.At = h.Seq+1, h.Hash, e.At.UTC()
		e.Hash = hashOf(e)
		h = head{Seq: e.Seq, Hash: e.Hash}
		out[i] = e
	}
	return out, h
}

// Verification is what GET /ledger/verify answers.
type Verification struct {
	OK      bool   `json:"ok"`
	Entries int64  `json:"entries"`
	Head    string `json:"head,omitempty"`
	// BrokenAt is the first entry whose content, hash or link to the previous one is wrong.
	BrokenAt int64  `json:"broken_at,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// verify checks the chain: numbering without gaps, each entry's prev is its predecessor's
// hash, each hash matches its content, and the head names the last entry.
func verify(entries []LedgerEntry, h head, headFound bool) Verification {
	prev := ""
	for i, e := range entries {
		want := int64(i + 1)
		switch {
		case e.Seq != want:
			return Verification{Entries: int64(len(entries)), BrokenAt: want, Reason: fmt.Sprintf("entry %d is missing or misnumbered", want)}
		case e.Prev != prev:
			return Verification{Entries: int64(len(entries)), BrokenAt: e.Seq, Reason: "its link to the previous entry is broken"}
		case hashOf(e) != e.Hash:
			return Verification{Entries: int64(len(entries)), BrokenAt: e.Seq, Reason: "its content does not match its hash"}
		}
		prev = e.Hash
	}
	n := int64(len(entries))
	if (headFound || n > 0) && (h.Seq != n || h.Hash != prev) {
		return Verification{Entries: n, BrokenAt: min(h.Seq, n) + 1, Reason: "the chain's head does not name its last entry: entries were removed or added"}
	}
	return Verification{OK: true, Entries: n, Head: prev}
}

// readLedger reads every entry and the head, in order. The head is read before and after
// the entries (appends change both at once): when they differ, something was appended
// meanwhile and it reads again, so a verification never mistakes a write in progress for a
// broken chain. An entry that is not even JSON keeps its place with sequence number -1, so
// verify reports it.
func readLedger(ctx context.Context) ([]LedgerEntry, head, bool, error) {
	st := sdk.Host(ctx).Storage()
	for attempt := 0; ; attempt++ {
		before, found, err := st.Get(ctx, ledgerHead)
		if err != nil {
			return nil, head{}, false, err
		}
		raw, err := st.ListAll(ctx, ledgerPrefix)
		if err != nil {
			return nil, head{}, false, err
		}
		after, _, err := st.Get(ctx, ledgerHead)
		if err != nil {
			return nil, head{}, false, err
		}
		if after.Version != before.Version && attempt < 5 {
			continue
		}
		var h head
		if found && json.Unmarshal(before.Value, &h) != nil {
			h = head{Seq: -1}
		}
		out := make([]LedgerEntry, 0, len(raw))
		for _, r := range raw {
			var e LedgerEntry
			if err := json.Unmarshal(r.Value, &e); err != nil {
				e = LedgerEntry{Seq: -1}
			}
			if found && e.Seq > h.Seq && after.Version != before.Version {
				break // appended while reading, past the head read first
			}
			out = append(out, e)
		}
		return out, h, found, nil
	}
}
