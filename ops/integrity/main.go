// Command integrity attacks the real concorde server through its public API, as an organised
// group would, and says whether the results hold (issue 8). `make integrity` runs it.
//
//	go run ./ops/integrity [-proposals 300] [-participants 1500] [-attacks honest,direct,harvest,profile]
//
// Each scenario starts the server (built from this tree, or -bin) on a fresh SQLite database
// (or a PostgreSQL schema with -pg), seeds a consultation of -proposals proposals through the
// API, and lets -participants honest participants with known opinions vote through the
// sequence: each proposal has a true agreement, and a participant shown it agrees with that
// probability (disagrees or stays neutral otherwise). The true top 10 are ahead (72 to 80 %
// agreement, every other proposal at most 60 %), so a platform that estimates well finds them. A bloc of -bloc (5 %) of participants then tries to push 3 poor proposals in and
// the true top 10 out (agree on the former, disagree on the latter), in one of these ways:
//
//   - direct: every bloc member votes on the 13 targets through their shareable pages
//     (direct-link keys);
//   - harvest: every bloc member opens fresh anonymous sessions, one after another, and asks
//     each for sequences until targets show up, voting only on those (sequence keys);
//   - profile: the bloc takes part through the sequence like everyone, but all claim the
//     rarest age band, under-represented against the site's population margins, to gain
//     raking weight.
//
// Precision is read from the published results and, in every scenario, from the weighted
// results (/results/weighted, raked to margins where every age band weighs 20 %).
//
// It prints, per scenario, precision@10 (the share of the published top 10, by top score,
// that is in the true top 10), the bloc's poor proposals in that top 10, the fewest votes
// on a proposal once 12 votes per proposal have been cast, how the server treated the
// bloc's votes (sequence, beside or troll; refused), and how many sessions the results
// counted as one participant with others of their source (coalescing). Targets: precision@10 ≥ 0.9 and no bloc
// proposal in the top 10 for every attack.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/concorde-civic/concorde/core/e2e"
)

const (
	host       = "bretagne.localhost"
	tenantSlug = "bretagne"
	adminEmail = "admin@bretagne.localhost"
	slug       = "integrite"
	top        = 10 // the size of the top the bloc attacks
	poor       = 3  // poor proposals the bloc pushes
)

type options struct {
	proposals    int
	participants int
	sequences    int
	bloc         float64
	sessions     int
	attacks      string
	bin          string
	pg           string
	concurrency  int
	seed         uint64
	keep         bool
}

