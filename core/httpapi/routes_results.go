package httpapi

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/vote"
)

// resultItem is one proposal in the results.
type resultItem struct {
	ID      int64          `json:"id"`
	Content string         `json:"content"`
	Themes  []string       `json:"themes"`
	Scores  results.Scores `json:"scores"`
	Bursts  int            `json:"direct_link_bursts,omitempty"`
	Key     string         `json:"key,omitempty"`
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
	NotEnough    []resultItem `json:"not_enough_votes"`
	Rules        string       `json:"rules"`
}

// resultsEntry is the entry of :slug if the caller may see its results: everyone once
// published, staff and auditors before.
func (s *Server) resultsEntry(c *fiber.Ctx) (*catalog.Entry, error) {
	e, err := s.Catalog.BySlug(c.UserContext(), tenantID(c), c.Params("slug"))
	if err != nil {
		return nil, err
	}
	if err := e.Consultation.CheckResultsVisible(s.viewer(c)); err != nil {
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
	return buildResults(e, theme, 0, key)
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
	}
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
			xs = append(xs, it)
		}
		return xs
	}
	out.Consensus, out.Controversy, out.Rejection = items(ranking.Consensus), items(ranking.Controversy), items(ranking.Rejection)
	out.Limbo, out.NotEnough = items(ranking.Limbo), items(ranking.NotEnough)
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

func jsonOf(theme string, limit int) func(*catalog.Entry) ([]byte, error) {
	return func(e *catalog.Entry) ([]byte, error) {
		r, err := buildResults(e, theme, limit, nil)
		if err != nil {
			return nil, err
		}
		return json.Marshal(r)
	}
}

func (s *Server) resultRoutes() {
	s.handle(get, "/api/v1/consultations/:slug/results", tenant("results", "read"), false, func(c *fiber.Ctx) error {
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
		return sendMemo(c, e, "results|"+theme+"|"+strconv.Itoa(limit), fiber.MIMEApplicationJSONCharsetUTF8, jsonOf(theme, limit))
	})
	s.doc(get, "/api/v1/consultations/:slug/results", "Results: consensus, controversy, rejection, limbo and not-enough-votes lists with scores and intervals (theme; limit per list, default 100)", nil, resultsResponse{})

	s.handle(get, "/api/v1/consultations/:slug/export.json", tenant("exports", "read"), false, func(c *fiber.Ctx) error {
		e, err := s.resultsEntry(c)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-results.json"`, e.Consultation.Slug))
		return sendMemo(c, e, "export.json", fiber.MIMEApplicationJSONCharsetUTF8, jsonOf("", 0))
	})
	s.doc(get, "/api/v1/consultations/:slug/export.json", "Open data: every proposal with its counts, scores and zone (JSON)", nil, resultsResponse{})

	s.handle(get, "/api/v1/consultations/:slug/export.csv", tenant("exports", "read"), false, func(c *fiber.Ctx) error {
		e, err := s.resultsEntry(c)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-results.csv"`, e.Consultation.Slug))
		return sendMemo(c, e, "export.csv", "text/csv; charset=utf-8", csvOf)
	})
	s.doc(get, "/api/v1/consultations/:slug/export.csv", "Open data: every proposal with its counts per trust, scores and zone (CSV)", nil, nil)

	s.handle(get, "/api/v1/consultations/:slug/votes.jsonl", tenant("raw_votes", "read"), false, func(c *fiber.Ctx) error {
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
	s.doc(get, "/api/v1/consultations/:slug/votes.jsonl", "Raw votes, one JSON object a line, participants pseudonymised per consultation (auditors)", nil, vote.RawVote{})

	s.handle(get, "/api/v1/consultations/:slug/results/verify", tenant("audit", "read"), false, func(c *fiber.Ctx) error {
		e, err := s.entryFor(c)
		if err != nil {
			return err
		}
		d, err := s.Votes.Recompute(c.UserContext(), tenantID(c), e.Consultation.ID, false, nil)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"consultation": e.Consultation.Slug, "match": len(d.Mismatches) == 0, "diff": d})
	})
	s.doc(get, "/api/v1/consultations/:slug/results/verify", "Recompute every counter from the raw votes and compare with what results are built from (auditors)", nil, vote.Diff{})
}

func ff(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }

// csvSafe stops spreadsheet formula injection from a proposal's text.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// csvOf writes every proposal's counts, scores and zone as CSV (open data).
func csvOf(e *catalog.Entry) ([]byte, error) {
	out, err := buildResults(e, "", 0, nil)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
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
	header = append(header, "direct_link_bursts")
	_ = w.Write(header)
	for _, list := range [][]resultItem{out.Consensus, out.Controversy, out.Rejection, out.Limbo, out.NotEnough} {
		for _, it := range list {
			sc := it.Scores
			row := []string{strconv.FormatInt(it.ID, 10), csvSafe(e.Consultation.Prefix + " " + it.Content), strings.Join(it.Themes, "|"), string(sc.Zone),
				ff(sc.Top), ff(sc.Controversy), ff(sc.Rejection), ff(sc.Engagement), ff(sc.Adhesion),
				ff(sc.Rates["agree"]), ff(sc.Rates["disagree"]), ff(sc.Rates["neutral"]), ff(sc.WeightedVotes)}
			for _, tr := range trusts {
				for ki := range results.Keys() {
					row = append(row, strconv.FormatInt(sc.Votes.Votes[tr][ki], 10))
				}
			}
			for qi := range results.Qualifications() {
				var n int64
				for _, tr := range []results.Trust{results.Sequence, results.Trusted} {
					n += sc.Votes.Quals[tr][qi]
				}
				row = append(row, strconv.FormatInt(n, 10))
			}
			row = append(row, strconv.Itoa(it.Bursts))
			_ = w.Write(row)
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}
