package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/snapshot"
	"github.com/concorde-civic/concorde/core/spreadsheet"
	"github.com/concorde-civic/concorde/core/vote"
)

// resultItem is one proposal in the results.
type resultItem struct {
	ID      int64          `json:"id"`
	Content string         `json:"content"`
	Themes  []string       `json:"themes"`
	Scores  results.Scores `json:"scores"`
	Bursts  int            `json:"direct_link_bursts,omitempty"`
	// BesideByOrigin is scores.beside split by where the votes were cast: direct (a shared
	// link or the proposal's page), search, results (the results page) and ignored (sequence
	// cards of a participant who had not earned full weight). Published, never counted. Read
	// from the raw votes in the background with the opinion groups (absent while they are
	// pending, and as of their computed_at while votes come in).
	BesideByOrigin map[string]results.Beside `json:"beside_by_origin,omitempty"`
	Key            string                    `json:"key,omitempty"`
	// Opinions: consensus across opinion groups and bridging, once computed (see opinion_groups).
	Opinions *results.ProposalOpinions `json:"opinions,omitempty"`
}

// verifiedOpinions is the opinion groups recomputed for an audit, beside the published ones.
type verifiedOpinions struct {
	Digest          string `json:"digest"`
	Votes           int    `json:"sequence_votes"`
	Participants    int    `json:"participants"`
	GroupSizes      []int  `json:"group_sizes"`
	PublishedDigest string `json:"published_digest,omitempty"`
	PublishedVotes  int    `json:"published_sequence_votes,omitempty"`
	// Match is whether the digests agree; absent when the published groups are not
	// computed yet or were computed from another number of votes (still open).
	Match *bool `json:"match,omitempty"`
}

// opinionsSummary says which opinion groups the results' per-proposal opinions come from.
type opinionsSummary struct {
	Pending      bool       `json:"pending"` // not computed yet: computed in the background, try again shortly
	ComputedAt   *time.Time `json:"computed_at,omitempty"`
	Votes        int        `json:"sequence_votes"`
	Participants int        `json:"participants"` // placed in a group (at least 7 sequence votes)
	GroupSizes   []int      `json:"group_sizes"`
	Silhouette   float64    `json:"silhouette"`
	BridgingMean float64    `json:"bridging_mean"` // μ of the bridging model
	Digest       string     `json:"digest"`        // compare with results/verify or concorde results recompute
	// CoalescedGroups is how many groups of sessions from one source that vote alike count
	// as one participant each in the scores (results.Coalesce), CoalescedSessions the
	// sessions in them. Part of the digest.
	CoalescedGroups   int `json:"coalesced_groups"`
	CoalescedSessions int `json:"coalesced_sessions"`
}

type resultsResponse struct {
	Consultation string       `json:"consultation"`
	Question     string       `json:"question"`
	Status       string       `json:"status"`
	Theme        string       `json:"theme,omitempty"`
	Proposals    int          `json:"proposals"`
	Votes        int64        `json:"votes"`
	TrollVotes   int64        `json:"troll_votes"`
	Consensus    []resultItem `json:"consensus"`
	Controversy  []resultItem `json:"controversy"`
	Rejection    []resultItem `json:"rejection"`
	Limbo        []resultItem `json:"limbo"`
	Undetermined []resultItem `json:"undetermined"` // enough votes, but no zone's thresholds cleared by the intervals
	NotEnough    []resultItem `json:"not_enough_votes"`
	Rules        string       `json:"rules"`
	// OpinionGroups is the Pol.is opinion groups and Community Notes bridging model the
	// proposals' opinions come from.
	OpinionGroups opinionsSummary `json:"opinion_groups"`
	// SnapshotSHA256 is, once the results are published, the SHA-256 of their frozen
	// snapshot (what export.json serves byte for byte); results are then read from it.
	SnapshotSHA256 string `json:"snapshot_sha256,omitempty"`

	// SequenceVotes are the votes scores and zones are made of; BesideVotes, those cast
	// through a shared link or a search, published beside (each item's scores.beside).
	SequenceVotes int64 `json:"sequence_votes"`
	BesideVotes   int64 `json:"beside_votes"`
}

type verifyResponse struct {
	Consultation string           `json:"consultation"`
	Match        bool             `json:"match"`
	Diff         vote.Diff        `json:"diff"`               // stored counters against the raw votes
	Opinions     verifiedOpinions `json:"opinions"`           // opinion groups recomputed from the raw votes
	Snapshot     *snapshot.Report `json:"snapshot,omitempty"` // published results against the raw votes
}