func main() {
	var o options
	flag.IntVar(&o.proposals, "proposals", 300, "accepted proposals, all accepted at once")
	flag.IntVar(&o.participants, "participants", 1500, "participants, bloc included")
	flag.IntVar(&o.sequences, "sequences", 1, "sequences each honest participant votes through (12 proposals each)")
	flag.Float64Var(&o.bloc, "bloc", 0.05, "the bloc's share of participants")
	flag.IntVar(&o.sessions, "sessions", 40, "fresh sessions each bloc member opens in the harvest attack")
	flag.StringVar(&o.attacks, "attacks", "honest,direct,harvest,profile", "scenarios to run, comma-separated")
	flag.StringVar(&o.bin, "bin", "", "a concorde binary to attack instead of building this tree")
	flag.StringVar(&o.pg, "pg", "", "PostgreSQL URL (a schema of its own per scenario); empty: SQLite")
	flag.IntVar(&o.concurrency, "c", 16, "concurrent participants")
	flag.Uint64Var(&o.seed, "seed", 8, "seed of the opinions and the participants' choices")
	flag.BoolVar(&o.keep, "keep", false, "keep the databases and server logs")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "integrity:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "integrity: "+format+"\n", args...) }

func run(ctx context.Context, o options) error {
	if o.proposals < 2*(top+poor) || o.participants < 20 || !(o.bloc > 0 && o.bloc < 0.5) {
		return errors.New("need at least 26 proposals, 20 participants and a bloc between 0 and 0.5")
	}
	dir, err := os.MkdirTemp("", "concorde-integrity-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	bin := o.bin
	if bin == "" {
		logf("building the binary in %s", dir)
		if bin, err = e2e.Build(ctx, dir); err != nil {
			return err
		}
	}
	var rows []*outcome
	for i, name := range strings.Split(o.attacks, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains([]string{"honest", "direct", "harvest", "profile"}, name) {
			return fmt.Errorf("unknown scenario %q: use honest, direct, harvest or profile", name)
		}
		db := filepath.Join(dir, fmt.Sprintf("%d-%s.db", i, name))
		drop := func() {}
		if o.pg != "" {
			if db, drop, err = e2e.PostgresSchema(ctx, o.pg, fmt.Sprintf("integrity_%d", i)); err != nil {
				return err
			}
		}
		out, err := scenario(ctx, o, bin, db, filepath.Join(dir, name+".log"), name)
		if !o.keep {
			drop()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		rows = append(rows, out)
	}
	report(o, rows)
	return nil
}

// outcome is what one scenario measured.
type outcome struct {
	name           string
	precision      float64 // published top 10 against the true top 10
	blocInTop      int     // the bloc's poor proposals in the published top 10
	weighted       *float64
	weightedBloc   int
	fewestAt12     int // fewest votes on a proposal once 12 per proposal were cast
	fewestHonest12 int // the same once 12 honest votes per proposal were cast
	sequenceVotes  int64
	bloc           tally // how the server took the bloc's votes
	blocSequences  atomic.Int64
	blocRefused    atomic.Int64 // requests refused (429 and the like)
	elapsed        time.Duration
	besideVotes    int64
	honestSeqVotes int64
	coalesced      string // sessions counted as one participant (groups), or why not known
}

type tally struct{ sequence, beside, troll atomic.Int64 }

func (t *tally) add(trust string) {
	switch trust {
	case "sequence":
		t.sequence.Add(1)
	case "trusted":
		t.beside.Add(1)
	default:
		t.troll.Add(1)
	}
}

// world is the truth of one scenario: proposals, their true agreement, the bloc's targets.
type world struct {
	ids       []int64
	agree     map[int64]float64
	trueTop   map[int64]bool
	poor      map[int64]bool // the bloc's poor proposals, pushed
	targets   map[int64]string
	voted     sync.Map // id → *atomic.Int64: votes cast with a sequence key that counted
	cast      atomic.Int64
	fewest12  atomic.Int64 // -1 until 12 votes per proposal were cast
	fewest12o sync.Once
	// The same once 12 honest votes per proposal were cast: the bloc's own full-weight votes,
	// all on its targets, are counted in the figure above, which then has fewer honest votes
	// to spread over the others.
	honestCast      atomic.Int64
	fewestHonest12  atomic.Int64
	fewestHonest12o sync.Once
}

func newWorld(ids []int64, seed uint64) *world {
	rng := rand.New(rand.NewPCG(seed, 1))
	w := &world{ids: ids, agree: map[int64]float64{}, trueTop: map[int64]bool{}, poor: map[int64]bool{}, targets: map[int64]string{}}
	perm := rng.Perm(len(ids))
	for k, j := range perm {
		id := ids[j]
		switch {
		case k < top: // the true top 10: 72 to 80 %
			w.agree[id] = 0.72 + 0.08*float64(k)/float64(top)
			w.trueTop[id] = true
			w.targets[id] = "disagree"
		case k < top+poor: // the bloc's poor proposals: 20 %
			w.agree[id] = 0.20
			w.poor[id] = true
			w.targets[id] = "agree"
		default: // the rest: 10 to 60 %
			w.agree[id] = 0.10 + 0.50*rng.Float64()
		}
		w.voted.Store(id, new(atomic.Int64))
	}
	w.fewest12.Store(-1)
	w.fewestHonest12.Store(-1)
	return w
}

// counted records a vote the server counted in the results (cast by an honest participant
// or the bloc), and the fewest votes on a proposal the moment 12 per proposal have been
// cast, and the moment 12 honest votes per proposal have.
func (w *world) counted(id int64, honest bool) {
	v, _ := w.voted.Load(id)
	v.(*atomic.Int64).Add(1)
	if w.cast.Add(1) == int64(12*len(w.ids)) {
		w.fewest12o.Do(func() { w.fewest12.Store(w.fewest()) })
	}
	if honest && w.honestCast.Add(1) == int64(12*len(w.ids)) {
		w.fewestHonest12o.Do(func() { w.fewestHonest12.Store(w.fewest()) })
	}
}

// fewest is the fewest votes counted on a proposal.
func (w *world) fewest() int64 {
	fewest := int64(-1)
	w.voted.Range(func(_, v any) bool {
		if n := v.(*atomic.Int64).Load(); fewest < 0 || n < fewest {
			fewest = n
		}
		return true
	})
	return fewest
}

// opinion is how an honest participant votes on id.
func (w *world) opinion(rng *rand.Rand, id int64) string {
	a := w.agree[id]
	switch r := rng.Float64(); {
	case r < a:
		return "agree"
	case r < a+(1-a)*0.8:
		return "disagree"
	}
	return "neutral"
}

type card struct {
	ID  int64  `json:"id"`
	Key string `json:"key"`
}

type sequence struct {
	Proposals []card `json:"proposals"`
}

type voteAnswer struct {
	Trust string `json:"trust"`
}

// source is the local address participant i dials from: three participants per address,
// as in households; the bloc's members have addresses of their own, after the others.
func source(i int) string {
	k := i / 3
	return fmt.Sprintf("127.%d.%d.%d", 1+k/62500, (k/250)%250, 2+k%250)
}

func scenario(ctx context.Context, o options, bin, db, logPath, name string) (*outcome, error) {
	out := &outcome{name: name}
	start := time.Now()
	srv, err := e2e.StartWith(bin, db, logPath, e2e.Options{Demo: true, Env: []string{
		// The production limits, which e2e.Start lifts for load tests.
		"CONCORDE_VOTE_LIMIT_PER_SOURCE=600", "CONCORDE_SEQUENCE_LIMIT_PER_SOURCE=120",
	}})
	if err != nil {
		return out, err
	}
	defer func() { _ = srv.Kill() }()
	token, err := srv.Token(ctx, tenantSlug, adminEmail)
	if err != nil {
		return out, err
	}
	logf("%s: seeding %d proposals, accepted at once", name, o.proposals)
	ids, err := srv.Seed(ctx, e2e.Consultation{Host: host, Token: token, Slug: slug, Proposals: o.proposals})
	if err != nil {
		return out, err
	}
	w := newWorld(ids, o.seed)
	admin := srv.Client(ctx, host, token)
	blocSize := int(float64(o.participants)*o.bloc + 0.5)
	honest := o.participants - blocSize
	{
		// The population: every age band weighs about the same; among honest participants
		// the oldest are rare (2 %), so raking would weigh each of them several times. Set in
		// every scenario, so the weighted view is measured without a bloc too.
		margins := map[string]map[string]float64{"age_band": {"18-24": 0.2, "25-34": 0.2, "35-49": 0.2, "50-64": 0.2, "65-plus": 0.2}}
		if _, err := admin.Do("PUT", "/api/v1/tenant/margins", margins, nil); err != nil {
			return out, err
		}
	}
	logf("%s: %d honest participants, a bloc of %d", name, honest, blocSize)
	var firstErr error
	var errOnce sync.Once
	fail := func(err error) { errOnce.Do(func() { firstErr = err }) }
	var wg sync.WaitGroup
	jobs := make(chan func(), o.concurrency)
	for range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				j()
			}
		}()
	}
	bands := []string{"18-24", "18-24", "18-24", "18-24", "25-34", "25-34", "25-34", "35-49", "35-49", "50-64"}
	// Honest participants and the bloc arrive mixed, the bloc spread over the run.
	order := make([]int, o.participants)
	for i := range order {
		order[i] = i
	}
	rand.New(rand.NewPCG(o.seed, 3)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for _, i := range order {
		rng := rand.New(rand.NewPCG(o.seed, uint64(100+i)))
		c := e2e.ClientAt(ctx, srv.URL, host, source(i), "")
		isBloc := i >= honest
		var job func() error
		switch {
		case !isBloc:
			band := bands[rng.IntN(len(bands))]
			if rng.Float64() < 0.02 {
				band = "65-plus"
			}
			job = func() error { return honestParticipant(c, w, rng, o.sequences, band, nil) }
		case name == "direct":
			job = func() error { return directBloc(c, w, out) }
		case name == "harvest":
			job = func() error { return harvestBloc(ctx, srv.URL, source(i), w, o.sessions, out) }
		case name == "profile":
			job = func() error { return honestParticipant(c, w, rng, o.sequences, "65-plus", out) }
		default: // honest only: the bloc's share votes like everyone
			job = func() error { return honestParticipant(c, w, rng, o.sequences, bands[rng.IntN(len(bands))], nil) }
		}
		jobs <- func() {
			if err := job(); err != nil {
				fail(err)
			}
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return out, firstErr
	}
	// Closing the consultation makes every node read its counters afresh.
	if _, err := admin.Do("POST", "/api/v1/consultations/"+slug+"/close", nil, nil); err != nil {
		return out, err
	}
	time.Sleep(2500 * time.Millisecond)
	// Coalescing (sessions of one source voting alike count once) is computed in the
	// background with the opinion groups; the scores take it in from the next catalog entry.
	var res results
	for wait := 0; ; wait++ {
		if _, err := admin.Do("GET", "/api/v1/consultations/"+slug+"/results?limit=100000", nil, &res); err != nil {
			return out, err
		}
		if !res.OpinionGroups.Pending || wait == 60 {
			break
		}
		time.Sleep(time.Second)
	}
	if res.OpinionGroups.Pending {
		out.coalesced = "pending"
	} else {
		time.Sleep(2500 * time.Millisecond) // the entry built after the computation
		if _, err := admin.Do("GET", "/api/v1/consultations/"+slug+"/results?limit=100000", nil, &res); err != nil {
			return out, err
		}
		out.coalesced = fmt.Sprintf("%d (%d)", res.OpinionGroups.CoalescedSessions, res.OpinionGroups.CoalescedGroups)
	}
	out.precision, out.blocInTop = w.score(res.top())
	out.sequenceVotes, out.besideVotes = res.SequenceVotes, res.BesideVotes
	{
		var wr weighted
		if _, err := admin.Do("GET", "/api/v1/consultations/"+slug+"/results/weighted", nil, &wr); err != nil {
			return out, err
		}
		p, b := w.score(wr.top(float64(10)))
		out.weighted, out.weightedBloc = &p, b
	}
	out.fewestAt12 = int(w.fewest12.Load())
	out.fewestHonest12 = int(w.fewestHonest12.Load())
	out.elapsed = time.Since(start)
	logf("%s: precision@10 %.2f, bloc proposals in the top 10: %d, fewest votes at 12 per proposal: %d (%s)",
		name, out.precision, out.blocInTop, out.fewestAt12, out.elapsed.Round(time.Second))
	return out, srv.Stop(30 * time.Second)
}

// score is precision@10 of a published top and the bloc's poor proposals in it.
func (w *world) score(topIDs []int64) (precision float64, bloc int) {
	hits := 0
	for _, id := range topIDs {
		if w.trueTop[id] {
			hits++
		}
		if w.poor[id] {
			bloc++
		}
	}
	return float64(hits) / top, bloc
}

// honestParticipant votes through the sequence, as they think (or, with a bloc tally, as the
// bloc says on its targets), after giving an age band.
func honestParticipant(c *e2e.Client, w *world, rng *rand.Rand, sequences int, band string, bloc *outcome) error {
	if err := c.Participate(); err != nil {
		return err
	}
	if _, err := c.Do("PUT", "/api/v1/my/profile", map[string]string{"age_band": band}, nil); err != nil {
		return err
	}
	for range sequences {
		var seq sequence
		if _, err := c.Do("GET", "/api/v1/consultations/"+slug+"/sequence", nil, &seq); err != nil {
			return err
		}
		if len(seq.Proposals) == 0 {
			return nil
		}
		for _, p := range seq.Proposals {
			v := w.opinion(rng, p.ID)
			if t, ok := w.targets[p.ID]; ok && bloc != nil {
				v = t
			}
			var a voteAnswer
			if _, err := c.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", p.ID), map[string]any{"vote": v, "key": p.Key}, &a); err != nil {
				return err
			}
			if bloc != nil {
				bloc.bloc.add(a.Trust)
			}
			if a.Trust == "sequence" {
				w.counted(p.ID, bloc == nil)
			}
		}
	}
	return nil
}

// directBloc votes on every target through its shareable page.
func directBloc(c *e2e.Client, w *world, out *outcome) error {
	if err := c.Participate(); err != nil {
		return err
	}
	for id, v := range w.targets {
		var p struct {
			Key string `json:"key"`
		}
		if _, err := c.Do("GET", fmt.Sprintf("/api/v1/proposals/%d", id), nil, &p); err != nil {
			return err
		}
		var a voteAnswer
		if _, err := c.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", id), map[string]any{"vote": v, "key": p.Key}, &a); err != nil {
			return err
		}
		out.bloc.add(a.Trust)
		if a.Trust == "sequence" {
			w.counted(id, false)
		}
	}
	return nil
}

