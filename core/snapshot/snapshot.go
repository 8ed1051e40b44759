// Package snapshot freezes a consultation's results when they are published: the exact JSON
// the results API serves at that moment, stored with its SHA-256, served to the public from
// then on, and checked by auditors (Verify, `concorde results verify`) against the raw votes.
//
// The snapshot does not compute results its own way: it stores what the HTTP layer's
// renderer (Render) makes of the consultation's catalog entry, and Verify runs the same
// renderer on an entry whose counters are recounted from the raw votes. Whatever the results
// maths become, the snapshot holds what was published and Verify says whether the votes
// still give it, byte for byte.
package snapshot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/proposal"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/core/vote"
)

// Snapshot is one consultation's results as published.
type Snapshot struct {
	bun.BaseModel `bun:"table:result_snapshots,alias:rs"`

	TenantID       int64     `bun:"tenant_id,pk" json:"-"`
	ConsultationID int64     `bun:"consultation_id,pk" json:"consultation_id"`
	Body           string    `bun:"body,notnull" json:"-"`
	SHA256         string    `bun:"sha256,notnull" json:"sha256"`
	TakenAt        time.Time `bun:"taken_at,notnull" json:"taken_at"`
}

// SetTenantID lets store.Scope stamp the snapshot with its tenant.
func (s *Snapshot) SetTenantID(id int64) { s.TenantID = id }

// Render turns a catalog entry into the results JSON that the results API serves (the HTTP
// layer owns that format: httpapi.ResultsJSON).
type Render func(*catalog.Entry) ([]byte, error)

