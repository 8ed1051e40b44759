package httpapi

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/web"
)

// votedItem is a proposal with agree, disagree and neutral sequence votes, scored as published.
func votedItem(id int64, content string, agree, disagree, neutral int64) resultItem {
	var c results.Counts
	c.Add(results.Sequence, results.Agree, nil, agree)
	c.Add(results.Sequence, results.Disagree, nil, disagree)
	c.Add(results.Sequence, results.Neutral, nil, neutral)
	return resultItem{ID: id, Content: content, Scores: results.Score(c, results.DefaultConfig())}
}

func TestSummary_SaysWhatReachedConsensusWhatDividesWhatIsRejected(t *testing.T) {
	pages, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	fr, en := words{pages: pages, locale: "fr"}, words{pages: pages, locale: "en"}
	long := "installer des bancs " + strings.Repeat("confortables ", 10)
	full := resultsResponse{
		Consensus:     []resultItem{votedItem(1, "créer des pistes cyclables", 80, 10, 10), votedItem(2, "planter des arbres", 70, 10, 20)},
		Controversy:   []resultItem{votedItem(3, "rendre le tram gratuit", 50, 40, 10)},
		Rejection:     []resultItem{votedItem(4, "interdire les vélos", 10, 80, 10), votedItem(5, long, 5, 90, 5)},
		Undetermined:  []resultItem{votedItem(6, "ouvrir le musée le soir", 9, 4, 2)},
		NotEnough:     []resultItem{votedItem(7, "repeindre la mairie", 2, 1, 0)},
		SequenceVotes: 12345,
		BesideVotes:   1,
	}
	one := resultsResponse{
		Consensus:     []resultItem{votedItem(1, "créer des pistes cyclables", 80, 10, 10)},
		Rejection:     []resultItem{votedItem(4, "interdire les vélos", 10, 80, 10)},
		Limbo:         []resultItem{votedItem(8, "changer le logo", 20, 20, 60)},
		SequenceVotes: 1,
	}
	onlyUndetermined := resultsResponse{Undetermined: []resultItem{votedItem(6, "ouvrir le musée le soir", 9, 4, 2), votedItem(9, "fermer la rue", 5, 8, 2)}, SequenceVotes: 30}
	empty := resultsResponse{NotEnough: []resultItem{votedItem(7, "repeindre la mairie", 2, 1, 0)}, BesideVotes: 2}
	for _, c := range []struct {
		name         string
		w            words
		r            resultsResponse
		participants int64
		want         []string
	}{
		{"consensus, divisive and rejected in French", fr, full, 2345, []string{
			"2\u202f345 personnes ont voté sur les propositions que la plateforme leur a présentées : 12\u202f345 votes comptés sur 7 propositions.",
			"1 vote reçu hors séquence (lien direct, recherche, page des résultats) est publié à part : il ne compte dans aucun résultat.",
			"2 propositions font consensus ; la plus soutenue : «\u00a0Il faut créer des pistes cyclables\u00a0», avec 80\u202f% d’accord.",
			"1 proposition divise les participants : «\u00a0Il faut rendre le tram gratuit\u00a0» (50\u202f% d’accord, 40\u202f% pas d’accord).",
			"2 propositions sont rejetées ; la plus nettement : «\u00a0Il faut interdire les vélos\u00a0», avec 80\u202f% de désaccord.",
			"1 proposition n’est pas encore tranchée : son intervalle de confiance chevauche un seuil.",
			"1 proposition n’a pas encore assez de votes pour être classée (il en faut 10).",
		}},
		{"singulars in French", fr, one, 1, []string{
			"1 personne a voté sur les propositions que la plateforme lui a présentées : 1 vote compté sur 3 propositions.",
			"1 proposition fait consensus : «\u00a0Il faut créer des pistes cyclables\u00a0», avec 80\u202f% d’accord.",
			"Aucune proposition ne divise nettement les participants.",
			"1 proposition est rejetée : «\u00a0Il faut interdire les vélos\u00a0», avec 80\u202f% de désaccord.",
			"1 proposition laisse les participants indifférents : beaucoup de votes neutres.",
		}},
		{"the same in English", en, one, 1, []string{
			"1 person voted on the proposals the platform showed them: 1 vote counted on 3 proposals.",
			"1 proposal reaches consensus: “Il faut créer des pistes cyclables”, with 80% agree.",
			"No proposal clearly divides the participants.",
			"1 proposal is rejected: “Il faut interdire les vélos”, with 80% disagree.",
			"1 proposal leaves the participants indifferent: many neutral votes.",
		}},
		{"only undetermined", fr, onlyUndetermined, 30, []string{
			"30 personnes ont voté sur les propositions que la plateforme leur a présentées : 30 votes comptés sur 2 propositions.",
			"Aucune proposition ne peut encore être classée avec certitude.",
			"2 propositions ne sont pas encore tranchées : leurs intervalles de confiance chevauchent un seuil.",
		}},
		{"empty: nothing placed yet", fr, empty, 0, []string{
			"Personne n’a encore voté dans la séquence de vote.",
			"2 votes reçus hors séquence (lien direct, recherche, page des résultats) sont publiés à part, proposition par proposition : ils ne comptent dans aucun résultat.",
			"Pas encore de résultat : aucune proposition n’a reçu les 10 votes de séquence qu’il faut pour être classée.",
		}},
		{"empty: no proposal", en, resultsResponse{}, 0, []string{
			"Nobody has voted in the vote sequence yet.",
			"No proposal has been accepted in this consultation yet: there is no result yet.",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.w.summary(c.r, "Il faut", c.participants, results.DefaultConfig())
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			for _, s := range got {
				if strings.Contains(s, "%!") {
					t.Errorf("a format error in %q", s)
				}
			}
		})
	}
	// A long proposal is cut short in the sentence, not in the lists.
	if q := fr.quote("Il faut", long); len([]rune(q)) > 95 || !strings.HasSuffix(q, "…\u00a0»") {
		t.Errorf("quote of a long proposal: %q", q)
	}
}

