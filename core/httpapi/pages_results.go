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
	"github.com/concorde-civic/concorde/web"
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
	// Texts in the page's language: the shares with their 95 % intervals, the score the
	// zone is ranked by with its interval, and where an undetermined proposal leans.
	SharesText, ScoreText, BesideText, LeaningText string
	// BesideOrigins splits the votes beside by where they were cast (those with votes only),
	// each line in the page's language.
	BesideOrigins []besideOrigin
}

// besideOrigin is one origin's votes outside the sequence on a proposal, as a line of text:
// how many, and the agree rate the results publish for them.
type besideOrigin struct {
	Origin string
	Votes  int64
	Text   string
}

type qualCount struct {
	Name string
	N    int64
}

type resultList struct {
	Zone  string
	Items []resultRow
	More  int // proposals of the zone left out of the page (they are in the open data)
	// Explain says in one line what puts a proposal in the zone; Score, what it is ranked by.
	Explain, Score string
}

// pageListLimit bounds each list on the page; the chart and the exports hold every proposal.
const pageListLimit = 100

// chartView is the SVG chart: proposals placed by agreement (x) and controversy (y), each a
// dot with its number beside it where the number has room (see placeLabels).
type chartView struct {
	Width, Height  int
	Left, Top      int
	PlotW, PlotH   int
	MaxControversy string
	Points         []chartPoint
	XTicks, YTicks []tick
	Unlabelled     int // dots left without a number: no room for it
	Dot            int // radius of the dots
}

// chartPoint is one proposal on the chart: its dot, and its number's place when it has one.
type chartPoint struct {
	resultRow
	Labelled     bool
	LX, LY       string // centre of the number
	Leader       bool   // the number stands away from its dot: a line joins them
	DotX, DotY   string // where the line leaves the dot
	LineX, LineY string // where it meets the number's box
}

type tick struct {
	Pos    string
	Label  string
	Anchor string // text-anchor: the first and last x ticks stay within the plot's width, clear of the y ticks
}

type resultsPage struct {
	C         consultation.Consultation
	R         resultsResponse
	Lists     []resultList
	Chart     chartView
	Published bool
	Segments  segmentsView
	// Summary is the results in a few sentences; Empty, that no proposal has a place on
	// the chart yet (the page then says so instead of drawing an empty chart).
	Summary []string
	Empty   bool
	// Groups says in words what the opinion groups are, once computed.
	Groups string
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
	Text                     string
}

