package httpapi

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/account"
	"github.com/concorde-civic/concorde/core/booth"
	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/proposal"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/vote"
	"github.com/concorde-civic/concorde/tenants"
	"github.com/concorde-civic/concorde/web"
)

// The site's pages: server-rendered, working as plain forms, enhanced by web/static/site.js.
// Page handlers use the same services (and, for votes, the same vote method) as the JSON API.

const (
	localeCookie  = "concorde_lang"
	profileCookie = "concorde_profile" // "done" once the profile questions were answered or skipped
	// profileAfter is how many votes a participant casts before the profile questions appear.
	profileAfter = 3
)

// locale is the visitor's language: the cookie the language link sets, else the tenant's.
func (s *Server) locale(c *fiber.Ctx) string {
	l := c.Cookies(localeCookie)
	for _, ok := range tenants.Locales {
		if l == ok {
			return l
		}
	}
	return caller.Tenant(c.UserContext()).DefaultLocale
}

// tr is a catalogue text in the visitor's language.
func (s *Server) tr(c *fiber.Ctx, key string) string { return s.Pages.T(s.locale(c), key) }

// page is the frame every page template receives.
func (s *Server) page(c *fiber.Ctx, title string, data any) web.Page {
	ctx := c.UserContext()
	p := caller.PrincipalOf(ctx)
	return web.Page{Tenant: caller.Tenant(ctx), Locale: s.locale(c), Title: title, CSRFToken: s.csrfToken(ctx), Data: data,
		Nav: web.Nav{SignedIn: !p.Anonymous(), Email: p.Email,
			Admin: s.may(c, "moderation", "update") || s.may(c, "consultations", "update"),
			Audit: s.may(c, "audit", "read"), Path: string(c.Request().URI().RequestURI())}}
}

func (s *Server) render(c *fiber.Ctx, status int, name, title string, data any) error {
	return s.Pages.Render(c, status, name, s.page(c, title, data))
}

// seeOther redirects after a form post (303, so the browser GETs the target).
func seeOther(c *fiber.Ctx, to string) error { return c.Redirect(to, fiber.StatusSeeOther) }

// localPath keeps a return address on this site; anything else becomes fallback. Browsers
// drop tabs and newlines from a URL, trim spaces and control characters, and read a backslash
// as a slash, so "/\t/evil.example" or "/\\evil.example" would leave for another host: only a
// path of this site (one slash, then no second slash or backslash) in valid UTF-8 without any
// control character, whitespace or backslash is kept.
func localPath(p, fallback string) string {
	if len(p) < 1 || len(p) > 2048 || p[0] != '/' || len(p) > 1 && (p[1] == '/' || p[1] == '\\') || !utf8.ValidString(p) {
		return fallback
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return fallback
		}
	}
	return p
}

// formValues is every value of a repeated form field.
func formValues(c *fiber.Ctx, name string) []string {
	var out []string
	for _, v := range c.Request().PostArgs().PeekMulti(name) {
		out = append(out, string(v))
	}
	if f, err := c.MultipartForm(); err == nil && f != nil {
		out = append(out, f.Value[name]...)
	}
	return out
}

// postPage registers a page's form route: it reads an HTML form, never JSON. A client that
// sends JSON (or a bearer token) anyway is an API client: its errors come back as JSON.
func (s *Server) postPage(r Route, h fiber.Handler, extra ...fiber.Handler) {
	r.Method = post
	s.handle(r, h, append([]fiber.Handler{apiClientErrors}, extra...)...)
}

func apiClientErrors(c *fiber.Ctx) error {
	ct := string(c.Request().Header.ContentType())
	if strings.HasPrefix(ct, fiber.MIMEApplicationJSON) || strings.HasPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ") {
		if c.Get(fiber.HeaderAccept) == "" || c.Get(fiber.HeaderAccept) == "*/*" {
			c.Request().Header.Set(fiber.HeaderAccept, fiber.MIMEApplicationJSON)
		}
	}
	return c.Next()
}

// wantsFragment is true for the site's own scripts, which post forms and want JSON back.
func wantsFragment(c *fiber.Ctx) bool { return c.Get(fiber.HeaderAccept) == fiber.MIMEApplicationJSON }

// --- citizen site ---