// Service takes, reads and verifies snapshots.
type Service struct {
	db        *bun.DB
	log       *audit.Log
	proposals *proposal.Service
	votes     *vote.Service
	render    Render
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// New wires the snapshot service.
func New(db *bun.DB, log *audit.Log, ps *proposal.Service, vs *vote.Service, render Render) *Service {
	return &Service{db: db, log: log, proposals: ps, votes: vs, render: render, Now: time.Now}
}

// Sum is the hex SHA-256 of a snapshot body.
func Sum(body []byte) string {
	h := sha256.Sum256(body)
	return hex.EncodeToString(h[:])
}

// Take renders the results of c, a consultation being published (its status already
// Published), and stores them in tx, the transaction that publishes it. It reads the
// accepted proposals and counters outside tx: once closed, a consultation takes no vote and
// no moderation decision, so they cannot change meanwhile. It returns the SHA-256 stored.
func (s *Service) Take(ctx context.Context, tx store.Scope, c consultation.Consultation) (string, error) {
	e, err := s.entry(ctx, c, nil)
	if err != nil {
		return "", err
	}
	body, err := s.render(e)
	if err != nil {
		return "", fmt.Errorf("render results of consultation %d: %w", c.ID, err)
	}
	snap := Snapshot{ConsultationID: c.ID, Body: string(body), SHA256: Sum(body), TakenAt: s.Now().UTC().Truncate(time.Microsecond)}
	if _, err := tx.Insert(&snap).Exec(ctx); err != nil {
		if store.IsUniqueViolation(err) {
			return "", errs.E(errs.Conflict, "the results of consultation %q were frozen already", c.Slug)
		}
		return "", fmt.Errorf("store results snapshot: %w", err)
	}
	return snap.SHA256, nil
}

// Freeze takes the snapshot of a consultation published before snapshots existed, from its
// results as they are now, and audits it (results.snapshot). The consultation keeps its
// publication date; the snapshot's taken_at says it came later. errs.Conflict if the
// consultation is not published or has a snapshot already.
func (s *Service) Freeze(ctx context.Context, actor string, c consultation.Consultation) (string, error) {
	if c.Status != consultation.Published {
		return "", errs.E(errs.Conflict, "consultation %q is %s: its results are frozen when it is published", c.Slug, c.Status)
	}
	var sum string
	err := store.For(s.db, c.TenantID).Tx(ctx, func(ctx context.Context, tx store.Scope) error {
		var err error
		if sum, err = s.Take(ctx, tx, c); err != nil {
			return err
		}
		_, err = s.log.AppendIn(ctx, tx, audit.Record{
			Actor: actor, Action: "results.snapshot", Object: "consultation:" + c.Slug,
			Detail: map[string]any{"results_sha256": sum, "published_at": c.PublishedAt},
		})
		return err
	})
	return sum, err
}

// Get returns the snapshot of a consultation; errs.NotFound if it has none (not published,
// or published before snapshots existed).
func (s *Service) Get(ctx context.Context, tenantID, consultationID int64) (Snapshot, error) {
	var snap Snapshot
	err := store.For(s.db, tenantID).Select(&snap).Where("rs.consultation_id = ?", consultationID).Limit(1).Scan(ctx)
	if store.IsNoRows(err) {
		return snap, errs.E(errs.NotFound, "the results of this consultation have no published snapshot")
	}
	if err != nil {
		return snap, fmt.Errorf("read results snapshot of consultation %d: %w", consultationID, err)
	}
	return snap, nil
}

// entry builds c's catalog entry from the stored accepted proposals, bursts and counters,
// the counters replaced by recounted ones where given.
func (s *Service) entry(ctx context.Context, c consultation.Consultation, recounted map[int64]results.Counts) (*catalog.Entry, error) {
	accepted, err := s.proposals.Accepted(ctx, c.TenantID, c.ID)
	if err != nil {
		return nil, err
	}
	counts := recounted
	if counts == nil {
		if counts, err = s.votes.Counts(ctx, c.TenantID, c.ID); err != nil {
			return nil, err
		}
	}
	bursts, err := s.votes.Bursts(ctx, c.TenantID, c.ID)
	if err != nil {
		return nil, err
	}
	e := catalog.NewEntry(c, accepted, counts, bursts)
	// The opinion groups are frozen too, computed now from the raw sequence votes (the
	// catalog computes them in the background), dated by the publication so that a later
	// verification renders the same bytes.
	o, err := s.votes.Opinions(ctx, c.TenantID, c.ID, results.DefaultGroupsConfig())
	if err != nil {
		return nil, err
	}
	at := time.Time{}
	if c.PublishedAt != nil {
		at = c.PublishedAt.UTC().Truncate(time.Second) // as stored by either database
	}
	// The votes outside the sequence per origin too (read from the raw votes, as the catalog
	// does in the background).
	beside, err := s.votes.BesideByOrigin(ctx, c.TenantID, c.ID)
	if err != nil {
		return nil, err
	}
	e.FixOpinions(&catalog.Opinions{Opinions: o, ComputedAt: at, BesideOrigins: beside})
	return e, nil
}

// Report is what Verify found.
type Report struct {
	Consultation string    `json:"consultation"`
	SHA256       string    `json:"sha256"` // as stored with the snapshot (and shown on the results page)
	TakenAt      time.Time `json:"taken_at"`
	// BodySHA256 is the SHA-256 of the stored body, computed now: it differs from SHA256 if
	// the body was changed after publication.
	BodySHA256 string `json:"body_sha256"`
	// RecomputedSHA256 is the SHA-256 of the results rebuilt from the raw votes.
	RecomputedSHA256 string `json:"recomputed_sha256"`
	Votes            int64  `json:"votes"` // raw votes read
	Match            bool   `json:"match"`
	// Differences names each difference found, in words (at most MaxDifferences).
	Differences []string `json:"differences"`
}

// MaxDifferences bounds the differences a report lists.
const MaxDifferences = 50

// Verify checks a published consultation's snapshot three ways: its body still hashes to
// its stored SHA-256; the stored counters are those of the raw votes; and the results
// rebuilt from the raw votes, by the renderer that made the snapshot, are the snapshot byte
// for byte. It changes nothing. A consultation without a snapshot is a conflict.
func (s *Service) Verify(ctx context.Context, c consultation.Consultation) (Report, error) {
	snap, err := s.Get(ctx, c.TenantID, c.ID)
	if errs.Is(err, errs.NotFound) {
		return Report{}, errs.E(errs.Conflict, "consultation %q has no results snapshot to verify: it is %s (a snapshot is taken when results are published)", c.Slug, c.Status)
	}
	if err != nil {
		return Report{}, err
	}
	r := Report{Consultation: c.Slug, SHA256: snap.SHA256, TakenAt: snap.TakenAt, BodySHA256: Sum([]byte(snap.Body)), Differences: []string{}}
	if r.BodySHA256 != r.SHA256 {
		r.add(fmt.Sprintf("the stored snapshot was changed: its body hashes to %s, not to the published %s", r.BodySHA256, r.SHA256))
	}
	diff, err := s.votes.Recompute(ctx, c.TenantID, c.ID, false, nil)
	if err != nil {
		return Report{}, err
	}
	r.Votes = diff.Votes
	stored, err := s.votes.Counts(ctx, c.TenantID, c.ID)
	if err != nil {
		return Report{}, err
	}
	// The raw votes' counts are the stored ones but where Recompute found them different.
	recounted := make(map[int64]results.Counts, len(stored))
	for id, n := range stored {
		recounted[id] = n
	}
	for _, m := range diff.Mismatches {
		recounted[m.ProposalID] = m.Recomputed
		r.add(fmt.Sprintf("proposal %d: stored counters differ from its raw votes (%s)", m.ProposalID, countsDiff(m.Stored, m.Recomputed)))
	}
	e, err := s.entry(ctx, c, recounted)
	if err != nil {
		return Report{}, err
	}
	body, err := s.render(e)
	if err != nil {
		return Report{}, fmt.Errorf("render results of consultation %d: %w", c.ID, err)
	}
	r.RecomputedSHA256 = Sum(body)
	if string(body) != snap.Body {
		ds, err := jsonDiff([]byte(snap.Body), body)
		if err != nil {
			r.add("the results rebuilt from the raw votes differ from the snapshot, which is not valid JSON: " + err.Error())
		}
		for _, d := range ds {
			r.add("results rebuilt from the raw votes differ from the snapshot: " + d)
		}
		if err == nil && len(ds) == 0 {
			r.add("the results rebuilt from the raw votes differ from the snapshot in their encoding")
		}
	}
	r.Match = len(r.Differences) == 0
	return r, nil
}

func (r *Report) add(d string) {
	switch {
	case len(r.Differences) < MaxDifferences:
		r.Differences = append(r.Differences, d)
	case len(r.Differences) == MaxDifferences:
		r.Differences = append(r.Differences, "… and more differences")
	}
}

// countsDiff says which counters of a proposal differ, as "stored → from votes".
func countsDiff(stored, raw results.Counts) string {
	var out []byte
	add := func(name string, a, b int64) {
		if a == b {
			return
		}
		if len(out) > 0 {
			out = append(out, ", "...)
		}
		out = fmt.Appendf(out, "%s %d → %d", name, a, b)
	}
	for t := range results.Trust(results.NumTrusts) {
		for ki, k := range results.Keys() {
			add(t.String()+" "+string(k), stored.Votes[t][ki], raw.Votes[t][ki])
		}
		for qi, q := range results.Qualifications() {
			add(t.String()+" "+string(q), stored.Quals[t][qi], raw.Quals[t][qi])
		}
	}
	return string(out)
}
