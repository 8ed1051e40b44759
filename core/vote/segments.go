package vote

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/store"
)

// CellCounts is the votes on one proposal from the participants of one profile cell, as
// core/results splits and weighs them.
type CellCounts = results.CellCounts

// Segments counts a consultation's votes per proposal and profile cell, for results split
// or weighted by demographic segment. One grouped query; a few thousand rows for thousands of
// proposals, since profile cells are few.
func (s *Service) Segments(ctx context.Context, tenantID, consultationID int64) ([]CellCounts, map[results.Profile]int64, error) {
	if err := checkTenant(tenantID); err != nil {
		return nil, nil, err
	}
	var rows []struct {
		ProposalID     int64            `bun:"proposal_id"`
		AgeBand        string           `bun:"age_band"`
		Gender         string           `bun:"gender"`
		Area           string           `bun:"area"`
		Trust          results.Trust    `bun:"trust"`
		KeyIndex       int16            `bun:"vote"`
		Qualifications QualificationSet `bun:"qualifications"`
		N              int64            `bun:"n"`
	}
	sc := store.For(s.db, tenantID)
	err := sc.SelectFrom("votes", "v").
		Join("LEFT JOIN participant_profiles AS pp ON pp.tenant_id = v.tenant_id AND pp.participant = v.participant").
		ColumnExpr("v.proposal_id, COALESCE(pp.age_band, '') AS age_band, COALESCE(pp.gender, '') AS gender, COALESCE(pp.area, '') AS area").
		ColumnExpr("v.trust, v.vote, v.qualifications, COUNT(*) AS n").
		Where("v.consultation_id = ?", consultationID).
		GroupExpr("v.proposal_id, pp.age_band, pp.gender, pp.area, v.trust, v.vote, v.qualifications").
		Scan(ctx, &rows)
	if err != nil {
		return nil, nil, err
	}
	type cellKey struct {
		id int64
		p  results.Profile
	}
	cells := map[cellKey]*results.Counts{}
	var order []cellKey
	keys := results.Keys()
	for _, r := range rows {
		k := cellKey{r.ProposalID, results.Profile{AgeBand: r.AgeBand, Gender: r.Gender, Area: r.Area}}
		c := cells[k]
		if c == nil {
			c = &results.Counts{}
			cells[k] = c
			order = append(order, k)
		}
		if int(r.KeyIndex) < len(keys) {
			c.Add(r.Trust, keys[r.KeyIndex], r.Qualifications.List(), r.N)
		}
	}
	out := make([]CellCounts, len(order))
	for i, k := range order {
		out[i] = CellCounts{ProposalID: k.id, Profile: k.p, Counts: *cells[k]}
	}
	// Participants per cell: the sample that raking weights to the population (a participant
	// has one profile, so counting them per profile cell counts each once). Only participants
	// with a sequence vote are in it (rule 8 of the package comment): sessions that voted only
	// through links or with troll keys claim a profile without taking part in the sample.
	var people []struct {
		AgeBand string `bun:"age_band"`
		Gender  string `bun:"gender"`
		Area    string `bun:"area"`
		N       int64  `bun:"n"`
	}
	err = sc.SelectFrom("votes", "v").
		Join("LEFT JOIN participant_profiles AS pp ON pp.tenant_id = v.tenant_id AND pp.participant = v.participant").
		ColumnExpr("COALESCE(pp.age_band, '') AS age_band, COALESCE(pp.gender, '') AS gender, COALESCE(pp.area, '') AS area, COUNT(DISTINCT v.participant) AS n").
		Where("v.consultation_id = ? AND v.trust = ?", consultationID, results.Sequence).
		GroupExpr("pp.age_band, pp.gender, pp.area").
		Scan(ctx, &people)
	if err != nil {
		return nil, nil, err
	}
	sample := make(map[results.Profile]int64, len(people))
	for _, p := range people {
		sample[results.Profile{AgeBand: p.AgeBand, Gender: p.Gender, Area: p.Area}] += p.N
	}
	return out, sample, nil
}

// Profiles returns the profile cell of each of participants (an empty Profile for those who
// gave none), for the sessions that coalescing counts as one (results.Coalesced.ApplyToCells).
func (s *Service) Profiles(ctx context.Context, tenantID int64, participants []string) (map[string]results.Profile, error) {
	if err := checkTenant(tenantID); err != nil {
		return nil, err
	}
	out := make(map[string]results.Profile, len(participants))
	for len(participants) > 0 {
		batch := participants[:min(len(participants), 500)]
		participants = participants[len(batch):]
		var rows []struct {
			Participant string `bun:"participant"`
			AgeBand     string `bun:"age_band"`
			Gender      string `bun:"gender"`
			Area        string `bun:"area"`
		}
		err := store.For(s.db, tenantID).SelectFrom("participant_profiles", "pp").
			Column("pp.participant", "pp.age_band", "pp.gender", "pp.area").
			Where("pp.participant IN (?)", bun.List(batch)).Scan(ctx, &rows)
		if err != nil {
			return nil, fmt.Errorf("read profiles: %w", err)
		}
		for _, r := range rows {
			out[r.Participant] = results.Profile{AgeBand: r.AgeBand, Gender: r.Gender, Area: r.Area}
		}
	}
	return out, nil
}