type homePage struct {
	Open       []homeTile
	Past, Soon []consultation.Consultation
	Plugins    []web.Link
}

// homeTile is an open consultation with its participation so far.
type homeTile struct {
	consultation.Consultation
	Proposals int
	Votes     int64
}

// qualGroup is the qualifications of one vote key, as the card shows them.
type qualGroup struct {
	Key   string
	Quals []string
	Shown bool
}

// cardView is one proposal to vote on.
type cardView struct {
	ID      int64
	Prefix  string
	Content string
	Themes  []string
	Key     string
	Slug    string
	Return  string
	Vote    string // the vote just cast, when the card asks for qualifications
	Groups  []qualGroup
}

func newCard(slug, prefix string, id int64, content string, themes []string, key, ret, voted string) *cardView {
	cv := &cardView{ID: id, Prefix: prefix, Content: content, Themes: themes, Key: key, Slug: slug, Return: ret, Vote: voted}
	for _, k := range results.Keys() {
		g := qualGroup{Key: string(k), Shown: voted == string(k)}
		for _, q := range results.QualificationsOf(k) {
			g.Quals = append(g.Quals, string(q))
		}
		cv.Groups = append(cv.Groups, g)
	}
	return cv
}

type proposeForm struct {
	Content string
	Error   string
	Sent    bool
	Min     int
	Max     int
}

type consultationPage struct {
	C            consultation.Consultation
	ContextHTML  template.HTML
	Open         bool
	Published    bool
	Proposals    int
	Votes        int64
	MyVotes      int
	Card         *cardView
	AskProfile   bool // the profile questions come now instead of a card (no-JS flow)
	OfferProfile bool // the page carries the profile questions for the script to slip in
	ProfileAfter int
	AgeBands     []string
	Genders      []string
	Done         bool
	Propose      proposeForm
	// Where the visitor is in the current sequence (Position of Total, both from 1), out of
	// the consultation's sequence size; SequenceEnd once they voted on a whole sequence.
	Seq         sequenceStep
	SequenceEnd bool
	// ShareURL is the consultation's address, for the end-of-sequence share link.
	ShareURL string
}

// sequenceStep is the progress of a sequence: the card shown is Position of Total (Total is
// the sequence size, or less when fewer proposals are left to vote on).
type sequenceStep struct {
	Position, Total, Size int
}

// next is the address of the consultation's page for the card after this one, which carries
// the position along (without JavaScript, each card is a page).
func (q sequenceStep) next(slug string) string {
	return "/c/" + slug + "?" + url.Values{"n": {strconv.Itoa(q.Position + 1)}, "of": {strconv.Itoa(q.Total)}}.Encode()
}

// sequencePosition reads the position a page address carries (n, from 1; of, the total
// shown so far), within what the sequence size allows; it is only a display, never trusted.
func sequencePosition(v url.Values, size int) (pos, of int) {
	pos, _ = strconv.Atoi(v.Get("n"))
	of, _ = strconv.Atoi(v.Get("of"))
	pos = min(max(pos, 1), size+1)
	return pos, min(max(of, pos), size)
}