func (w words) shares(it segmentItem) shares {
	sh := sharesOf(it)
	sh.Text = w.count("results_shares", sh.Votes, w.pct(sh.Agree), w.pct(sh.Disagree), w.pct(sh.Neutral))
	return sh
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
	wd := s.words(c)
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
			sv.Unweighted, _ = s.errorMessage(c, err)
			margins = nil
		} else if err != nil {
			return sv, err
		}
		sv.Weighted, sv.Converged = len(margins) > 0, w.Converged
		weighted = make(map[int64]shares, len(w.Proposals))
		for _, it := range w.Proposals {
			weighted[it.ID] = wd.shares(it)
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
			row := segmentRow{Number: n, ID: it.ID, Content: p.Content, Shares: wd.shares(it)}
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

// The chart's frame, in SVG units. The SVG scales with the page, so every size here is
// chosen for a phone 360 px wide, where one unit is about 0.85 px: the numbers are 12 units
// (10 px) and the ticks 13; wider screens draw the text smaller through the stylesheet
// (site.css), which can only leave more room between labels.
const (
	chartW, chartH = 380, 300
	chartLeft      = 42
	chartTop       = 28
	chartRight     = 12
	chartBottom    = 42
	chartDot       = 4  // radius of a proposal's dot
	chartNumSize   = 12 // font size of the numbers
)

// itemShares is a result's sequence votes as whole percents of agree, disagree and neutral
// (summing to 100) and their number, as its zone was read from them: sessions that
// coalescing counts as one are counted once (results.Scores.Counted), so that the bar, the
// figures and the zone agree.
func itemShares(sc results.Scores, cfg results.Config) (agree, disagree, neutral int, total int64) {
	k, _ := sc.Counted(cfg)
	sum := k[0] + k[1] + k[2]
	total = int64(math.Round(sum))
	if sum > 0 {
		agree = int(k[0]*100/sum + 0.5)
		disagree = int(k[1]*100/sum + 0.5)
		neutral = max(0, 100-agree-disagree)
	}
	return agree, disagree, neutral, total
}

// resultsPage lays out results r for the page, in w's language, with the thresholds of cfg.
func (s *Server) resultsPage(w words, r resultsResponse, cs consultation.Consultation, cfg results.Config) resultsPage {
	rp := resultsPage{C: cs, R: r, Published: cs.Status == consultation.Published}
	ch := chartView{Width: chartW, Height: chartH, Left: chartLeft, Top: chartTop, PlotW: chartW - chartLeft - chartRight, PlotH: chartH - chartTop - chartBottom, Dot: chartDot}
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
		rr := resultRow{ID: it.ID, Content: it.Content, Zone: string(sc.Zone), Number: n, BesideVotes: sc.Votes.Total(results.Trusted)}
		rr.Agree, rr.Disagree, rr.Neutral, rr.Votes = itemShares(sc, cfg)
		if rr.BesideVotes > 0 {
			rr.BesideAgree = int(float64(sc.Votes.Votes[results.Trusted][0])*100/float64(rr.BesideVotes) + 0.5)
			rr.BesideText = w.count("results_beside", rr.BesideVotes, w.pct(rr.BesideAgree))
		}
		for _, o := range results.BesideOrigins() {
			if b := it.BesideByOrigin[o]; b.Votes > 0 {
				rr.BesideOrigins = append(rr.BesideOrigins, besideOrigin{Origin: o, Votes: b.Votes,
					Text: w.count("results_beside_"+o, b.Votes, w.pct(int(b.Rates["agree"]*100+0.5)))})
			}
		}
		if o := it.Opinions; o != nil {
			rr.Across, rr.Bridging = string(o.Across), o.Bridging
		}
		rr.AgreeX, rr.DisagreeX = rr.Agree, rr.Agree+rr.Disagree
		iv := func(k results.Key) string {
			i := sc.Intervals[string(k)]
			return w.pctRange(i.Low, i.High)
		}
		if rr.Votes > 0 {
			rr.SharesText = w.count("results_shares_iv", rr.Votes, w.pct(rr.Agree), iv(results.Agree), w.pct(rr.Disagree), iv(results.Disagree), w.pct(rr.Neutral), iv(results.Neutral))
		} else {
			rr.SharesText = w.count("results_shares", 0, w.pct(0), w.pct(0), w.pct(0))
		}
		switch sc.Zone {
		case results.Consensus:
			rr.ScoreText = w.tf("results_score_top", w.dec(sc.Top, 2), w.dec(sc.TopInterval.Low, 2), w.dec(sc.TopInterval.High, 2))
		case results.Rejection:
			rr.ScoreText = w.tf("results_score_rejection", w.dec(sc.Rejection, 2), w.dec(sc.RejectionInterval.Low, 2), w.dec(sc.RejectionInterval.High, 2))
		case results.Controversy:
			rr.ScoreText = w.tf("results_score_controversy", w.dec(sc.Controversy, 2))
		case results.Undetermined:
			if sc.Leaning != "" {
				rr.LeaningText = w.tf("results_leaning", w.t("leaning_"+string(sc.Leaning)))
			}
		}
		_, counted := sc.Counted(cfg)
		for qi, q := range results.Qualifications() {
			if c := int64(math.Round(counted[qi])); c > 0 {
				rr.Quals = append(rr.Quals, qualCount{Name: string(q), N: c})
			}
		}
		rr.X = fmt.Sprintf("%.1f", float64(chartLeft)+sc.Rates["agree"]*float64(ch.PlotW))
		rr.Y = fmt.Sprintf("%.1f", float64(chartTop+ch.PlotH)-sc.Controversy/maxC*float64(ch.PlotH))
		return rr
	}
	pc := func(f float64) int { return int(math.Round(f * 100)) }
	explain := map[string]string{
		"consensus":        w.tf("zone_explain_consensus", w.pct(pc(cfg.ConsensusAgree)), w.pct(pc(cfg.ConsensusMaxDisagree))),
		"controversy":      w.t("zone_explain_controversy"),
		"rejection":        w.tf("zone_explain_rejection", w.pct(pc(cfg.RejectionDisagree)), w.pct(pc(cfg.RejectionMaxAgree))),
		"limbo":            w.tf("zone_explain_limbo", w.pct(pc(cfg.LimboNeutral))),
		"undetermined":     w.t("zone_explain_undetermined"),
		"not_enough_votes": w.count("zone_explain_not_enough_votes", int64(cfg.MinVotes)),
	}
	score := map[string]string{"consensus": w.t("score_explain_top"), "controversy": w.t("score_explain_controversy"), "rejection": w.t("score_explain_rejection")}
	var points []resultRow
	for _, z := range []struct {
		zone string
		list []resultItem
	}{{"consensus", r.Consensus}, {"controversy", r.Controversy}, {"rejection", r.Rejection}, {"limbo", r.Limbo}, {"undetermined", r.Undetermined}, {"not_enough_votes", r.NotEnough}} {
		l := resultList{Zone: z.zone, Explain: explain[z.zone], Score: score[z.zone]}
		for i, it := range z.list {
			rr := row(it)
			if i < pageListLimit {
				l.Items = append(l.Items, rr)
			} else {
				l.More++
			}
			if z.zone != "not_enough_votes" { // too few votes to place it fairly
				points = append(points, rr)
			}
		}
		rp.Lists = append(rp.Lists, l)
	}
	for i := 0; i <= 4; i++ {
		f := float64(i) / 4
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case 4:
			anchor = "end"
		}
		ch.XTicks = append(ch.XTicks, tick{Pos: fmt.Sprintf("%.1f", float64(chartLeft)+f*float64(ch.PlotW)), Label: w.pct(i * 25), Anchor: anchor})
		ch.YTicks = append(ch.YTicks, tick{Pos: fmt.Sprintf("%.1f", float64(chartTop+ch.PlotH)-f*float64(ch.PlotH)), Label: w.dec(f*maxC, 2)})
	}
	ch.MaxControversy = w.dec(maxC, 2)
	ch.Points, ch.Unlabelled = placeLabels(points, ch)
	rp.Chart, rp.Empty = ch, len(points) == 0
	return rp
}

