// Package audit keeps the append-only, hash-chained log of every staff decision.
//
// Each tenant has its own chain: entry n stores the hash of entry n-1 (prev_hash) and its own
// hash over a canonical encoding of its fields, so changing, inserting or removing an entry
// in the middle of a chain is detected by Verify. The package offers no way to update or
// delete entries, on purpose.
//
// The chain is keyed: each hash is an HMAC-SHA256 under a key kept outside the database
// (Keyring), so someone who can edit rows cannot recompute the hashes after a change. Entries
// written before keys existed (empty key_id) are "legacy": plain SHA-256, accepted only before the
// first keyed entry.
//
// What the chain cannot prove on its own: that the newest entries were not cut off (a
// truncated chain is still a valid chain). A signed Head, saved elsewhere and given back to
// VerifyHead, detects that.
package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
)

// GenesisHash is the prev_hash of the first entry of every tenant's chain.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// Limits on what an entry may hold.
const (
	MaxFieldLength = 200       // characters of Actor, Action and Object
	MaxDetailBytes = 16 << 10  // bytes of Detail once encoded as JSON
	DefaultLimit   = 50        // entries per page when Filter.Limit is 0
	MaxLimit       = 500       // entries per page at most
	appendAttempts = 5         // tries of Append when a concurrent append took the same seq
	verifyBatch    = 1000      // entries Verify reads per query
	canonicalTag   = "audit/1" // first element of the hashed encoding, to version it
)

// Entry is one row of the log, as stored.
type Entry struct {
	bun.BaseModel `bun:"table:audit_entries,alias:ae"`

	TenantID int64           `bun:"tenant_id,pk" json:"tenant_id"`
	Seq      int64           `bun:"seq,pk" json:"seq"`
	At       time.Time       `bun:"at,notnull" json:"at"`
	Actor    string          `bun:"actor,notnull" json:"actor"`
	Action   string          `bun:"action,notnull" json:"action"`
	Object   string          `bun:"object,notnull" json:"object"`
	Detail   json.RawMessage `bun:"detail,notnull" json:"detail"`
	PrevHash string          `bun:"prev_hash,notnull" json:"prev_hash"`
	Hash     string          `bun:"hash,notnull" json:"hash"`
	// KeyID names the key of the entry's HMAC; empty for legacy (unkeyed) entries.
	KeyID string `bun:"key_id,notnull" json:"key_id"`
}

// SetTenantID lets store.Scope stamp the entry with its tenant.
func (e *Entry) SetTenantID(id int64) { e.TenantID = id }