// consultationPage builds a consultation's page for the visitor, at position pos of their
// sequence (1 for a fresh one); card is the card just voted on (its qualification step), if any.
func (s *Server) consultationPage(c *fiber.Ctx, e *catalog.Entry, card *cardView, pf proposeForm, pos, of int) (consultationPage, error) {
	ctx := c.UserContext()
	cs := e.Consultation
	pg := consultationPage{C: cs, ContextHTML: cs.ContextHTML(), Open: cs.IsOpen(s.now()), Published: cs.Status == consultation.Published,
		Proposals: len(e.Proposals), ProfileAfter: profileAfter, AgeBands: account.AgeBands, Genders: account.Genders, Propose: pf,
		ShareURL: c.BaseURL() + "/c/" + cs.Slug}
	pg.Seq.Size = booth.SequenceConfig(e).Size
	pg.Seq.Position, pg.Seq.Total = min(max(pos, 1), pg.Seq.Size+1), min(max(of, pos, 1), pg.Seq.Size)
	pg.Propose.Min, pg.Propose.Max = proposal.MinLength, proposal.MaxLength
	for _, n := range e.Counts {
		pg.Votes += n.Total(results.Sequence) + n.Total(results.Trusted)
	}
	me := caller.PrincipalOf(ctx).Participant()
	if !pg.Open || me == "" {
		return pg, nil
	}
	var voted map[int64]results.Key
	if !caller.PrincipalOf(ctx).NewParticipant { // a participant made by this request has no votes
		var err error
		if voted, err = s.Votes.Voted(ctx, tenantID(c), cs.ID, me); err != nil {
			return pg, err
		}
	}
	pg.MyVotes = len(voted)
	if c.Cookies(profileCookie) != "done" {
		pr, err := s.Account.Profile(ctx, tenantID(c), me)
		if err != nil {
			return pg, err
		}
		if pr.AgeBand == "" && pr.Gender == "" && pr.Area == "" {
			pg.OfferProfile = true
			pg.AskProfile = card == nil && pg.MyVotes >= profileAfter
		}
	}
	if card != nil {
		pg.Card = card
		return pg, nil
	}
	if pg.Seq.Position > pg.Seq.Size {
		// A whole sequence voted on: the call to action first (the profile questions, if
		// due, come with the next sequence).
		pg.SequenceEnd, pg.AskProfile = true, false
		return pg, nil
	}
	if pg.AskProfile {
		return pg, nil
	}
	origin := s.booth.Origin(tenantID(c), e, me, clientNetwork(c), len(voted), true) // core/vote rules 6 and 7
	ids := s.booth.Sequence(e, me, voted, origin, 1)                                 // a page shows one card
	if len(ids) == 0 {
		pg.Done = true
		return pg, nil
	}
	pg.Seq.Total = min(pg.Seq.Size, pg.Seq.Position-1+len(ids))
	p := e.Proposals[ids[0]]
	pg.Card = newCard(cs.Slug, cs.Prefix, p.ID, p.Content, p.Themes, s.Signer.Key(tenantID(c), p.ID, me, origin), pg.Seq.next(cs.Slug), "")
	return pg, nil
}

type searchPage struct {
	C         consultation.Consultation
	Query     string
	Theme     string
	Page      proposal.Page
	Results   []searchResult
	Prev      string
	Next      string
	Searching bool
}

// searchResult is one proposal found, with its vote form while the consultation is open.
type searchResult struct {
	proposal.Proposal
	Card *cardView // nil when the participant cannot vote here
	Mine string    // the participant's current vote on it, if any
}

// VoteForm is the result's vote form (the "voteform" partial), named by its text.
func (r searchResult) VoteForm(csrf string) voteForm {
	id := "p-" + strconv.FormatInt(r.ID, 10)
	return voteForm{cardView: r.Card, Mine: r.Mine, CSRF: csrf, LabelID: id + "-text", MineID: id + "-mine", Small: true}
}

// voteForm is a vote form outside the sequence, on a search result or a proposal's page (the
// "voteform" partial): the card, the visitor's current vote (shown once, as a line and the
// chosen button), the page's CSRF token, and the ids of the element naming the form, of the
// line saying the vote, and of the form itself (empty: none).
type voteForm struct {
	*cardView
	Mine, CSRF              string
	FormID, LabelID, MineID string
	Small                   bool // the compact buttons of a list
}

// searchVoted is the return address of a search page after a vote on one of its results
// (no-JS flow): the page then shows that result's qualifications.
func searchVoted(ret string, id int64) string {
	u, err := url.Parse(ret)
	if err != nil {
		return ret
	}
	q := u.Query()
	q.Set("voted", strconv.FormatInt(id, 10))
	u.RawQuery = q.Encode()
	u.Fragment = "p-" + strconv.FormatInt(id, 10)
	return u.String()
}

// VoteForm is the proposal page's vote form, named by the section's title.
func (v proposalView) VoteForm(csrf string) voteForm {
	return voteForm{cardView: v.Card, Mine: v.Mine, CSRF: csrf, FormID: "proposal-vote", LabelID: "vote-title", MineID: "my-vote"}
}

type proposalView struct {
	P         proposal.Proposal
	C         consultation.Consultation
	Card      *cardView
	Mine      string // the visitor's current vote on it, if any: shown once, on its vote form
	Share     string
	Pending   bool
	IsAuthor  bool
	Published bool
}