func TestWords_FrenchNumbers(t *testing.T) {
	pages, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	fr, en := words{pages: pages, locale: "fr"}, words{pages: pages, locale: "en"}
	for _, c := range []struct{ got, want string }{
		{fr.pct(62), "62\u202f%"}, {en.pct(62), "62%"},
		{fr.pctRange(0.554, 0.686), "55–69\u202f%"}, {en.pctRange(0.554, 0.686), "55–69%"},
		{fr.dec(0.5234, 2), "0,52"}, {en.dec(0.5234, 2), "0.52"}, {fr.dec(-0.001, 2), "0,00"}, {fr.dec(-1.25, 2), "-1,25"},
		{fr.count("results_shares", 1, fr.pct(100), fr.pct(0), fr.pct(0)), "D’accord 100\u202f% · Pas d’accord 0\u202f% · Neutre 0\u202f% · 1 vote"},
		{en.count("results_shares", 1500, en.pct(50), en.pct(25), en.pct(25)), "Agree 50% · Disagree 25% · Neutral 25% · 1,500 votes"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// Numbers never overlap one another or a dot, and stay in the plot, however crowded the
// chart: those without room are counted, not drawn on top.
func TestPlaceLabels_NoNumberOverlapsAnother(t *testing.T) {
	ch := chartView{Left: chartLeft, Top: chartTop, PlotW: chartW - chartLeft - chartRight, PlotH: chartH - chartTop - chartBottom}
	for _, n := range []int{1, 6, 40, 300, 3000} {
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		rows := make([]resultRow, n)
		for i := range rows {
			// Clustered, as results are: most proposals near a few points.
			cx, cy := 0.2+0.6*float64(i%3)/2, 0.3
			x := float64(ch.Left) + (cx+rng.NormFloat64()*0.08)*float64(ch.PlotW)
			y := float64(ch.Top) + (cy+rng.NormFloat64()*0.1)*float64(ch.PlotH)
			x = max(float64(ch.Left), min(float64(ch.Left+ch.PlotW), x))
			y = max(float64(ch.Top), min(float64(ch.Top+ch.PlotH), y))
			rows[i] = resultRow{Number: i + 1, X: fmt.Sprintf("%.1f", x), Y: fmt.Sprintf("%.1f", y)}
		}
		pts, unlabelled := placeLabels(rows, ch)
		type box struct{ x0, y0, x1, y1 float64 }
		var boxes []box
		for _, p := range pts {
			if !p.Labelled {
				continue
			}
			lx, _ := strconv.ParseFloat(p.LX, 64)
			ly, _ := strconv.ParseFloat(p.LY, 64)
			w := 0.7 * chartNumSize * float64(len(strconv.Itoa(p.Number)))
			h := 1.2 * chartNumSize
			b := box{lx - w/2, ly - h/2, lx + w/2, ly + h/2}
			if b.x0 < float64(ch.Left) || b.x1 > float64(ch.Left+ch.PlotW) || b.y0 < float64(ch.Top) || b.y1 > float64(ch.Top+ch.PlotH) {
				t.Errorf("%d dots: number %d leaves the plot: %+v", n, p.Number, b)
			}
			for _, q := range pts {
				x, _ := strconv.ParseFloat(q.X, 64)
				y, _ := strconv.ParseFloat(q.Y, 64)
				if x+chartDot > b.x0 && x-chartDot < b.x1 && y+chartDot > b.y0 && y-chartDot < b.y1 {
					t.Errorf("%d dots: number %d covers dot %d", n, p.Number, q.Number)
				}
			}
			for _, o := range boxes {
				if b.x0 < o.x1 && o.x0 < b.x1 && b.y0 < o.y1 && o.y0 < b.y1 {
					t.Errorf("%d dots: number %d overlaps another", n, p.Number)
				}
			}
			boxes = append(boxes, b)
		}
		t.Logf("%d dots: %d numbered, %d without room", n, len(boxes), unlabelled)
		if len(boxes)+unlabelled != n || (n <= 6 && unlabelled > 0) {
			t.Errorf("%d dots: %d numbered, %d without room", n, len(boxes), unlabelled)
		}
		if n >= 300 && (unlabelled == 0 || len(boxes) < 10) {
			t.Errorf("%d crowded dots: %d numbered, %d without room: the test does not crowd the plot, or the placement gives up early", n, len(boxes), unlabelled)
		}
	}
}

// The bars and figures of the results page are read from what the zone was read from: 8
// clones counted as one (coalescing) and 6 others give 1 agree of 7 votes, not 8 of 14.
func TestItemShares_CountCoalescedSessionsOnce(t *testing.T) {
	cfg := results.DefaultConfig()
	var c results.Counts
	c.Add(results.Sequence, results.Agree, []results.Qualification{results.LikeIt}, 8)
	c.Add(results.Sequence, results.Disagree, nil, 6)
	adj := &results.Adjustment{Total: 7}
	adj.Keys[results.Agree.Index()] = 7
	adj.Quals[results.LikeIt.Index()] = 7
	sc := results.ScoreTally(adj.Apply(c.Tally()), cfg)
	agree, disagree, neutral, votes := itemShares(sc, cfg)
	if agree != 14 || disagree != 86 || neutral != 0 || votes != 7 {
		t.Fatalf("shares %d/%d/%d of %d votes, want 14/86/0 of 7", agree, disagree, neutral, votes)
	}
	pages, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	w := words{pages: pages, locale: "en"}
	rp := (&Server{}).resultsPage(w, resultsResponse{NotEnough: []resultItem{{ID: 1, Content: "Il faut", Scores: sc}}}, consultation.Consultation{}, cfg)
	var row resultRow
	for _, l := range rp.Lists {
		for _, it := range l.Items {
			row = it
		}
	}
	if row.Votes != 7 || len(row.Quals) != 1 || row.Quals[0].N != 1 {
		t.Fatalf("row: %d votes, qualifications %+v; want 7 votes, likeIt 1", row.Votes, row.Quals)
	}
}