// harvestBloc opens fresh sessions one after another from one address, and in each asks for
// sequences until targets show up (up to 9 sequences), voting on the targets only.
func harvestBloc(ctx context.Context, base, src string, w *world, sessions int, out *outcome) error {
	for range sessions {
		c := e2e.ClientAt(ctx, base, host, src, "")
		if err := c.Participate(); err != nil {
			return err
		}
		found := false
		for range 9 {
			var seq sequence
			out.blocSequences.Add(1)
			status, err := c.Do("GET", "/api/v1/consultations/"+slug+"/sequence", nil, &seq)
			if status == 429 {
				out.blocRefused.Add(1)
				break
			}
			if err != nil {
				return err
			}
			for _, p := range seq.Proposals {
				v, ok := w.targets[p.ID]
				if !ok {
					continue
				}
				found = true
				var a voteAnswer
				status, err := c.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", p.ID), map[string]any{"vote": v, "key": p.Key}, &a)
				if status == 429 || status == 400 {
					out.blocRefused.Add(1)
					continue
				}
				if err != nil {
					return err
				}
				out.bloc.add(a.Trust)
				if a.Trust == "sequence" {
					w.counted(p.ID, false)
				}
			}
			if found {
				break
			}
		}
	}
	return nil
}

// results is the part of the results API the attack reads.
type results struct {
	OpinionGroups struct {
		Pending           bool `json:"pending"`
		CoalescedGroups   int  `json:"coalesced_groups"`
		CoalescedSessions int  `json:"coalesced_sessions"`
	} `json:"opinion_groups"`
	SequenceVotes int64  `json:"sequence_votes"`
	BesideVotes   int64  `json:"beside_votes"`
	Consensus     []item `json:"consensus"`
	Controversy   []item `json:"controversy"`
	Rejection     []item `json:"rejection"`
	Limbo         []item `json:"limbo"`
	Undetermined  []item `json:"undetermined"`
}

