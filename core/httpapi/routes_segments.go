package httpapi

import (
	"context"
	"sort"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/vote"
)

// segmentItem is one proposal's result within one segment.
type segmentItem struct {
	ID       int64        `json:"id"`
	Zone     results.Zone `json:"zone"`
	Agree    float64      `json:"agree"`
	Disagree float64      `json:"disagree"`
	Neutral  float64      `json:"neutral"`
	Votes    float64      `json:"weighted_votes"`
}

type segmentsResponse struct {
	Consultation string                   `json:"consultation"`
	Dimension    string                   `json:"dimension"`
	Segments     map[string][]segmentItem `json:"segments"` // value ("" = not answered) → proposals
}

type weightedResponse struct {
	Consultation string             `json:"consultation"`
	Margins      results.Margins    `json:"margins"`
	Converged    bool               `json:"converged"`
	DesignEffect float64            `json:"design_effect"` // Kish: participants per effective participant
	Cells        []weightedCell     `json:"cells"`
	Zones        map[string][]int64 `json:"zones"` // zone → proposal ids, best first
	Proposals    []segmentItem      `json:"proposals"`
}

type weightedCell results.WeightedCell

type marginsRequest map[string]map[string]float64

func item(id int64, sc results.Scores) segmentItem {
	return segmentItem{ID: id, Zone: sc.Zone, Agree: sc.Rates["agree"], Disagree: sc.Rates["disagree"], Neutral: sc.Rates["neutral"], Votes: sc.WeightedVotes}
}

func (s *Server) segmentRoutes() {
	s.handle(Route{Method: get, Path: "/api/v1/consultations/:slug/segments", Perm: tenant("results", "read"), Summary: "Results split by a profile dimension (dimension = age_band, gender or area; \"\" = not answered; \"_merged\" = segments under min_segment_size participants, merged except for auditors)", Response: segmentsResponse{}}, func(c *fiber.Ctx) error {
		e, err := s.resultsEntry(c)
		if err != nil {
			return err
		}
		dim := c.Query("dimension", results.DimensionAgeBand)
		known := false
		for _, d := range results.Dimensions() {
			known = known || d == dim
		}
		if !known {
			return errs.Field("dimension", "dimension must be age_band, gender or area")
		}
		cells, sample, err := s.segmentCells(c, e)
		if err != nil {
			return err
		}
		cells = s.publicCells(c, e, cells, sample, dim)
		out := segmentsResponse{Consultation: e.Consultation.Slug, Dimension: dim, Segments: segmentScores(e, cells, dim)}
		return c.JSON(out)
	})

	s.handle(Route{Method: get, Path: "/api/v1/consultations/:slug/results/weighted", Perm: tenant("results", "read"), Summary: "Results weighted to the site's population margins (raking, with capped weights)", Response: weightedResponse{}}, func(c *fiber.Ctx) error {
		e, err := s.resultsEntry(c)
		if err != nil {
			return err
		}
		margins, err := s.Tenants.Margins(c.UserContext(), tenantID(c))
		if err != nil {
			return err
		}
		if len(margins) == 0 {
			return errs.E(errs.Conflict, "this site has given no population margins to weight results to (PUT /api/v1/tenant/margins)")
		}
		cells, sample, err := s.segmentCells(c, e)
		if err != nil {
			return err
		}
		out, err := weightedScores(e, cells, sample, margins)
		if err != nil {
			return err
		}
		out.Consultation = e.Consultation.Slug
		return c.JSON(out)
	})

	s.handle(Route{Method: get, Path: "/api/v1/tenant/margins", Perm: tenant("tenant", "read"), Summary: "The population margins results can be weighted to", Response: marginsRequest{}}, func(c *fiber.Ctx) error {
		m, err := s.Tenants.Margins(c.UserContext(), tenantID(c))
		if err != nil {
			return err
		}
		return c.JSON(m)
	})

	s.handle(Route{Method: fiber.MethodPut, Path: "/api/v1/tenant/margins", Perm: tenant("tenant", "update"), Summary: "Set the population margins: dimension → value → share (each dimension sums to 1)", Request: marginsRequest{}, Response: marginsRequest{}}, func(c *fiber.Ctx) error {
		var in marginsRequest
		if err := decode(c, &in); err != nil {
			return err
		}
		if err := s.Tenants.SetMargins(c.UserContext(), actor(c), tenantID(c), results.Margins(in)); err != nil {
			return err
		}
		return c.JSON(in)
	})
}