// placeLabels gives each dot its number where the number has room: beside the dot if it
// can, else a little further with a line back to the dot, never over another number or
// another dot, and always inside the plot. Proposals are tried in list order (the best of
// each zone first), so when the plot is crowded the dots left without a number are the
// later ones; every dot keeps its tooltip, and the lists below name them all. Sizes are in
// SVG units, the same at every screen width since the SVG scales as a whole.
func placeLabels(rows []resultRow, ch chartView) ([]chartPoint, int) {
	const pad = 1.5 // room kept around each number
	plot := labelBox{float64(ch.Left), float64(ch.Top), float64(ch.Left + ch.PlotW), float64(ch.Top + ch.PlotH)}
	g := newLabelGrid(plot)
	xy := make([][2]float64, len(rows))
	for i, r := range rows {
		x, _ := strconv.ParseFloat(r.X, 64)
		y, _ := strconv.ParseFloat(r.Y, 64)
		xy[i] = [2]float64{x, y}
		g.add(labelBox{x - chartDot, y - chartDot, x + chartDot, y + chartDot})
	}
	// A digit of the bold numbers is at most 0.7 em wide; the box is the em box, 1.2 em high
	// (the browser test checks both against what Chromium draws).
	const h = 1.2 * chartNumSize
	out := make([]chartPoint, len(rows))
	unlabelled := 0
	for i, r := range rows {
		out[i] = chartPoint{resultRow: r}
		x, y := xy[i][0], xy[i][1]
		wd := 0.7*chartNumSize*float64(len(strconv.Itoa(r.Number))) + 2
		found := false
		for _, d := range []float64{0, 12, 22, 34} {
			for _, dir := range [][2]float64{{1, 0}, {-1, 0}, {0, -1}, {0, 1}, {1, -1}, {-1, -1}, {1, 1}, {-1, 1}} {
				// The centre of the number: next to the dot, then further along the same direction.
				cx := x + dir[0]*(chartDot+2+wd/2+d)
				cy := y + dir[1]*(chartDot+1+h/2+d*0.8)
				b := labelBox{cx - wd/2 - pad, cy - h/2 - pad, cx + wd/2 + pad, cy + h/2 + pad}
				if b.x0 < plot.x0 || b.x1 > plot.x1 || b.y0 < plot.y0 || b.y1 > plot.y1 || g.hits(b) {
					continue
				}
				g.add(b)
				p := &out[i]
				p.Labelled, p.LX, p.LY = true, fmt.Sprintf("%.1f", cx), fmt.Sprintf("%.1f", cy)
				if d > 0 {
					// From the dot's edge to the number's box, along the direction tried.
					p.Leader = true
					nx, ny := dir[0], dir[1]
					if nx != 0 && ny != 0 {
						nx, ny = nx*math.Sqrt2/2, ny*math.Sqrt2/2
					}
					p.DotX, p.DotY = fmt.Sprintf("%.1f", x+nx*chartDot), fmt.Sprintf("%.1f", y+ny*chartDot)
					p.LineX, p.LineY = fmt.Sprintf("%.1f", cx-dir[0]*wd/2), fmt.Sprintf("%.1f", cy-dir[1]*h/2)
				}
				found = true
				break
			}
			if found {
				break
			}
		}
		if !found {
			unlabelled++
		}
	}
	return out, unlabelled
}

