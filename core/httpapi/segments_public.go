package httpapi

import (
	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/vote"
)

// publicCells returns the votes per profile cell as a segment split by dimension dim may be
// published to the caller: auditors (and whoever may read the audit log) see every
// segment; everyone else sees the segments with fewer participants than the consultation's
// min_segment_size merged (results.PublicSegments), so that no one's vote can be read from
// a segment of one.
func (s *Server) publicCells(c *fiber.Ctx, e *catalog.Entry, cells []vote.CellCounts, sample map[results.Profile]int64, dim string) []vote.CellCounts {
	if s.may(c, "audit", "read") {
		return cells
	}
	k := e.Consultation.Settings.MinSegmentSize
	if k < 1 {
		k = results.DefaultMinSegmentSize
	}
	sizes := make([]results.Cell, 0, len(sample))
	for p, n := range sample {
		sizes = append(sizes, results.Cell{Profile: p, Count: n})
	}
	published := results.PublicSegments(sizes, dim, k)
	out := make([]vote.CellCounts, 0, len(cells))
	for _, cell := range cells {
		v, ok := published[cell.Profile.Value(dim)]
		if !ok {
			continue
		}
		cell.Profile = withValue(cell.Profile, dim, v)
		out = append(out, cell)
	}
	return out
}

func withValue(p results.Profile, dim, v string) results.Profile {
	switch dim {
	case results.DimensionAgeBand:
		p.AgeBand = v
	case results.DimensionGender:
		p.Gender = v
	case results.DimensionArea:
		p.Area = v
	}
	return p
}