// segmentScores is results.SplitBy as the API shows it: value → proposals by id.
func segmentScores(e *catalog.Entry, cells []vote.CellCounts, dim string) map[string][]segmentItem {
	out := map[string][]segmentItem{}
	for v, scores := range results.SplitBy(cells, dim, e.ScoreConfig()) {
		list := make([]segmentItem, 0, len(scores))
		for id, sc := range scores {
			list = append(list, item(id, sc))
		}
		sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
		out[v] = list
	}
	return out
}

// weightedScores is results.Weigh as the API shows it (Consultation is left for the caller).
func weightedScores(e *catalog.Entry, cells []vote.CellCounts, sample map[results.Profile]int64, margins results.Margins) (weightedResponse, error) {
	ids := make([]int64, 0, len(e.Proposals))
	for id := range e.Proposals {
		ids = append(ids, id)
	}
	w, err := results.Weigh(ids, cells, sample, margins, e.ScoreConfig())
	if err != nil {
		return weightedResponse{}, err
	}
	out := weightedResponse{Margins: margins, Converged: w.Converged, DesignEffect: w.DesignEffect, Zones: map[string][]int64{}}
	for _, c := range w.Cells {
		out.Cells = append(out.Cells, weightedCell(c))
	}
	for id, sc := range w.Scores {
		out.Proposals = append(out.Proposals, item(id, sc))
	}
	sort.Slice(out.Proposals, func(i, j int) bool { return out.Proposals[i].ID < out.Proposals[j].ID })
	r := w.Ranking
	for _, list := range [][]results.Ranked{r.Consensus, r.Controversy, r.Rejection, r.Limbo, r.Undetermined, r.NotEnough} {
		for _, x := range list {
			out.Zones[string(x.Scores.Zone)] = append(out.Zones[string(x.Scores.Zone)], x.ProposalID)
		}
	}
	return out, nil
}

// cellsAndSample is a consultation's votes per proposal and profile cell, and its participants
// per cell.
type cellsAndSample struct {
	cells  []vote.CellCounts
	sample map[results.Profile]int64
}

// segmentCells reads the votes per profile cell once per catalog load (one grouped query
// over every vote: not something a page view may run each time), with the sessions that
// coalescing counts as one counted as one.
func (s *Server) segmentCells(c *fiber.Ctx, e *catalog.Entry) ([]vote.CellCounts, map[results.Profile]int64, error) {
	tid := tenantID(c)
	cs, err := catalog.Remember(e, catalog.Lazy+"segments", func(e *catalog.Entry) (cellsAndSample, error) {
		// Not the request's context: a visitor leaving must not leave an error for the others.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cells, sample, err := s.Votes.Segments(ctx, tid, e.Consultation.ID)
		if err != nil {
			return cellsAndSample{}, err
		}
		// Sessions counted as one in the published scores count as one here too, as of the
		// last opinion groups (like the ranking: see catalog.Entry.Ranking).
		if o := e.Opinions(); o != nil && o.Coalesced != nil {
			profiles, err := s.Votes.Profiles(ctx, tid, o.Coalesced.SessionNames())
			if err != nil {
				return cellsAndSample{}, err
			}
			cells, sample = o.Coalesced.ApplyToCells(cells, sample, profiles)
		}
		return cellsAndSample{cells, sample}, nil
	})
	return cs.cells, cs.sample, err
}