type labelBox struct{ x0, y0, x1, y1 float64 }

// labelGrid holds the boxes already on the chart (dots and numbers) by cells of the plot, so
// that a chart of thousands of proposals is laid out in a few milliseconds.
type labelGrid struct {
	plot  labelBox
	cols  int
	cells [][]labelBox
}

const labelCell = 24.0 // SVG units

func newLabelGrid(plot labelBox) *labelGrid {
	cols, rows := int((plot.x1-plot.x0)/labelCell)+1, int((plot.y1-plot.y0)/labelCell)+1
	return &labelGrid{plot: plot, cols: cols, cells: make([][]labelBox, cols*rows)}
}

// span is the range of cells a box touches, clamped to the plot.
func (g *labelGrid) span(b labelBox) (c0, r0, c1, r1 int) {
	rows := len(g.cells) / g.cols
	cell := func(v, lo float64, n int) int { return max(0, min(n-1, int((v-lo)/labelCell))) }
	return cell(b.x0, g.plot.x0, g.cols), cell(b.y0, g.plot.y0, rows), cell(b.x1, g.plot.x0, g.cols), cell(b.y1, g.plot.y0, rows)
}

func (g *labelGrid) add(b labelBox) {
	c0, r0, c1, r1 := g.span(b)
	for r := r0; r <= r1; r++ {
		for c := c0; c <= c1; c++ {
			g.cells[r*g.cols+c] = append(g.cells[r*g.cols+c], b)
		}
	}
}

func (g *labelGrid) hits(b labelBox) bool {
	c0, r0, c1, r1 := g.span(b)
	for r := r0; r <= r1; r++ {
		for c := c0; c <= c1; c++ {
			for _, o := range g.cells[r*g.cols+c] {
				if b.x0 < o.x1 && o.x0 < b.x1 && b.y0 < o.y1 && o.y0 < b.y1 {
					return true
				}
			}
		}
	}
	return false
}

// words writes the page's figures and sentences in the visitor's language.
type words struct {
	pages  *web.Pages
	locale string
}

func (s *Server) words(c *fiber.Ctx) words { return words{pages: s.Pages, locale: s.locale(c)} }

func (w words) t(key string) string { return w.pages.T(w.locale, key) }

func (w words) tf(key string, args ...any) string { return fmt.Sprintf(w.t(key), args...) }

// count is key_one or key_other by the language's plural rule for n, given n in words
// ("12 345") then the other arguments.
func (w words) count(key string, n int64, args ...any) string {
	return fmt.Sprintf(w.t(key+"_"+web.PluralForm(w.locale, n)), append([]any{web.Number(w.locale, n)}, args...)...)
}

// pct is a whole percent: "62 %" in French (with a narrow no-break space), "62%" in English.
func (w words) pct(n int) string { return w.tf("percent", web.Number(w.locale, int64(n))) }

// pctRange is an interval of rates in whole percents: "55–69 %".
func (w words) pctRange(lo, hi float64) string {
	return w.tf("percent", fmt.Sprintf("%d–%d", int(math.Round(lo*100)), int(math.Round(hi*100))))
}

// dec is a decimal number with prec decimals, with a decimal comma in French.
func (w words) dec(f float64, prec int) string {
	v := strconv.FormatFloat(f, 'f', prec, 64)
	if v == "-"+strconv.FormatFloat(0, 'f', prec, 64) {
		v = v[1:]
	}
	if w.locale == "fr" {
		v = strings.Replace(v, ".", ",", 1)
	}
	return v
}

// quote is a proposal's text in quotation marks, cut short when long.
func (w words) quote(prefix, content string) string {
	text := strings.TrimSpace(prefix + " " + content)
	if r := []rune(text); len(r) > 90 {
		text = strings.TrimSpace(string(r[:89])) + "…"
	}
	return w.tf("quote", text)
}

