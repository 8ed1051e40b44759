package audit_test

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/storetest"
)

// rewrite changes entry seq's object and recomputes the hash of it and of every later entry,
// as someone with write access to the table but not the key would: with the legacy (unkeyed)
// hash, optionally marking the entries legacy.
func rewrite(t *testing.T, db *bun.DB, l *audit.Log, tenantID, seq int64, markLegacy bool) {
	t.Helper()
	ctx := context.Background()
	var entries []audit.Entry
	if err := db.NewSelect().Model(&entries).Where("tenant_id = ?", tenantID).OrderExpr("seq ASC").Scan(ctx); err != nil {
		t.Fatal(err)
	}
	prev := audit.GenesisHash
	for i := range entries {
		e := &entries[i]
		if e.Seq >= seq {
			if e.Seq == seq {
				e.Object = "proposal:forged"
			}
			if markLegacy {
				e.KeyID = ""
			}
			e.PrevHash = prev
			e.Hash = e.ComputeHash()
			exec(t, db, `UPDATE audit_entries SET object = ?, key_id = ?, prev_hash = ?, hash = ? WHERE tenant_id = ? AND seq = ?`,
				e.Object, e.KeyID, e.PrevHash, e.Hash, tenantID, e.Seq)
		}
		prev = e.Hash
	}
}

// Before the chain was keyed, rewriting an entry and recomputing the following hashes passed
// Verify; with a key kept outside the database it cannot be recomputed.
func TestVerify_RewriteWithRecomputedHashesFailsOnAKeyedChain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		storetest.AddTenants(t, db, 2, 3, 4, 5)

		legacy := newLegacyLog(db)
		appendN(t, legacy, db, 2, 5)
		rewrite(t, db, legacy, 2, 3, false)
		if rep := verify(t, legacy, 2); !rep.OK {
			t.Fatalf("an unkeyed chain rewritten with recomputed hashes should still verify (what keys are for): %+v", rep)
		}

		l := newLog(db)
		for _, c := range []struct {
			name       string
			tenant     int64
			markLegacy bool
			reason     string
		}{
			{"hashes recomputed without the key", 3, false, audit.ReasonHash},
			{"tail rewritten as legacy entries", 4, true, audit.ReasonLegacy},
		} {
			t.Run(c.name, func(t *testing.T) {
				appendN(t, legacy, db, c.tenant, 2) // legacy entries before keys existed still verify
				appendN(t, l, db, c.tenant, 5)
				if rep := verify(t, l, c.tenant); !rep.OK || rep.Legacy != 2 || rep.KeyedFrom != 3 || rep.LastSeq != 7 {
					t.Fatalf("before the rewrite: %+v", rep)
				}
				rewrite(t, db, l, c.tenant, 5, c.markLegacy)
				if rep := verify(t, l, c.tenant); rep.OK || rep.FirstBroken != 5 || rep.Reason != c.reason {
					t.Fatalf("after the rewrite: %+v", rep)
				}
			})
		}

		// Rewriting the whole chain as legacy needs no key and passes Verify alone: the signed
		// head, saved before, names the first keyed entry and catches it.
		appendN(t, l, db, 5, 4)
		head, err := l.Head(context.Background(), 5, "five")
		if err != nil {
			t.Fatal(err)
		}
		rewrite(t, db, l, 5, 1, true)
		if rep := verify(t, l, 5); !rep.OK || rep.Legacy != 4 {
			t.Fatalf("an all-legacy rewrite: %+v", rep)
		}
		rep, err := l.VerifyHead(context.Background(), head)
		if err != nil || rep.OK || rep.Reason != audit.ReasonKeyedFrom {
			t.Fatalf("verify against the head: %+v %v", rep, err)
		}
	})
}

func TestVerifyHead_DetectsTruncatedOrRewrittenTail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2, 3)
		l := newLog(db)
		appendN(t, l, db, 2, 5)
		head, err := l.Head(ctx, 2, "two")
		if err != nil {
			t.Fatal(err)
		}
		if head.Seq != 5 || head.KeyedFrom != 1 || head.Tenant != "two" || head.Signature == "" {
			t.Fatalf("head %+v", head)
		}
		appendN(t, l, db, 2, 2) // the chain may grow after the head
		if rep, err := l.VerifyHead(ctx, head); err != nil || !rep.OK {
			t.Fatalf("intact chain: %+v %v", rep, err)
		}

		forged := head
		forged.Seq = 3
		if _, err := l.VerifyHead(ctx, forged); !errs.Is(err, errs.Invalid) {
			t.Fatalf("a head changed after signing: %v", err)
		}

		if _, err := db.ExecContext(ctx, `DELETE FROM audit_entries WHERE tenant_id = 2 AND seq >= 5`); err != nil {
			t.Fatal(err)
		}
		if rep := verify(t, l, 2); !rep.OK {
			t.Fatalf("a truncated chain is still a valid chain: %+v", rep)
		}
		if rep, err := l.VerifyHead(ctx, head); err != nil || rep.OK || rep.Reason != audit.ReasonTruncated || rep.FirstBroken != 5 {
			t.Fatalf("truncated tail: %+v %v", rep, err)
		}

		// Cut and grown again with new entries: as long as before, but not the same.
		appendN(t, l, db, 2, 3)
		if rep, err := l.VerifyHead(ctx, head); err != nil || rep.OK || rep.Reason != audit.ReasonHead || rep.FirstBroken != 5 {
			t.Fatalf("rewritten tail: %+v %v", rep, err)
		}

		// An empty chain has a head too.
		empty, err := l.Head(ctx, 3, "three")
		if err != nil || empty.Seq != 0 {
			t.Fatalf("empty head %+v %v", empty, err)
		}
		if rep, err := l.VerifyHead(ctx, empty); err != nil || !rep.OK {
			t.Fatalf("empty chain: %+v %v", rep, err)
		}
	})
}

func TestKeyring_RotationKeepsOlderEntriesVerifiable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2)
		const oldSecret = "the-old-server-secret-0123456789abcdef"
		old := newLegacyLog(db)
		old.Keys = audit.NewKeyring(audit.DeriveKey(oldSecret)) // derived from the server secret
		appendN(t, old, db, 2, 3)
		head, err := old.Head(ctx, 2, "two")
		if err != nil {
			t.Fatal(err)
		}

		l := newLegacyLog(db)
		l.Keys = audit.NewKeyring(testKey, oldSecret) // a new key; the old secret still verifies
		if l.Keys.CurrentID() == old.Keys.CurrentID() {
			t.Fatal("two keys with one id")
		}
		appendN(t, l, db, 2, 2)
		rep := verify(t, l, 2)
		if !rep.OK || rep.Entries != 5 || rep.KeyedFrom != 1 {
			t.Fatalf("after rotation: %+v", rep)
		}
		if rep, err := l.VerifyHead(ctx, head); err != nil || !rep.OK {
			t.Fatalf("a head signed with the retired key: %+v %v", rep, err)
		}

		forgotten := newLegacyLog(db)
		forgotten.Keys = audit.NewKeyring(testKey) // the old key dropped from the configuration
		if rep := verify(t, forgotten, 2); rep.OK || rep.FirstBroken != 1 || rep.Reason != audit.ReasonKey {
			t.Fatalf("without the retired key: %+v", rep)
		}
		if _, err := forgotten.VerifyHead(ctx, head); !errs.Is(err, errs.Invalid) {
			t.Fatalf("a head signed with an unknown key: %v", err)
		}
	})
}