type item struct {
	ID     int64 `json:"id"`
	Scores struct {
		Top float64 `json:"top"`
	} `json:"scores"`
}

// top is the published top 10: every proposal with enough votes to be placed, by top score.
func (r results) top() []int64 {
	var all []item
	for _, l := range [][]item{r.Consensus, r.Controversy, r.Rejection, r.Limbo, r.Undetermined} {
		all = append(all, l...)
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Scores.Top != all[j].Scores.Top {
			return all[i].Scores.Top > all[j].Scores.Top
		}
		return all[i].ID < all[j].ID
	})
	ids := make([]int64, 0, top)
	for _, it := range all[:min(top, len(all))] {
		ids = append(ids, it.ID)
	}
	return ids
}

type weighted struct {
	Proposals []struct {
		ID    int64   `json:"id"`
		Agree float64 `json:"agree"`
		Votes float64 `json:"weighted_votes"`
	} `json:"proposals"`
}

// top is the weighted results' top 10 by agreement, among proposals with minVotes or more.
func (r weighted) top(minVotes float64) []int64 {
	ps := slices.Clone(r.Proposals)
	ps = slices.DeleteFunc(ps, func(p struct {
		ID    int64   `json:"id"`
		Agree float64 `json:"agree"`
		Votes float64 `json:"weighted_votes"`
	}) bool {
		return p.Votes < minVotes
	})
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Agree != ps[j].Agree {
			return ps[i].Agree > ps[j].Agree
		}
		return ps[i].ID < ps[j].ID
	})
	ids := make([]int64, 0, top)
	for _, p := range ps[:min(top, len(ps))] {
		ids = append(ids, p.ID)
	}
	return ids
}

