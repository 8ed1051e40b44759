package httpapi

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/results"
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
	for _, list := range [][]resultItem{r.Consensus, r.Controversy, r.Rejection, r.Limbo} {
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
		for _, t := range []results.Trust{results.Sequence, results.Trusted} {
			for i := range results.NumKeys {
				k[i] += sc.Votes.Votes[t][i]
				total += sc.Votes.Votes[t][i]
			}
		}
		rr := resultRow{ID: it.ID, Content: it.Content, Zone: string(sc.Zone), Votes: total, Number: n}
		if total > 0 {
			rr.Agree = int(float64(k[0])*100/float64(total) + 0.5)
			rr.Disagree = int(float64(k[1])*100/float64(total) + 0.5)
			rr.Neutral = max(0, 100-rr.Agree-rr.Disagree)
		}
		rr.AgreeX, rr.DisagreeX = rr.Agree, rr.Agree+rr.Disagree
		for qi, q := range results.Qualifications() {
			var c int64
			for _, t := range []results.Trust{results.Sequence, results.Trusted} {
				c += sc.Votes.Quals[t][qi]
			}
			if c > 0 {
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
	}{{"consensus", r.Consensus}, {"controversy", r.Controversy}, {"rejection", r.Rejection}, {"limbo", r.Limbo}, {"not_enough_votes", r.NotEnough}} {
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

func (s *Server) resultPageRoutes() {
	s.handle(get, "/c/:slug/results", tenant("results", "read"), false, func(c *fiber.Ctx) error {
		e, err := s.resultsEntry(c)
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
		return s.render(c, fiber.StatusOK, "results", s.tr(c, "results_title")+" · "+e.Consultation.Question, s.resultsPage(r, e.Consultation))
	})
}