// summary is the results in a few sentences, for the top of the page: how many took part,
// then what reached consensus, what divides and what is rejected (each with the proposal that
// leads it), then what is not settled. participants is the number of people whose votes the
// results count; cfg, the scoring rules (MinVotes: the sequence votes a proposal needs to be placed).
func (w words) summary(r resultsResponse, prefix string, participants int64, cfg results.Config) []string {
	minVotes := int64(cfg.MinVotes)
	var out []string
	total := int64(len(r.Consensus) + len(r.Controversy) + len(r.Rejection) + len(r.Limbo) + len(r.Undetermined) + len(r.NotEnough))
	switch {
	case participants == 0:
		out = append(out, w.t("summary_nobody"))
	default:
		out = append(out, w.count("summary_participants", participants, w.count("summary_votes", r.SequenceVotes), w.count("summary_proposals", total)))
	}
	if r.BesideVotes > 0 {
		out = append(out, w.count("results_beside_total", r.BesideVotes))
	}
	placed := total - int64(len(r.NotEnough))
	if total == 0 {
		return append(out, w.t("summary_no_proposals"))
	}
	if placed == 0 {
		return append(out, w.count("summary_empty", minVotes))
	}
	settled := len(r.Consensus) + len(r.Controversy) + len(r.Rejection) + len(r.Limbo)
	if settled == 0 {
		out = append(out, w.t("summary_none_settled"))
	} else {
		lead := func(key string, list []resultItem, args func(resultItem) []any) {
			if len(list) == 0 {
				out = append(out, w.t(key+"_none"))
				return
			}
			out = append(out, w.count(key, int64(len(list)), args(list[0])...))
		}
		lead("summary_consensus", r.Consensus, func(it resultItem) []any {
			a, _, _, _ := itemShares(it.Scores, cfg)
			return []any{w.quote(prefix, it.Content), w.pct(a)}
		})
		across := 0
		for _, it := range r.Consensus {
			if it.Opinions != nil && it.Opinions.Across == results.AcrossHolds {
				across++
			}
		}
		if across > 0 {
			out = append(out, w.count("summary_across", int64(across)))
		}
		lead("summary_controversy", r.Controversy, func(it resultItem) []any {
			a, d, _, _ := itemShares(it.Scores, cfg)
			return []any{w.quote(prefix, it.Content), w.pct(a), w.pct(d)}
		})
		lead("summary_rejection", r.Rejection, func(it resultItem) []any {
			_, d, _, _ := itemShares(it.Scores, cfg)
			return []any{w.quote(prefix, it.Content), w.pct(d)}
		})
		if n := len(r.Limbo); n > 0 {
			out = append(out, w.count("summary_limbo", int64(n)))
		}
	}
	if n := len(r.Undetermined); n > 0 {
		out = append(out, w.count("summary_undetermined", int64(n)))
	}
	if n := len(r.NotEnough); n > 0 {
		out = append(out, w.count("summary_not_enough", int64(n), web.Number(w.locale, minVotes)))
	}
	return out
}

// groupsText says what the opinion groups are, once computed.
func (w words) groupsText(o opinionsSummary) string {
	switch {
	case o.Pending:
		return w.t("groups_pending")
	case len(o.GroupSizes) == 0:
		return w.t("groups_none")
	}
	return w.count("groups_found", int64(len(o.GroupSizes)), web.Number(w.locale, int64(o.Participants)))
}

// methodePage is the values of the rules the methodology page states, read from the code's
// own defaults and this server's settings, so that the page says what the code does.
type methodePage struct {
	SequenceSize, NewMaxVotes, NewPercent, RandomSlots  int
	ControversyPercent, TopCandidates                   int
	ShortlistFrom, ShortlistLeaders, ShortlistSample    int
	NormalFrom                                          int
	KeyTTLHours, PendingMinutes                         int
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
	num := func(f float64) string { return web.ShortDecimal(s.locale(c), f) } // "1,5" or "1.5"
	return methodePage{SequenceSize: sc.Size, NewMaxVotes: max(sc.NewMaxVotes, int(rc.MinVotes)), NewPercent: pc(sc.NewRatio), RandomSlots: sc.RandomSlots,
		ControversyPercent: pc(sc.ControversyRatio), TopCandidates: sc.TopCandidates, KeyTTLHours: int(vote.DefaultKeyTTL.Hours()), PendingMinutes: int(booth.DefaultPendingFor.Minutes()),
		ShortlistFrom: sequence.ShortlistFrom, ShortlistLeaders: sequence.ShortlistLeaders, ShortlistSample: sequence.ShortlistSample, NormalFrom: sequence.NormalFrom,
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
		w := s.words(c)
		cfg := e.ScoreConfig()
		rp := s.resultsPage(w, r, e.Consultation, cfg)
		if rp.Segments, err = s.segmentsView(c, e, dim, rp); err != nil {
			return err
		}
		_, sample, err := s.segmentCells(c, e)
		if err != nil {
			return err
		}
		var participants int64
		for _, n := range sample {
			participants += n
		}
		rp.Summary = w.summary(r, e.Consultation.Prefix, participants, cfg)
		rp.Groups = w.groupsText(r.OpinionGroups)
		return s.render(c, fiber.StatusOK, "results", s.tr(c, "results_title")+" · "+e.Consultation.Question, rp)
	})
}
