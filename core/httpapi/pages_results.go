package httpapi

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/account"
	"github.com/concorde-civic/concorde/core/booth"
	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/ratelimit"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/sequence"
	"github.com/concorde-civic/concorde/core/vote"
)

// resultRow is one proposal on the results page: its shares of agree, disagree and neutral
// (counted votes, troll votes left out), its qualifications and its place on the chart.
type resultRow struct {
	ID                       int64
	Content                  string
	Zone                     string
	Votes                    int64
	Agree, Disagree, Neutral int // percent
	AgreeX, DisagreeX        int // where the disagree and neutral segments of the bar start
	Quals                    []qualCount
	X, Y                     string // chart coordinates
	Number                   int
	Across                   string // consensus across opinion groups: holds, fails, unknown; "" before groups are computed
	Bridging                 bool   // the bridging model says it bridges the groups
	// Beside: votes through a shared link or a search and their agree share (percent),
	// published beside the result, which they do not move.
	BesideVotes int64
	BesideAgree int
	// BesideOrigins splits them by where they were cast (those with votes only).
	BesideOrigins []besideOrigin
}

// besideOrigin is one origin's votes outside the sequence on a proposal: how many, and the
// agree rate the results publish for them (percent).
type besideOrigin struct {
	Origin string
	Votes  int64
	Agree  int
}

type qualCount struct {
	Name string
	N    int64
}

type resultList struct {
	Zone  string
	Items []resultRow
	More  int // proposals of the zone left out of the page (they are in the open data)
}

// pageListLimit bounds each list on the page; the chart and the exports hold every proposal.
const pageListLimit = 100

// chartView is the SVG chart: proposals placed by agreement (x) and controversy (y).
type chartView struct {
	Width, Height  int
	Left, Top      int
	PlotW, PlotH   int
	MaxControversy string
	Points         []resultRow
	XTicks, YTicks []tick
}

type tick struct {
	Pos   string
	Label string
}

type resultsPage struct {
	C         consultation.Consultation
	R         resultsResponse
	Lists     []resultList
	Chart     chartView
	Published bool
	Segments  segmentsView
}

// segmentsView is the results split by one profile dimension, a table per segment value.
type segmentsView struct {
	Dimension  string
	Dimensions []string
	Weighted   bool   // the tenant gave population margins: each row also shows the weighted result
	Converged  bool   // the weighting reached the margins
	Unweighted string // why the results could not be weighted (a sample that cannot match the margins)
	Groups     []segmentGroup
}

type segmentGroup struct {
	Value string // "" = not answered
	Label string
	Rows  []segmentRow
	More  int // rows left out of the page (they are in the segments API)
}

// segmentRow is one proposal within a segment, with the weighted result when there is one.
type segmentRow struct {
	Number   int
	ID       int64
	Content  string
	Shares   shares
	Weighted *shares
}

// shares is a result as the page shows it: a bar and the same figures in words.
type shares struct {
	Zone                     string
	Agree, Disagree, Neutral int // percent
	AgreeX, DisagreeX        int
	Votes                    int64
}

func sharesOf(it segmentItem) shares {
	sh := shares{Zone: string(it.Zone), Votes: int64(math.Round(it.Votes))}
	// The published rates are smoothed: scale them so that the bar is whole.
	if sum := it.Agree + it.Disagree + it.Neutral; sum > 0 {
		sh.Agree = int(it.Agree*100/sum + 0.5)
		sh.Disagree = int(it.Disagree*100/sum + 0.5)
		sh.Neutral = max(0, 100-sh.Agree-sh.Disagree)
	}
	sh.AgreeX, sh.DisagreeX = sh.Agree, sh.Agree+sh.Disagree
	return sh
}