// ComputeHash returns the legacy (unkeyed) hash the entry should carry given its other fields:
// hex(SHA-256) of a JSON array of a version tag and every field, in a fixed order. A JSON
// array, rather than concatenation, keeps one field's bytes from shifting into the next.
// Detail is hashed as the exact stored text.
func (e *Entry) ComputeHash() string {
	b, err := json.Marshal([]any{
		canonicalTag,
		e.PrevHash,
		e.TenantID,
		e.Seq,
		e.At.UTC().Format(time.RFC3339Nano),
		e.Actor,
		e.Action,
		e.Object,
		string(e.Detail),
	})
	if err != nil { // strings and integers always marshal
		panic(fmt.Sprintf("audit: encode entry: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Record is what a caller tells the log about one decision.
type Record struct {
	Actor  string         // who decided, e.g. "user:42" or "plugin:culture"
	Action string         // what was done, e.g. "proposal.accept"
	Object string         // what it was done to, e.g. "proposal:123"
	Detail map[string]any // anything else worth keeping; encoded as a JSON object
}

// Log appends to and reads the audit log.
type Log struct {
	db *bun.DB
	// Keys hash new entries and check keyed ones; nil writes legacy entries (tests of other
	// packages) and cannot verify keyed ones.
	Keys *Keyring
	// Now gives the time stamped on new entries; tests replace it.
	Now func() time.Time
}

// New returns the log kept in db.
func New(db *bun.DB) *Log {
	return &Log{db: db, Now: time.Now}
}

// Append adds one entry to the tenant's chain and returns it. db may be a bun.Tx, so that the
// entry commits (or rolls back) with the change it records; otherwise Append uses its own
// transaction.
//
// Appends of one tenant are serialised: on PostgreSQL by a transaction-scoped advisory lock
// (held until the caller's transaction ends), on SQLite by its single writer (transactions
// begin IMMEDIATE). Should two appends still pick the same seq, the loser retries from a
// savepoint a few times, then fails with errs.Conflict (this happens with a caller's
// transaction at REPEATABLE READ or stricter, whose snapshot cannot see the newer entry).
func (l *Log) Append(ctx context.Context, db bun.IDB, tenantID int64, r Record) (Entry, error) {
	return l.AppendIn(ctx, store.For(db, tenantID), r) // store.For panics on a tenant id <= 0, before any query runs
}

// AppendIn is Append in the scope sc: inside sc's transaction when sc is one (store.Scope.Tx),
// so that the entry commits or rolls back with the change it records.
func (l *Log) AppendIn(ctx context.Context, sc store.Scope, r Record) (Entry, error) {
	detail, err := validate(r)
	if err != nil {
		return Entry{}, err
	}
	at := l.now().UTC().Truncate(time.Microsecond)

	var e Entry
	for attempt := 0; attempt < appendAttempts; attempt++ {
		err = sc.Tx(ctx, func(ctx context.Context, s store.Scope) error {
			if err := s.Lock(ctx, auditLockClass); err != nil {
				return fmt.Errorf("lock audit chain: %w", err)
			}
			var last Entry
			prev, seq := GenesisHash, int64(1)
			err := s.Select(&last).Column("seq", "hash").OrderExpr("seq DESC").Limit(1).Scan(ctx)
			switch {
			case err == nil:
				prev, seq = last.Hash, last.Seq+1
			case !store.IsNoRows(err):
				return fmt.Errorf("read last audit entry: %w", err)
			}
			e = Entry{
				Seq:      seq,
				At:       at,
				Actor:    r.Actor,
				Action:   r.Action,
				Object:   r.Object,
				Detail:   detail,
				PrevHash: prev,
			}
			e.TenantID = s.TenantID() // the hash covers the tenant, so set it before hashing
			if l.Keys != nil {
				e.KeyID = l.Keys.CurrentID()
				if e.Hash, err = l.Keys.Hash(&e); err != nil {
					return err
				}
			} else {
				e.Hash = e.ComputeHash()
			}
			_, err = s.Insert(&e).Exec(ctx)
			return err
		})
		if err == nil {
			return e, nil
		}
		if !store.IsUniqueViolation(err) {
			return Entry{}, fmt.Errorf("append audit entry for tenant %d: %w", sc.TenantID(), err)
		}
		if err := ctx.Err(); err != nil {
			return Entry{}, err
		}
	}
	return Entry{}, errs.Wrap(errs.Conflict, err, "the audit log is busy; try again")
}

func (l *Log) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// auditLockClass names the lock (store.Scope.Lock) that serialises appends to one tenant's
// chain. A collision with another lock only serialises two unrelated things, which is harmless.
const auditLockClass = 0x61756469 // "audi"

// validate checks r and returns its detail encoded as a JSON object.
func validate(r Record) (json.RawMessage, error) {
	for _, f := range []struct{ name, value string }{
		{"actor", r.Actor}, {"action", r.Action}, {"object", r.Object},
	} {
		switch {
		case strings.TrimSpace(f.value) == "":
			return nil, errs.Field(f.name, "%s is required", f.name)
		case !utf8.ValidString(f.value) || strings.ContainsRune(f.value, 0):
			// PostgreSQL refuses both in TEXT; refusing them everywhere keeps dialects alike.
			return nil, errs.Field(f.name, "%s must be valid UTF-8 text without NUL characters", f.name)
		case utf8.RuneCountInString(f.value) > MaxFieldLength:
			return nil, errs.Field(f.name, "%s is longer than %d characters", f.name, MaxFieldLength)
		}
	}
	if r.Detail == nil {
		return json.RawMessage("{}"), nil
	}
	// encoding/json sorts map keys, so equal details always encode to equal bytes.
	b, err := json.Marshal(r.Detail)
	if err != nil {
		return nil, errs.Field("detail", "detail cannot be encoded as JSON: %v", err)
	}
	if len(b) > MaxDetailBytes {
		return nil, errs.Field("detail", "detail is %d bytes once encoded; at most %d are allowed", len(b), MaxDetailBytes)
	}
	return b, nil
}

// Filter selects entries for List. Zero fields select everything.
type Filter struct {
	Actor  string // exact match, or a prefix when it ends with "*" ("chef@nantes.fr (*")
	Action string // exact match
	Object string // exact match, or a prefix when it ends with "*" ("proposal:*")
	Since  time.Time
	Until  time.Time // exclusive: entries at or after Until are left out
	// BeforeSeq is the cursor: only entries with a smaller seq. 0 starts at the newest.
	BeforeSeq int64
	Limit     int // entries per page: DefaultLimit when 0, at most MaxLimit
}

// Page is one page of entries, newest first.
type Page struct {
	Entries []Entry `json:"entries"`
	// NextBeforeSeq is the Filter.BeforeSeq of the next page; 0 when there is none.
	NextBeforeSeq int64 `json:"next_before_seq"`
}

// List returns the tenant's entries matching f, newest first.
func (l *Log) List(ctx context.Context, tenantID int64, f Filter) (Page, error) {
	limit := f.Limit
	switch {
	case limit < 0:
		return Page{}, errs.Field("limit", "limit must not be negative")
	case limit == 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	if f.BeforeSeq < 0 {
		return Page{}, errs.Field("before_seq", "before_seq must not be negative")
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return Page{}, errs.Field("until", "until is before since")
	}

	entries := []Entry{}
	q := store.For(l.db, tenantID).Select(&entries)
	if prefix, ok := strings.CutSuffix(f.Actor, "*"); ok {
		if prefix != "" {
			q = q.Where(`actor LIKE ? ESCAPE '\'`, store.EscapeLike(prefix)+"%")
		}
	} else if f.Actor != "" {
		q = q.Where("actor = ?", f.Actor)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if prefix, ok := strings.CutSuffix(f.Object, "*"); ok {
		if prefix != "" {
			q = q.Where(`object LIKE ? ESCAPE '\'`, store.EscapeLike(prefix)+"%")
		}
	} else if f.Object != "" {
		q = q.Where("object = ?", f.Object)
	}
	if !f.Since.IsZero() {
		q = q.Where("at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("at < ?", f.Until.UTC())
	}
	if f.BeforeSeq > 0 {
		q = q.Where("seq < ?", f.BeforeSeq)
	}
	// One extra row tells whether another page follows.
	if err := q.OrderExpr("seq DESC").Limit(int64(limit) + 1).Scan(ctx); err != nil {
		return Page{}, fmt.Errorf("list audit entries of tenant %d: %w", tenantID, err)
	}
	p := Page{Entries: entries}
	if len(entries) > limit {
		p.Entries = entries[:limit]
		p.NextBeforeSeq = p.Entries[limit-1].Seq
	}
	return p, nil
}

// Reasons a chain is broken, as Report.Reason gives them.
const (
	ReasonHash = "hash mismatch"
	ReasonLink = "broken link to previous entry"
	ReasonGap  = "missing entry (gap in sequence)"
	// ReasonKey: a keyed entry names a key the keyring does not hold.
	ReasonKey = "hashed with an unknown key"
	// ReasonLegacy: an unkeyed entry after keyed ones (someone without the key rewrote it).
	ReasonLegacy = "unkeyed entry after keyed ones"
	// ReasonTruncated: the chain ends before the signed head's last entry.
	ReasonTruncated = "entries missing after the end of the chain (truncated tail)"
	// ReasonHead: the entry the signed head names is not the one stored.
	ReasonHead = "entry differs from the signed head"
	// ReasonKeyedFrom: the first keyed entry is not the one the signed head names.
	ReasonKeyedFrom = "keyed entries rewritten as legacy ones"
)

// Report is the outcome of verifying one tenant's chain.
type Report struct {
	TenantID int64 `json:"tenant_id"`
	Entries  int   `json:"entries"` // entries in the chain, broken or not
	OK       bool  `json:"ok"`
	// FirstBroken is the seq of the first entry that fails a check: its seq does not follow
	// the previous one (ReasonGap: it is the entry after the missing ones), its prev_hash is
	// not the previous entry's hash (ReasonLink), or its hash does not match its fields
	// (ReasonHash). 0 when OK.
	//
	// An attacker who edits entry n and recomputes its hash leaves n self-consistent, so the
	// break shows at n+1 as ReasonLink: read it as "n or n+1 was altered".
	FirstBroken int64  `json:"first_broken,omitempty"`
	Reason      string `json:"reason,omitempty"`
	// Legacy is how many entries at the start of the chain are unkeyed (written before the
	// chain was keyed); KeyedFrom is the first keyed entry, 0 if none.
	Legacy    int   `json:"legacy"`
	KeyedFrom int64 `json:"keyed_from,omitempty"`
	// LastSeq and LastHash are the chain's last entry, as stored.
	LastSeq  int64  `json:"last_seq"`
	LastHash string `json:"last_hash"`
}

// Verify checks the tenant's whole chain, reading it in batches so a long log is never held
// in memory at once.
func (l *Log) Verify(ctx context.Context, tenantID int64) (Report, error) {
	rep := Report{TenantID: tenantID, OK: true}
	s := store.For(l.db, tenantID)
	prevSeq, prevHash := int64(0), GenesisHash
	for {
		var batch []Entry
		err := s.Select(&batch).Where("seq > ?", prevSeq).OrderExpr("seq ASC").Limit(verifyBatch).Scan(ctx)
		if err != nil {
			return Report{}, fmt.Errorf("read audit entries of tenant %d: %w", tenantID, err)
		}
		for i := range batch {
			e := &batch[i]
			rep.Entries++
			if rep.OK {
				reason := ""
				switch {
				case e.Seq != prevSeq+1:
					reason = ReasonGap
				case e.PrevHash != prevHash:
					reason = ReasonLink
				case e.KeyID == "" && rep.KeyedFrom != 0:
					reason = ReasonLegacy
				default:
					reason = l.checkHash(e)
				}
				if reason != "" {
					rep.OK, rep.FirstBroken, rep.Reason = false, e.Seq, reason
				}
			}
			if e.KeyID == "" && rep.KeyedFrom == 0 {
				rep.Legacy++
			} else if rep.KeyedFrom == 0 {
				rep.KeyedFrom = e.Seq
			}
			prevSeq, prevHash = e.Seq, e.Hash
			rep.LastSeq, rep.LastHash = e.Seq, e.Hash
		}
		if len(batch) < verifyBatch {
			return rep, nil
		}
	}
}

// checkHash returns the reason e's hash is wrong, or "".
func (l *Log) checkHash(e *Entry) string {
	if e.KeyID == "" {
		if e.ComputeHash() != e.Hash {
			return ReasonHash
		}
		return ""
	}
	if l.Keys == nil {
		return ReasonKey
	}
	want, err := l.Keys.Hash(e)
	if err != nil {
		return ReasonKey
	}
	if !hmac.Equal([]byte(want), []byte(e.Hash)) {
		return ReasonHash
	}
	return ""
}

// Head signs where the tenant's chain ends now (slug names the tenant for whoever reads the
// head). It needs the keyring: without it, errs.Unavailable.
func (l *Log) Head(ctx context.Context, tenantID int64, slug string) (Head, error) {
	if l.Keys == nil {
		return Head{}, errs.E(errs.Unavailable, "the audit log has no key to sign its head with")
	}
	s := store.For(l.db, tenantID)
	h := Head{TenantID: tenantID, Tenant: slug, Hash: GenesisHash, At: l.now().UTC().Truncate(time.Microsecond), KeyID: l.Keys.CurrentID()}
	var last Entry
	switch err := s.Select(&last).Column("seq", "hash").OrderExpr("seq DESC").Limit(1).Scan(ctx); {
	case err == nil:
		h.Seq, h.Hash = last.Seq, last.Hash
	case !store.IsNoRows(err):
		return Head{}, fmt.Errorf("read last audit entry of tenant %d: %w", tenantID, err)
	}
	var first []int64
	if err := s.Select((*Entry)(nil)).Column("seq").Where("key_id <> ''").Where("seq <= ?", h.Seq).
		OrderExpr("seq ASC").Limit(1).Scan(ctx, &first); err != nil {
		return Head{}, fmt.Errorf("read first keyed audit entry of tenant %d: %w", tenantID, err)
	}
	if len(first) > 0 {
		h.KeyedFrom = first[0]
	}
	var err error
	if h.Signature, err = l.Keys.signHead(h); err != nil {
		return Head{}, err
	}
	return h, nil
}

// VerifyHead verifies the chain of the head's tenant, and that it still holds the signed head:
// the entry the head names, with the same hash (else the tail was cut off or rewritten), and
// the same first keyed entry. A head with a wrong signature is errs.Invalid.
func (l *Log) VerifyHead(ctx context.Context, h Head) (Report, error) {
	if l.Keys == nil || !l.Keys.checkHead(h) {
		return Report{}, errs.Field("head", "the head's signature does not match (altered, or signed with a key this installation does not hold)")
	}
	rep, err := l.Verify(ctx, h.TenantID)
	if err != nil || !rep.OK {
		return rep, err
	}
	fail := func(seq int64, reason string) (Report, error) {
		rep.OK, rep.FirstBroken, rep.Reason = false, seq, reason
		return rep, nil
	}
	switch {
	case rep.LastSeq < h.Seq:
		return fail(rep.LastSeq+1, ReasonTruncated)
	case h.KeyedFrom != 0 && rep.KeyedFrom != h.KeyedFrom,
		h.KeyedFrom == 0 && rep.KeyedFrom != 0 && rep.KeyedFrom <= h.Seq:
		at := h.KeyedFrom
		if at == 0 || rep.KeyedFrom != 0 && rep.KeyedFrom < at {
			at = rep.KeyedFrom
		}
		return fail(at, ReasonKeyedFrom)
	case h.Seq == 0:
		return rep, nil
	}
	var e Entry
	if err := store.For(l.db, h.TenantID).Select(&e).Column("hash").Where("seq = ?", h.Seq).Scan(ctx); err != nil {
		return Report{}, fmt.Errorf("read audit entry %d of tenant %d: %w", h.Seq, h.TenantID, err)
	}
	if e.Hash != h.Hash {
		return fail(h.Seq, ReasonHead)
	}
	return rep, nil
}

// VerifyAll verifies the chain of every tenant that has entries, in ascending tenant id.
func (l *Log) VerifyAll(ctx context.Context) ([]Report, error) {
	var ids []int64
	// A platform-wide read of tenant ids only; each chain is then read through its scope.
	err := store.Across(l.db).Select((*Entry)(nil)).
		ColumnExpr("DISTINCT tenant_id").OrderExpr("tenant_id ASC").Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("list tenants with audit entries: %w", err)
	}
	reports := make([]Report, 0, len(ids))
	for _, id := range ids {
		rep, err := l.Verify(ctx, id)
		if err != nil {
			return nil, err
		}
		reports = append(reports, rep)
	}
	return reports, nil
}