func report(o options, rows []*outcome) {
	fmt.Printf("\n%d proposals accepted at once, %d participants (%d sequences of 12 each), a bloc of %.0f %% pushing %d poor proposals in and the true top %d out.\n\n",
		o.proposals, o.participants, o.sequences, o.bloc*100, poor, top)
	fmt.Println("| scenario | precision@10 | bloc proposals in the top 10 | fewest votes at 12 per proposal (at 12 honest votes per proposal) | bloc votes: sequence / beside / troll | bloc requests refused | sessions coalesced (groups) | time |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- |")
	ok, okWeighted := true, true
	for _, r := range rows {
		p := fmt.Sprintf("%.2f", r.precision)
		b := fmt.Sprintf("%d", r.blocInTop)
		if r.weighted != nil {
			p += fmt.Sprintf(" (weighted %.2f)", *r.weighted)
			b += fmt.Sprintf(" (weighted %d)", r.weightedBloc)
			okWeighted = okWeighted && *r.weighted >= 0.9 && r.weightedBloc == 0
		}
		blocVotes := "—"
		if r.name != "honest" {
			blocVotes = fmt.Sprintf("%d / %d / %d", r.bloc.sequence.Load(), r.bloc.beside.Load(), r.bloc.troll.Load())
		}
		refused := "—"
		if r.name == "harvest" {
			refused = fmt.Sprintf("%d (of %d sequences asked)", r.blocRefused.Load(), r.blocSequences.Load())
		}
		fmt.Printf("| %s | %s | %s | %d (%d) | %s | %s | %s | %s |\n", r.name, p, b, r.fewestAt12, r.fewestHonest12, blocVotes, refused, r.coalesced, r.elapsed.Round(time.Second))
		ok = ok && r.precision >= 0.9 && r.blocInTop == 0
	}
	verdict := map[bool]string{true: "met", false: "NOT met"}
	fmt.Printf("\nTargets (precision@10 ≥ 0.9, no bloc proposal in the top 10, every scenario), published results: %s; weighted view: %s\n",
		verdict[ok], verdict[okWeighted])
}