// segmentsView splits the results by dimension dim, as the segments API does, with the
// proposals numbered as on the chart (and only those of the page's theme).
func (s *Server) segmentsView(c *fiber.Ctx, e *catalog.Entry, dim string, rp resultsPage) (segmentsView, error) {
	ctx := c.UserContext()
	sv := segmentsView{Dimension: dim, Dimensions: results.Dimensions(), Converged: true}
	number := map[int64]int{}
	for _, l := range rp.Lists {
		for _, it := range l.Items {
			number[it.ID] = it.Number
		}
	}
	cells, sample, err := s.segmentCells(c, e)
	if err != nil {
		return sv, err
	}
	var weighted map[int64]shares
	margins, err := s.Tenants.Margins(ctx, tenantID(c))
	if err != nil {
		return sv, err
	}
	if len(margins) > 0 {
		w, err := weightedScores(e, cells, sample, margins)
		if errs.KindOf(err) == errs.Invalid {
			// Say so rather than fail the page: the sample cannot be weighted (yet).
			sv.Unweighted, _ = errs.MessageOf(err)
			margins = nil
		} else if err != nil {
			return sv, err
		}
		sv.Weighted, sv.Converged = len(margins) > 0, w.Converged
		weighted = make(map[int64]shares, len(w.Proposals))
		for _, it := range w.Proposals {
			weighted[it.ID] = sharesOf(it)
		}
	}
	bySegment := segmentScores(e, s.publicCells(c, e, cells, sample, dim), dim)
	values := make([]string, 0, len(bySegment))
	for v := range bySegment {
		if v != "" && v != results.MergedSegment {
			values = append(values, v)
		}
	}
	order := map[string]int{}
	for i, v := range append(append([]string{}, account.AgeBands...), account.Genders...) {
		order[v] = i
	}
	sort.Slice(values, func(i, j int) bool {
		a, b := values[i], values[j]
		if oa, ok := order[a]; ok {
			if ob, ok := order[b]; ok {
				return oa < ob
			}
		}
		return a < b
	})
	if _, ok := bySegment[""]; ok {
		values = append(values, "") // not answered, last
	}
	if _, ok := bySegment[results.MergedSegment]; ok {
		values = append(values, results.MergedSegment) // segments too small to show alone
	}
	for _, v := range values {
		g := segmentGroup{Value: v, Label: s.segmentLabel(c, dim, v)}
		for _, it := range bySegment[v] {
			n, shown := number[it.ID]
			p := e.Proposals[it.ID]
			if !shown || p == nil {
				continue // another theme, or no longer accepted
			}
			if len(g.Rows) == pageListLimit {
				g.More++
				continue
			}
			row := segmentRow{Number: n, ID: it.ID, Content: p.Content, Shares: sharesOf(it)}
			if w, ok := weighted[it.ID]; ok {
				row.Weighted = &w
			}
			g.Rows = append(g.Rows, row)
		}
		sort.Slice(g.Rows, func(i, j int) bool { return g.Rows[i].Number < g.Rows[j].Number })
		if len(g.Rows) > 0 {
			sv.Groups = append(sv.Groups, g)
		}
	}
	return sv, nil
}

// segmentLabel is a segment value in words.
func (s *Server) segmentLabel(c *fiber.Ctx, dim, v string) string {
	switch {
	case v == "":
		return s.tr(c, "segment_none")
	case v == results.MergedSegment:
		return s.tr(c, "segment_merged")
	case dim == results.DimensionAgeBand:
		return s.tr(c, "age_"+v)
	case dim == results.DimensionGender:
		return s.tr(c, "gender_"+v)
	}
	return v
}

const (
	chartW, chartH = 640, 400
	chartLeft      = 56
	chartTop       = 30
	chartRight     = 16
	chartBottom    = 48
)