// resultsEntry is the entry of :slug if the caller may see its results: everyone once
// published, staff and auditors before.
func (s *Server) resultsEntry(c *fiber.Ctx) (*catalog.Entry, error) {
	e, err := s.Catalog.BySlug(c.UserContext(), tenantID(c), c.Params("slug"))
	if err != nil {
		return nil, err
	}
	if err := e.Consultation.CheckResultsVisible(s.viewer(c)); err != nil {
		if errs.KindOf(err) == errs.Forbidden {
			return e, err // the consultation is visible, its results not yet: pages say so
		}
		return nil, err
	}
	return e, nil
}

// Results builds the results of an entry, optionally for one theme, with vote keys for the
// caller while the consultation is open (the results page lets them vote).
func (s *Server) Results(c *fiber.Ctx, e *catalog.Entry, theme string) (resultsResponse, error) {
	var key func(id int64) string
	if e.Consultation.IsOpen(s.now()) {
		key = func(id int64) string { return s.key(c, id, vote.Results) }
	}
	return s.resultsOf(e, theme, 0, key)
}

// ResultsJSON is the results of an entry as the results API serves them in full (every
// proposal, no theme): what publishing freezes (core/snapshot) and what export.json serves.
func ResultsJSON(e *catalog.Entry) ([]byte, error) {
	r, err := buildResults(e, "", 0, nil)
	if err != nil {
		return nil, err
	}
	return json.Marshal(r)
}

// frozen is the snapshot of a published consultation, read once per catalog load.
type frozen struct {
	body []byte
	sum  string
	r    resultsResponse
}

// frozenOf returns the snapshot of e's consultation if it is published and has one (one
// published before snapshots existed has none: its results are still computed).
func (s *Server) frozenOf(e *catalog.Entry) (*frozen, error) {
	if e.Consultation.Status != consultation.Published || s.Snapshots == nil {
		return nil, nil
	}
	return catalog.Remember(e, "snapshot", func(e *catalog.Entry) (*frozen, error) {
		// Not the request's context: a visitor leaving must not leave an error for the others.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		snap, err := s.Snapshots.Get(ctx, e.Consultation.TenantID, e.Consultation.ID)
		if errs.Is(err, errs.NotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		f := &frozen{body: []byte(snap.Body), sum: snap.SHA256}
		if err := json.Unmarshal(f.body, &f.r); err != nil {
			return nil, fmt.Errorf("decode results snapshot of consultation %d: %w", e.Consultation.ID, err)
		}
		f.r.SnapshotSHA256 = snap.SHA256
		return f, nil
	})
}

// resultsOf is the results of an entry: for a published consultation, its snapshot, kept to
// one theme by filtering its lists (zones and order stay as published); otherwise ranked
// from the entry's counters. limit bounds each list (0: all); key signs vote keys.
func (s *Server) resultsOf(e *catalog.Entry, theme string, limit int, key func(id int64) string) (resultsResponse, error) {
	f, err := s.frozenOf(e)
	switch {
	case err != nil:
		return resultsResponse{}, err
	case f == nil:
		return buildResults(e, theme, limit, key)
	}
	if theme != "" && !e.Consultation.HasTheme(theme) {
		return resultsResponse{}, errs.Field("theme", "this consultation has no theme %q", theme)
	}
	out := f.r
	out.Theme = theme
	keep := func(list []resultItem) []resultItem {
		xs := make([]resultItem, 0, len(list))
		for _, it := range list {
			if limit > 0 && len(xs) == limit {
				break
			}
			if theme == "" || slices.Contains(it.Themes, theme) {
				xs = append(xs, it)
			}
		}
		return xs
	}
	out.Consensus, out.Controversy, out.Rejection = keep(f.r.Consensus), keep(f.r.Controversy), keep(f.r.Rejection)
	out.Limbo, out.Undetermined, out.NotEnough = keep(f.r.Limbo), keep(f.r.Undetermined), keep(f.r.NotEnough)
	return out, nil
}

// buildResults ranks an entry's proposals into the zones; limit bounds each list (0: all);
// key, when set, signs a vote key for each proposal.
func buildResults(e *catalog.Entry, theme string, limit int, key func(id int64) string) (resultsResponse, error) {
	r := e.Ranking()
	ranking := r.Ranking
	if theme != "" {
		if !e.Consultation.HasTheme(theme) {
			return resultsResponse{}, errs.Field("theme", "this consultation has no theme %q", theme)
		}
		ranking = results.Rank(results.ByTheme(r.Items, theme), e.ScoreConfig())
	}
	out := resultsResponse{Consultation: e.Consultation.Slug, Question: e.Consultation.Question, Status: string(e.Consultation.Status), Theme: theme,
		Proposals: len(e.Proposals), Rules: "https://github.com/concorde-civic/concorde/blob/main/core/results/doc.go"}
	for _, n := range e.Counts {
		out.Votes += n.Total(results.Sequence) + n.Total(results.Trusted)
		out.TrollVotes += n.Total(results.Troll)
		out.SequenceVotes += n.Total(results.Sequence)
		out.BesideVotes += n.Total(results.Trusted)
	}
	op := e.Opinions()
	if op == nil {
		out.OpinionGroups.Pending = true
	} else {
		at := op.ComputedAt
		out.OpinionGroups = opinionsSummary{ComputedAt: &at, Votes: op.Votes, Participants: op.Participants, GroupSizes: op.GroupSizes,
			Silhouette: op.Silhouette, BridgingMean: op.Mean, Digest: op.Digest}
		if c := op.Coalesced; c != nil {
			out.OpinionGroups.CoalescedGroups, out.OpinionGroups.CoalescedSessions = c.Groups, c.Sessions
		}
	}
	cfg := e.ScoreConfig()
	items := func(list []results.Ranked) []resultItem {
		if limit > 0 && len(list) > limit {
			list = list[:limit]
		}
		xs := make([]resultItem, 0, len(list))
		for _, x := range list {
			p := e.Proposals[x.ProposalID]
			it := resultItem{ID: x.ProposalID, Content: p.Content, Themes: p.Themes, Scores: x.Scores, Bursts: e.Bursts[x.ProposalID]}
			if key != nil {
				it.Key = key(x.ProposalID)
			}
			if op != nil {
				if po, ok := op.Of(x.ProposalID); ok {
					it.Opinions = &po
				}
				it.BesideByOrigin = results.BesideByOrigin(op.BesideOrigins[x.ProposalID], cfg)
			}
			xs = append(xs, it)
		}
		return xs
	}
	out.Consensus, out.Controversy, out.Rejection = items(ranking.Consensus), items(ranking.Controversy), items(ranking.Rejection)
	out.Limbo, out.Undetermined, out.NotEnough = items(ranking.Limbo), items(ranking.Undetermined), items(ranking.NotEnough)
	return out, nil
}

// sendMemo answers with a response built once per catalog entry.
func sendMemo(c *fiber.Ctx, e *catalog.Entry, key, contentType string, build func(*catalog.Entry) ([]byte, error)) error {
	b, err := e.Memo(key, build)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, contentType)
	return c.Send(b)
}