func (s *Server) pageRoutes() {
	s.handle(Route{Method: get, Path: "/lang/:locale", Perm: permSite, Summary: "Choose the site's language (fr or en), then go back"}, func(c *fiber.Ctx) error {
		l := c.Params("locale")
		ok := false
		for _, x := range tenants.Locales {
			ok = ok || x == l
		}
		if !ok {
			return errs.E(errs.NotFound, "no such language").Say("err_language_not_found")
		}
		s.setCookie(c, localeCookie, l, 365*24*time.Hour)
		return seeOther(c, localPath(c.Query("next"), "/"))
	})

	s.handle(Route{Method: get, Path: "/c/:slug", Perm: tenant("consultations", "read"), Summary: "A consultation's page: question, context and the proposals to vote on"}, func(c *fiber.Ctx) error {
		e, err := s.entryFor(c)
		if err != nil {
			return err
		}
		pf := proposeForm{Sent: c.Query("proposed") == "1"}
		pos, of := sequencePosition(url.Values{"n": {c.Query("n")}, "of": {c.Query("of")}}, booth.SequenceConfig(e).Size)
		pg, err := s.consultationPage(c, e, nil, pf, pos, of)
		if err != nil {
			return err
		}
		return s.render(c, fiber.StatusOK, "consultation", e.Consultation.Question, pg)
	})

	// The vote form: step "vote" casts the vote and shows its qualifications; step "qualify"
	// casts it again with the qualifications chosen, then moves to the next card.
	s.postPage(Route{Path: "/c/:slug/vote", Perm: tenant("votes", "create"), Summary: "Vote from a consultation's page (form)"}, func(c *fiber.Ctx) error {
		id, err := strconv.ParseInt(c.FormValue("proposal"), 10, 64)
		if err != nil || id <= 0 {
			return errs.Field("proposal", "the form names no proposal; reload the page and try again").Say("err_form_no_proposal")
		}
		// Copied: the vote may wait in the vote queue after this request's buffers are reused.
		in := voteRequest{Vote: strings.Clone(c.FormValue("vote")), Key: strings.Clone(c.FormValue("key")), Qualifications: formValues(c, "qualification")}
		ret := localPath(c.FormValue("return"), "/c/"+c.Params("slug"))
		// A vote from the search page goes back to it, to the result voted on.
		search := strings.HasPrefix(ret, "/c/"+c.Params("slug")+"/proposals")
		anchor := "#vote"
		if search {
			anchor = "#p-" + strconv.FormatInt(id, 10)
		}
		if c.FormValue("step") == "qualify" && len(in.Qualifications) == 0 {
			return seeOther(c, ret+anchor)
		}
		if _, err := s.booth.Cast(c.UserContext(), s.ballot(c, id, in)); err != nil {
			return err
		}
		if c.FormValue("step") == "qualify" {
			return seeOther(c, ret+anchor)
		}
		if search {
			return seeOther(c, searchVoted(ret, id))
		}
		e, p, err := s.Catalog.ByProposal(c.UserContext(), tenantID(c), id)
		if err != nil {
			return err
		}
		card := newCard(e.Consultation.Slug, e.Consultation.Prefix, p.ID, p.Content, p.Themes, in.Key, ret, in.Vote)
		if strings.HasPrefix(ret, "/proposals/") {
			full, err := s.Proposals.Get(c.UserContext(), tenantID(c), id)
			if err != nil {
				return err
			}
			pv := proposalView{P: full, C: e.Consultation, Card: card, Mine: in.Vote, Share: c.BaseURL() + "/proposals/" + strconv.FormatInt(id, 10)}
			return s.render(c, fiber.StatusOK, "proposal", e.Consultation.Prefix+" "+p.Content, pv)
		}
		// The card voted on is the one before the position its return address carries.
		pos, of := 1, 1
		if u, err := url.Parse(ret); err == nil {
			pos, of = sequencePosition(u.Query(), booth.SequenceConfig(e).Size)
			pos = max(pos-1, 1)
		}
		pg, err := s.consultationPage(c, e, card, proposeForm{}, pos, of)
		if err != nil {
			return err
		}
		return s.render(c, fiber.StatusOK, "consultation", e.Consultation.Question, pg)
	})

	s.postPage(Route{Path: "/c/:slug/propose", Perm: tenant("proposals", "create"), Summary: "Propose from a consultation's page (form)"}, func(c *fiber.Ctx) error {
		e, err := s.entryFor(c)
		if err != nil {
			return err
		}
		content := strings.Clone(c.FormValue("content"))
		if _, err := s.booth.Propose(c.UserContext(), s.proposal(c, e, content)); err != nil {
			if k := errs.KindOf(err); k != errs.Invalid && k != errs.TooMany && k != errs.Conflict && k != errs.Unauthorized {
				return err
			}
			msg, _ := s.errorMessage(c, err)
			pg, perr := s.consultationPage(c, e, nil, proposeForm{Content: content, Error: msg}, 1, 1)
			if perr != nil {
				return perr
			}
			return s.render(c, statusOf[errs.KindOf(err)], "consultation", e.Consultation.Question, pg)
		}
		return seeOther(c, "/c/"+e.Consultation.Slug+"?proposed=1#propose")
	})

	s.postPage(Route{Path: "/c/:slug/profile", Perm: tenant("account", "update"), Summary: "Answer the optional profile questions (form)"}, func(c *fiber.Ctx) error {
		e, err := s.entryFor(c)
		if err != nil {
			return err
		}
		if c.FormValue("action") != "skip" {
			pr := profileFrom(c)
			if err := pr.Validate(); err != nil {
				return err
			}
			if err := s.Account.SetProfile(c.UserContext(), tenantID(c), caller.PrincipalOf(c.UserContext()).Participant(), pr); err != nil {
				return err
			}
		}
		s.setCookie(c, profileCookie, "done", 365*24*time.Hour)
		if wantsFragment(c) {
			return c.JSON(fiber.Map{"ok": true})
		}
		// Back to the sequence where it was (the return address carries the position).
		ret := localPath(c.FormValue("return"), "/c/"+e.Consultation.Slug)
		if !strings.HasPrefix(ret, "/c/"+e.Consultation.Slug+"?") {
			ret = "/c/" + e.Consultation.Slug
		}
		return seeOther(c, ret+"#vote")
	})

	s.handle(Route{Method: get, Path: "/c/:slug/proposals", Perm: tenant("proposals", "read"), Summary: "Search a consultation's accepted proposals"}, func(c *fiber.Ctx) error {
		e, err := s.entryFor(c)
		if err != nil {
			return err
		}
		q := proposal.Query{Text: c.Query("q"), Theme: c.Query("theme"), PerPage: 20}
		if q.Page, err = intQuery(c, "page", 1); err != nil {
			return err
		}
		if q.Theme != "" && !e.Consultation.HasTheme(q.Theme) {
			q.Theme = ""
		}
		res, err := s.Proposals.Search(c.UserContext(), tenantID(c), e.Consultation.ID, q)
		if err != nil {
			return err
		}
		sp := searchPage{C: e.Consultation, Query: q.Text, Theme: q.Theme, Page: res, Searching: q.Text != "" || q.Theme != ""}
		link := func(page int) string {
			v := url.Values{}
			if q.Text != "" {
				v.Set("q", q.Text)
			}
			if q.Theme != "" {
				v.Set("theme", q.Theme)
			}
			v.Set("page", strconv.Itoa(page))
			return "/c/" + e.Consultation.Slug + "/proposals?" + v.Encode()
		}
		if res.Page > 1 {
			sp.Prev = link(res.Page - 1)
		}
		if res.Page*res.PerPage < res.Total {
			sp.Next = link(res.Page + 1)
		}
		if sp.Results, err = s.searchResults(c, e.Consultation, res.Proposals, link(res.Page)); err != nil {
			return err
		}
		return s.render(c, fiber.StatusOK, "search", s.tr(c, "search_title"), sp)
	})

	s.handle(Route{Method: get, Path: "/proposals/:id", Perm: tenant("proposals", "read"), Summary: "A proposal's shareable page"}, func(c *fiber.Ctx) error {
		p, err := s.visibleProposal(c)
		if err != nil {
			return err
		}
		id, me := p.ID, caller.PrincipalOf(c.UserContext()).Participant()
		cs, err := s.Consultations.GetByID(c.UserContext(), tenantID(c), p.ConsultationID)
		if err != nil {
			return err
		}
		pv := proposalView{P: p, C: cs, Share: c.BaseURL() + "/proposals/" + strconv.FormatInt(id, 10), IsAuthor: p.IsAuthor(me),
			Pending: p.Status != proposal.Accepted, Published: cs.Status == consultation.Published}
		if p.Status == proposal.Accepted && cs.IsOpen(s.now()) && me != "" {
			if !caller.PrincipalOf(c.UserContext()).NewParticipant { // a participant made by this request has no votes
				voted, err := s.Votes.Voted(c.UserContext(), tenantID(c), cs.ID, me)
				if err != nil {
					return err
				}
				pv.Mine = string(voted[p.ID])
			}
			pv.Card = newCard(cs.Slug, cs.Prefix, p.ID, p.Content, p.Themes, s.Signer.Key(tenantID(c), p.ID, me, vote.Direct), "/proposals/"+strconv.FormatInt(id, 10), "")
		}
		return s.render(c, fiber.StatusOK, "proposal", cs.Prefix+" "+p.Content, pv)
	})

	s.resultPageRoutes()
	s.accountPageRoutes()
	s.adminPageRoutes()
	s.auditPageRoutes()
}