func (s *Server) resultsPage(r resultsResponse, cs consultation.Consultation) resultsPage {
	rp := resultsPage{C: cs, R: r, Published: cs.Status == consultation.Published}
	ch := chartView{Width: chartW, Height: chartH, Left: chartLeft, Top: chartTop, PlotW: chartW - chartLeft - chartRight, PlotH: chartH - chartTop - chartBottom}
	maxC := 0.5
	for _, list := range [][]resultItem{r.Consensus, r.Controversy, r.Rejection, r.Limbo, r.Undetermined} {
		for _, it := range list {
			if it.Scores.Controversy > maxC {
				maxC = it.Scores.Controversy
			}
		}
	}
	n := 0
	row := func(it resultItem) resultRow {
		n++
		sc := it.Scores
		var k [results.NumKeys]int64
		var total int64
		for i := range results.NumKeys { // the sequence votes the result is made of
			k[i] += sc.Votes.Votes[results.Sequence][i]
			total += sc.Votes.Votes[results.Sequence][i]
		}
		rr := resultRow{ID: it.ID, Content: it.Content, Zone: string(sc.Zone), Votes: total, Number: n, BesideVotes: sc.Votes.Total(results.Trusted)}
		if rr.BesideVotes > 0 {
			rr.BesideAgree = int(float64(sc.Votes.Votes[results.Trusted][0])*100/float64(rr.BesideVotes) + 0.5)
		}
		for _, o := range results.BesideOrigins() {
			if b := it.BesideByOrigin[o]; b.Votes > 0 {
				rr.BesideOrigins = append(rr.BesideOrigins, besideOrigin{Origin: o, Votes: b.Votes, Agree: int(b.Rates["agree"]*100 + 0.5)})
			}
		}
		if o := it.Opinions; o != nil {
			rr.Across, rr.Bridging = string(o.Across), o.Bridging
		}
		if total > 0 {
			rr.Agree = int(float64(k[0])*100/float64(total) + 0.5)
			rr.Disagree = int(float64(k[1])*100/float64(total) + 0.5)
			rr.Neutral = max(0, 100-rr.Agree-rr.Disagree)
		}
		rr.AgreeX, rr.DisagreeX = rr.Agree, rr.Agree+rr.Disagree
		for qi, q := range results.Qualifications() {
			if c := sc.Votes.Quals[results.Sequence][qi]; c > 0 {
				rr.Quals = append(rr.Quals, qualCount{Name: string(q), N: c})
			}
		}
		rr.X = fmt.Sprintf("%.1f", float64(chartLeft)+sc.Rates["agree"]*float64(ch.PlotW))
		rr.Y = fmt.Sprintf("%.1f", float64(chartTop+ch.PlotH)-sc.Controversy/maxC*float64(ch.PlotH))
		return rr
	}
	for _, z := range []struct {
		zone string
		list []resultItem
	}{{"consensus", r.Consensus}, {"controversy", r.Controversy}, {"rejection", r.Rejection}, {"limbo", r.Limbo}, {"undetermined", r.Undetermined}, {"not_enough_votes", r.NotEnough}} {
		l := resultList{Zone: z.zone}
		for i, it := range z.list {
			rr := row(it)
			if i < pageListLimit {
				l.Items = append(l.Items, rr)
			} else {
				l.More++
			}
			if z.zone != "not_enough_votes" { // too few votes to place it fairly
				ch.Points = append(ch.Points, rr)
			}
		}
		rp.Lists = append(rp.Lists, l)
	}
	for i := 0; i <= 4; i++ {
		f := float64(i) / 4
		ch.XTicks = append(ch.XTicks, tick{Pos: fmt.Sprintf("%.1f", float64(chartLeft)+f*float64(ch.PlotW)), Label: fmt.Sprintf("%d%%", i*25)})
		ch.YTicks = append(ch.YTicks, tick{Pos: fmt.Sprintf("%.1f", float64(chartTop+ch.PlotH)-f*float64(ch.PlotH)), Label: fmt.Sprintf("%.2f", f*maxC)})
	}
	ch.MaxControversy = fmt.Sprintf("%.2f", maxC)
	rp.Chart = ch
	return rp
}

// methodePage is the values of the rules the methodology page states, read from the code's
// own defaults and this server's settings, so that the page says what the code does.
type methodePage struct {
	SequenceSize, NewMaxVotes, NewPercent, RandomSlots  int
	ControversyPercent, TopCandidates                   int
	KeyTTLHours                                         int
	SequencesPerMinute, SequencesPerSourcePerMinute     int
	FreshPerSourcePerHour                               int
	MinVotes, LimboNeutral, ConsensusAgree, MaxDisagree int
	RejectionDisagree, MaxAgree, ClearMaxNeutral        int
	GroupMinVotes, MaxGroups, GroupMinGroupVotes        int
	GroupAgree, MinSegmentSize                          int
	WeightMin, WeightMax                                string
	CellPrior                                           int
	CoalesceMinCommon, CoalesceJaccard                  int
	Source                                              string
}