func (s *Server) jsonOf(theme string, limit int) func(*catalog.Entry) ([]byte, error) {
	return func(e *catalog.Entry) ([]byte, error) {
		r, err := s.resultsOf(e, theme, limit, nil)
		if err != nil {
			return nil, err
		}
		return json.Marshal(r)
	}
}

func (s *Server) resultRoutes() {
	s.handle(Route{Method: get, Path: "/api/v1/consultations/:slug/results", Perm: tenant("results", "read"), Summary: "Results: consensus, controversy, rejection, limbo, undetermined and not-enough-votes lists with scores and intervals (theme; limit per list, default 100)", Response: resultsResponse{}}, func(c *fiber.Ctx) error {
		e, err := s.resultsEntry(c)
		if err != nil {
			return err
		}
		limit, err := intQuery(c, "limit", 100)
		if err != nil {
			return err
		}
		// Copied: the builder is kept in the entry's memo and run again at every reload, long
		// after this request's buffers hold another request.
		theme := strings.Clone(c.Query("theme"))
		if theme != "" && !e.Consultation.HasTheme(theme) {
			return errs.Field("theme", "this consultation has no theme %q", theme)
		}
		// A limit past the number of proposals gives every list whole: one memo for all of them.
		limit = min(limit, len(e.Proposals))
		return sendMemo(c, e, "results|"+theme+"|"+strconv.Itoa(limit), fiber.MIMEApplicationJSONCharsetUTF8, s.jsonOf(theme, limit))
	})

	s.handle(Route{Method: get, Path: "/api/v1/consultations/:slug/export.json", Perm: tenant("exports", "read"), Summary: "Open data: every proposal with its counts, scores and zone (JSON); once published, the frozen snapshot itself, whose SHA-256 is published", Response: resultsResponse{}}, func(c *fiber.Ctx) error {
		e, err := s.resultsEntry(c)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-results.json"`, e.Consultation.Slug))
		f, err := s.frozenOf(e)
		if err != nil {
			return err
		}
		if f != nil { // the snapshot itself: its SHA-256 is the one published
			c.Set("X-Results-SHA256", f.sum)
			c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
			return c.Send(f.body)
		}
		return sendMemo(c, e, "export.json", fiber.MIMEApplicationJSONCharsetUTF8, s.jsonOf("", 0))
	})

	s.handle(Route{Method: get, Path: "/api/v1/consultations/:slug/export.csv", Perm: tenant("exports", "read"), Summary: "Open data: every proposal with its counts per trust, scores, 95 % intervals and zone (CSV, UTF-8 with a byte order mark; sep=semicolon for French spreadsheets: semicolons and decimal commas)"}, func(c *fiber.Ctx) error {
		e, err := s.resultsEntry(c)
		if err != nil {
			return err
		}
		d, err := spreadsheet.DialectOf(c.Query("sep"))
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-results.csv"`, e.Consultation.Slug))
		return sendMemo(c, e, "export.csv|"+d.Name(), "text/csv; charset=utf-8", s.csvOf(d))
	})

	s.handle(Route{Method: get, Path: "/api/v1/consultations/:slug/votes.jsonl", Perm: tenant("raw_votes", "read"), Summary: "Raw votes, one JSON object a line, participants pseudonymised per consultation (auditors)", Response: vote.RawVote{}}, func(c *fiber.Ctx) error {
		e, err := s.entryFor(c)
		if err != nil {
			return err
		}
		ctx, tid, cid, secret := c.UserContext(), tenantID(c), e.Consultation.ID, s.Secret
		c.Set(fiber.HeaderContentType, "application/x-ndjson")
		c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-votes.jsonl"`, e.Consultation.Slug))
		c.Context().SetBodyStreamWriter(fasthttp.StreamWriter(func(w *bufio.Writer) {
			enc := json.NewEncoder(w)
			if err := s.Votes.Export(ctx, tid, cid, secret, func(v vote.RawVote) error { return enc.Encode(v) }); err != nil {
				s.Log.Error("export raw votes", "error", err.Error())
			}
		}))
		return nil
	})

	s.handle(Route{Method: get, Path: "/api/v1/consultations/:slug/results/verify", Perm: tenant("audit", "read"), Summary: "Recompute every counter and the opinion groups from the raw votes and compare with what results are built from; once published, also rebuild the results from the raw votes and compare them with the frozen snapshot and its SHA-256 (auditors)", Response: verifyResponse{}}, func(c *fiber.Ctx) error {
		e, err := s.entryFor(c)
		if err != nil {
			return err
		}
		d, err := s.Votes.Recompute(c.UserContext(), tenantID(c), e.Consultation.ID, false, nil)
		if err != nil {
			return err
		}
		// The opinion groups again, from the raw sequence votes, with the published rules:
		// the same votes give the same digest. Comparable with the published groups only
		// when they were computed from as many votes (always, once the consultation is closed).
		o, err := s.Votes.Opinions(c.UserContext(), tenantID(c), e.Consultation.ID, results.DefaultGroupsConfig())
		if err != nil {
			return err
		}
		ov := verifiedOpinions{Digest: o.Digest, Votes: o.Votes, Participants: o.Participants, GroupSizes: o.GroupSizes}
		if pub := e.Opinions(); pub != nil {
			ov.PublishedDigest, ov.PublishedVotes = pub.Digest, pub.Votes
			if pub.Votes == o.Votes {
				m := pub.Digest == o.Digest
				ov.Match = &m
			}
		}
		out := verifyResponse{Consultation: e.Consultation.Slug, Match: len(d.Mismatches) == 0 && (ov.Match == nil || *ov.Match), Diff: d, Opinions: ov}
		if f, err := s.frozenOf(e); err != nil {
			return err
		} else if f != nil {
			r, err := s.Snapshots.Verify(c.UserContext(), e.Consultation)
			if err != nil {
				return err
			}
			out.Snapshot, out.Match = &r, out.Match && r.Match
		}
		return c.JSON(out)
	})
}