// searchResults gives each accepted proposal found its vote form, with a key signed for the
// search origin (a trusted vote, not a sequence one), and the participant's current vote.
func (s *Server) searchResults(c *fiber.Ctx, cs consultation.Consultation, ps []proposal.Proposal, ret string) ([]searchResult, error) {
	ctx := c.UserContext()
	out := make([]searchResult, len(ps))
	for i, p := range ps {
		out[i].Proposal = p
	}
	me := caller.PrincipalOf(ctx).Participant()
	if !cs.IsOpen(s.now()) || me == "" {
		return out, nil
	}
	var voted map[int64]results.Key
	if !caller.PrincipalOf(ctx).NewParticipant {
		var err error
		if voted, err = s.Votes.Voted(ctx, tenantID(c), cs.ID, me); err != nil {
			return nil, err
		}
	}
	just, _ := strconv.ParseInt(c.Query("voted"), 10, 64)
	for i, p := range ps {
		if p.Status != proposal.Accepted {
			continue
		}
		mine := string(voted[p.ID])
		qualify := "" // the qualification step, right after a vote without JavaScript
		if p.ID == just {
			qualify = mine
		}
		out[i].Mine = mine
		out[i].Card = newCard(cs.Slug, cs.Prefix, p.ID, p.Content, p.Themes, s.Signer.Key(tenantID(c), p.ID, me, vote.Search), ret, qualify)
	}
	return out, nil
}