func (s *Server) methode(c *fiber.Ctx) methodePage {
	pc := func(f float64) int { return int(math.Round(f * 100)) }
	or := func(v, def int) int {
		if v <= 0 { // 0 takes the default; a negative value turns the limit off, where the default is what the page can state
			return def
		}
		return v
	}
	sc, rc, gc, caps := sequence.DefaultConfig(), results.DefaultConfig(), results.DefaultGroupsConfig(), results.DefaultWeightCaps()
	num := func(f float64) string {
		return strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(f, 'f', 2, 64), "0"), ".")
	}
	if s.locale(c) == "fr" {
		num0 := num
		num = func(f float64) string { return strings.ReplaceAll(num0(f), ".", ",") }
	}
	return methodePage{SequenceSize: sc.Size, NewMaxVotes: max(sc.NewMaxVotes, int(rc.MinVotes)), NewPercent: pc(sc.NewRatio), RandomSlots: sc.RandomSlots,
		ControversyPercent: pc(sc.ControversyRatio), TopCandidates: sc.TopCandidates, KeyTTLHours: int(vote.DefaultKeyTTL.Hours()),
		SequencesPerMinute:          or(s.SequenceLimits.PerParticipant, ratelimit.DefaultSequenceLimits.PerParticipant),
		SequencesPerSourcePerMinute: or(s.SequenceLimits.PerSource, ratelimit.DefaultSequenceLimits.PerSource),
		FreshPerSourcePerHour:       or(s.FreshPerSourcePerHour, booth.DefaultFreshPerSourcePerHour),
		MinVotes:                    int(rc.MinVotes), LimboNeutral: pc(rc.LimboNeutral), ConsensusAgree: pc(rc.ConsensusAgree), MaxDisagree: pc(rc.ConsensusMaxDisagree),
		RejectionDisagree: pc(rc.RejectionDisagree), MaxAgree: pc(rc.RejectionMaxAgree), ClearMaxNeutral: pc(rc.ClearMaxNeutral),
		GroupMinVotes: gc.MinParticipantVotes, MaxGroups: gc.MaxGroups, GroupMinGroupVotes: gc.MinGroupVotes, GroupAgree: pc(gc.GroupAgree),
		MinSegmentSize: results.DefaultMinSegmentSize, WeightMin: num(caps.Min), WeightMax: num(caps.Max),
		CellPrior:         int(rc.CellPrior),
		CoalesceMinCommon: results.DefaultCoalesceConfig().MinCommon, CoalesceJaccard: pc(results.DefaultCoalesceConfig().MinJaccard),
		Source: "https://github.com/concorde-civic/concorde/blob/main/core/results/doc.go"}
}

func (s *Server) resultPageRoutes() {
	s.handle(Route{Method: get, Path: "/methode", Perm: permSite, Summary: "The methodology page: what is counted and how, weights, zones, intervals, opinion groups, what is published beside"}, func(c *fiber.Ctx) error {
		return s.render(c, fiber.StatusOK, "methode", s.tr(c, "methode_title"), s.methode(c))
	})

	s.handle(Route{Method: get, Path: "/c/:slug/results", Perm: tenant("results", "read"), Summary: "A consultation's results page"}, func(c *fiber.Ctx) error {
		e, err := s.resultsEntry(c)
		if errs.KindOf(err) == errs.Forbidden && e != nil {
			// Not published yet: the page says when they come, rather than refusing.
			return s.render(c, fiber.StatusOK, "results_pending", s.tr(c, "results_pending_title"), e.Consultation)
		}
		if err != nil {
			return err
		}
		theme := c.Query("theme")
		if theme != "" && !e.Consultation.HasTheme(theme) {
			theme = "" // an unknown theme shows every proposal
		}
		r, err := s.Results(c, e, theme)
		if err != nil {
			return err
		}
		dim := c.Query("dimension", results.DimensionAgeBand)
		if !slices.Contains(results.Dimensions(), dim) {
			dim = results.DimensionAgeBand // an unknown dimension shows the first
		}
		rp := s.resultsPage(r, e.Consultation)
		if rp.Segments, err = s.segmentsView(c, e, dim, rp); err != nil {
			return err
		}
		return s.render(c, fiber.StatusOK, "results", s.tr(c, "results_title")+" · "+e.Consultation.Question, rp)
	})
}