// sendCSV answers with a spreadsheet file to download.
func sendCSV(c *fiber.Ctx, filename string, body []byte) error {
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s"`, filename))
	return c.Send(body)
}

// csvOf writes every proposal's counts, scores and zone as a spreadsheet file (open data) in
// dialect d: rates and scores with 4 decimals, a decimal comma in the French dialect.
func (s *Server) csvOf(d spreadsheet.Dialect) func(e *catalog.Entry) ([]byte, error) {
	return func(e *catalog.Entry) ([]byte, error) {
		out, err := s.resultsOf(e, "", 0, nil)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		w := spreadsheet.NewWriter(&buf, d)
		ff := func(f float64) string { return w.Float(f, 4) }
		trusts := []results.Trust{results.Sequence, results.Trusted, results.Troll}
		header := []string{"proposal_id", "content", "themes", "zone", "top", "controversy", "rejection", "engagement", "adhesion",
			"agree_rate", "disagree_rate", "neutral_rate", "weighted_votes"}
		for _, t := range trusts {
			for _, k := range results.Keys() {
				header = append(header, t.String()+"_"+string(k))
			}
		}
		for _, q := range results.Qualifications() {
			header = append(header, string(q))
		}
		header = append(header, "beside_votes", "beside_agree_rate", "beside_disagree_rate", "beside_neutral_rate")
		for _, o := range results.BesideOrigins() {
			header = append(header, "beside_"+o+"_votes", "beside_"+o+"_agree_rate", "beside_"+o+"_disagree_rate", "beside_"+o+"_neutral_rate")
		}
		header = append(header, "direct_link_bursts", "group_aware_consensus", "consensus_across_groups", "bridging_intercept", "bridging_factor", "bridging")
		header = append(header, "agree_low", "agree_high", "disagree_low", "disagree_high", "neutral_low", "neutral_high", "top_low", "top_high", "rejection_low", "rejection_high")
		// The sequence votes the rates were read from, sessions counted as one by coalescing
		// counted once (results.Scores.Counted): they sum to weighted_votes, where the
		// sequence_* columns are the raw counts.
		for _, k := range results.Keys() {
			header = append(header, "counted_"+string(k))
		}
		w.Write(header...)
		cfg := e.ScoreConfig()
		for _, list := range [][]resultItem{out.Consensus, out.Controversy, out.Rejection, out.Limbo, out.Undetermined, out.NotEnough} {
			for _, it := range list {
				sc := it.Scores
				row := []string{spreadsheet.Int(it.ID), spreadsheet.Text(e.Consultation.Prefix + " " + it.Content), spreadsheet.Text(strings.Join(it.Themes, "|")), string(sc.Zone),
					ff(sc.Top), ff(sc.Controversy), ff(sc.Rejection), ff(sc.Engagement), ff(sc.Adhesion),
					ff(sc.Rates["agree"]), ff(sc.Rates["disagree"]), ff(sc.Rates["neutral"]), ff(sc.WeightedVotes)}
				for _, tr := range trusts {
					for ki := range results.Keys() {
						row = append(row, spreadsheet.Int(sc.Votes.Votes[tr][ki]))
					}
				}
				for qi := range results.Qualifications() {
					var n int64
					for _, tr := range []results.Trust{results.Sequence, results.Trusted} {
						n += sc.Votes.Quals[tr][qi]
					}
					row = append(row, spreadsheet.Int(n))
				}
				row = append(row, spreadsheet.Int(sc.Beside.Votes), ff(sc.Beside.Rates["agree"]), ff(sc.Beside.Rates["disagree"]), ff(sc.Beside.Rates["neutral"]))
				for _, o := range results.BesideOrigins() {
					b, ok := it.BesideByOrigin[o]
					if !ok { // a snapshot frozen before votes were published per origin
						row = append(row, "", "", "", "")
						continue
					}
					row = append(row, spreadsheet.Int(b.Votes), ff(b.Rates["agree"]), ff(b.Rates["disagree"]), ff(b.Rates["neutral"]))
				}
				row = append(row, spreadsheet.Int(it.Bursts))
				if o := it.Opinions; o != nil {
					row = append(row, ff(o.GroupAware), string(o.Across), ff(o.Intercept), ff(o.Factor), strconv.FormatBool(o.Bridging))
				} else {
					row = append(row, "", "", "", "", "")
				}
				for _, k := range results.Keys() {
					iv := sc.Intervals[string(k)]
					row = append(row, ff(iv.Low), ff(iv.High))
				}
				row = append(row, ff(sc.TopInterval.Low), ff(sc.TopInterval.High), ff(sc.RejectionInterval.Low), ff(sc.RejectionInterval.High))
				counted, _ := sc.Counted(cfg)
				for _, x := range counted {
					row = append(row, ff(x))
				}
				w.Write(row...)
			}
		}
		if err := w.Flush(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
}