// home lists the tenant's consultations: open ones first, then past ones.
func (s *Server) home(c *fiber.Ctx) error {
	cs, err := s.Consultations.List(c.UserContext(), tenantID(c), false)
	if err != nil {
		return err
	}
	var hp homePage
	now := s.now()
	for _, x := range cs {
		switch {
		case x.IsOpen(now):
			tile := homeTile{Consultation: x}
			if e, err := s.Catalog.BySlug(c.UserContext(), tenantID(c), x.Slug); err == nil {
				tile.Proposals = len(e.Proposals)
				for _, n := range e.Counts {
					tile.Votes += n.Total(results.Sequence) + n.Total(results.Trusted)
				}
			}
			hp.Open = append(hp.Open, tile)
		case x.Status == consultation.Closed || x.Status == consultation.Published:
			hp.Past = append(hp.Past, x)
		default:
			hp.Soon = append(hp.Soon, x)
		}
	}
	if s.Plugins != nil {
		if ps, err := s.Plugins.ForTenant(c.UserContext(), tenantID(c)); err == nil {
			for _, p := range ps {
				if p.Enabled {
					label := p.Title
					if label == "" {
						label = p.Name
					}
					hp.Plugins = append(hp.Plugins, web.Link{Href: "/p/" + p.Name + "/", Label: label})
				}
			}
		}
	}
	t := caller.Tenant(c.UserContext())
	return s.render(c, fiber.StatusOK, "home", t.Name, hp)
}
