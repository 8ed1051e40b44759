// Package account is what a participant does with their own identity: sign up (their
// anonymous votes and proposals follow them), answer the optional profile questions,
// download everything the site holds about them, and erase it (GDPR). Votes stay counted
// after erasure, detached from the person.
package account

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/mail"
	"github.com/concorde-civic/concorde/core/proposal"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/staff"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/core/vote"
	"github.com/concorde-civic/concorde/tenants"
)

// Service is the account service.
type Service struct {
	db        *bun.DB
	staff     *staff.Service
	users     *identity.Users
	votes     *vote.Service
	proposals *proposal.Service
	authz     *authz.Authorizer
	// Outbox, when set, loses the e-mails to an erased account's address, sent or not.
	Outbox *mail.Outbox
	Now    func() time.Time
}

// New wires the account service.
func New(db *bun.DB, st *staff.Service, users *identity.Users, votes *vote.Service, proposals *proposal.Service, az *authz.Authorizer) *Service {
	return &Service{db: db, staff: st, users: users, votes: votes, proposals: proposals, authz: az, Now: time.Now}
}

// Profile is the optional answers a participant gives so results can be split and weighted
// by segment. Empty means not answered.
type Profile struct {
	AgeBand string `json:"age_band"`
	Gender  string `json:"gender"`
	Area    string `json:"area"`
}

// AgeBands and Genders are the answers the profile questions offer.
var (
	AgeBands = []string{"under-18", "18-24", "25-34", "35-49", "50-64", "65-plus"}
	Genders  = []string{"female", "male", "other"}
	areaRe   = regexp.MustCompile(`^[0-9]{2}$|^2[AB]$|^97[1-6]$`)
)

// Validate checks a profile's answers.
func (p Profile) Validate() error {
	if p.AgeBand != "" && !contains(AgeBands, p.AgeBand) {
		return errs.Field("age_band", "age_band must be one of %s, or empty", strings.Join(AgeBands, ", ")).Say("err_profile_age")
	}
	if p.Gender != "" && !contains(Genders, p.Gender) {
		return errs.Field("gender", "gender must be one of %s, or empty", strings.Join(Genders, ", ")).Say("err_profile_gender")
	}
	if p.Area != "" && !areaRe.MatchString(p.Area) {
		return errs.Field("area", "area must be the first two digits of a French postcode (or 2A, 2B, 971–976), or empty").Say("err_profile_area")
	}
	return nil
}

// Results gives the profile as the results package's segments see it.
func (p Profile) Results() results.Profile {
	return results.Profile{AgeBand: p.AgeBand, Gender: p.Gender, Area: p.Area}
}

type profileRow struct {
	bun.BaseModel `bun:"table:participant_profiles,alias:pp"`
	TenantID      int64     `bun:"tenant_id,pk"`
	Participant   string    `bun:"participant,pk"`
	AgeBand       string    `bun:"age_band"`
	Gender        string    `bun:"gender"`
	Area          string    `bun:"area"`
	ConsentAt     time.Time `bun:"consent_at"`
}

func (r *profileRow) SetTenantID(id int64) { r.TenantID = id }

// SignUp creates a citizen account on the site (never on the platform site) and moves the visitor's anonymous
// participation (votes, proposals, profile) to it.
func (s *Service) SignUp(ctx context.Context, tenantID int64, email, name, password, anonymous string) (staff.Member, error) {
	if tenantID == tenants.PlatformID {
		// Accounts of the platform tenant are staff, who may sign in on every site where they
		// hold a role: only a platform admin creates them, or anyone could claim a staff address.
		return staff.Member{}, errs.E(errs.Forbidden, "accounts cannot be created on the platform site; sign up on your organisation's site").Say("err_signup_platform")
	}
	// Not through the staff service: a citizen signing up is no staff decision, and the
	// append-only audit log must not keep the email of someone who may later be erased.
	u, err := s.users.Create(ctx, tenantID, email, name, password)
	if err != nil {
		return staff.Member{}, err
	}
	if err := s.authz.Grant(ctx, authz.UserSubject(tenantID, u.ID), authz.Citizen, authz.Domain(tenantID)); err != nil {
		return staff.Member{}, err
	}
	m := staff.Member{User: u, Roles: []string{string(authz.Citizen)}}
	if anonymous != "" {
		if err := s.Adopt(ctx, tenantID, anonymous, authz.UserSubject(tenantID, m.ID)); err != nil {
			return m, err
		}
	}
	return m, nil
}

// Adopt moves an anonymous participant's votes, proposals and profile to an account when
// they sign in. Where both voted on one proposal, the account's vote stands.
func (s *Service) Adopt(ctx context.Context, tenantID int64, from, to string) error {
	if from == "" || from == to || !strings.HasPrefix(from, "p:") {
		return nil
	}
	if _, err := s.votes.Merge(ctx, tenantID, from, to); err != nil {
		return err
	}
	sc := store.For(s.db, tenantID)
	if _, err := sc.Update((*proposal.Proposal)(nil)).Set("author = ?", to).Where("author = ?", from).Exec(ctx); err != nil {
		return fmt.Errorf("adopt proposals: %w", err)
	}
	var existing []profileRow
	if err := sc.Select(&existing).Where("participant = ?", to).Scan(ctx); err != nil {
		return err
	}
	if len(existing) == 0 {
		if _, err := sc.Update((*profileRow)(nil)).Set("participant = ?", to).Where("participant = ?", from).Exec(ctx); err != nil {
			return fmt.Errorf("adopt profile: %w", err)
		}
	} else if _, err := sc.Delete((*profileRow)(nil)).Where("participant = ?", from).Exec(ctx); err != nil {
		return err
	}
	return nil
}

// SetProfile records a participant's answers and their consent to use them.
func (s *Service) SetProfile(ctx context.Context, tenantID int64, participant string, p Profile) error {
	if participant == "" {
		return errs.E(errs.Unauthorized, "your browser must accept cookies to answer").Say("err_cookies_needed")
	}
	if err := p.Validate(); err != nil {
		return err
	}
	row := profileRow{Participant: participant, AgeBand: p.AgeBand, Gender: p.Gender, Area: p.Area, ConsentAt: s.Now().UTC().Truncate(time.Microsecond)}
	_, err := store.For(s.db, tenantID).Insert(&row).
		On("CONFLICT (tenant_id, participant) DO UPDATE").
		Set("age_band = EXCLUDED.age_band, gender = EXCLUDED.gender, area = EXCLUDED.area, consent_at = EXCLUDED.consent_at").
		Exec(ctx)
	return err
}

// Profile returns a participant's answers (empty if none).
func (s *Service) Profile(ctx context.Context, tenantID int64, participant string) (Profile, error) {
	var rows []profileRow
	if err := store.For(s.db, tenantID).Select(&rows).Where("participant = ?", participant).Scan(ctx); err != nil {
		return Profile{}, err
	}
	if len(rows) == 0 {
		return Profile{}, nil
	}
	return Profile{AgeBand: rows[0].AgeBand, Gender: rows[0].Gender, Area: rows[0].Area}, nil
}

// Data is everything the site holds about one participant.
type Data struct {
	ExportedAt time.Time           `json:"exported_at"`
	Account    *identity.User      `json:"account,omitempty"`
	Profile    Profile             `json:"profile"`
	Proposals  []proposal.Proposal `json:"proposals"`
	Votes      []VoteRecord        `json:"votes"`
}

// VoteRecord is one of the participant's votes, with the proposal it is on.
type VoteRecord struct {
	ProposalID     int64     `json:"proposal_id"`
	Proposal       string    `json:"proposal"`
	Vote           string    `json:"vote"`
	Qualifications []string  `json:"qualifications"`
	At             time.Time `json:"at"`
}

// Export gathers a participant's data (the account when userID is not 0).
func (s *Service) Export(ctx context.Context, tenantID int64, participant string, userID int64) (Data, error) {
	d := Data{ExportedAt: s.Now().UTC(), Proposals: []proposal.Proposal{}, Votes: []VoteRecord{}}
	if userID != 0 {
		u, err := s.users.ByID(ctx, tenantID, userID)
		if err != nil {
			return d, err
		}
		d.Account = &u
	}
	if participant == "" {
		return d, nil
	}
	var err error
	if d.Profile, err = s.Profile(ctx, tenantID, participant); err != nil {
		return d, err
	}
	sc := store.For(s.db, tenantID)
	if err := sc.Select(&d.Proposals).Where("author = ?", participant).Order("created_at").Scan(ctx); err != nil {
		return d, err
	}
	var vs []vote.Vote
	if err := sc.Select(&vs).Where("participant = ?", participant).Order("updated_at").Scan(ctx); err != nil {
		return d, err
	}
	contents := map[int64]string{}
	if len(vs) > 0 {
		ids := make([]int64, len(vs))
		for i, v := range vs {
			ids[i] = v.ProposalID
		}
		var ps []proposal.Proposal
		if err := sc.Select(&ps).Column("id", "content").Where("id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
			return d, err
		}
		for _, p := range ps {
			contents[p.ID] = p.Content
		}
	}
	for _, v := range vs {
		d.Votes = append(d.Votes, VoteRecord{ProposalID: v.ProposalID, Proposal: contents[v.ProposalID], Vote: string(v.Key()),
			Qualifications: v.Qualifications.Strings(), At: v.UpdatedAt})
	}
	return d, nil
}

// Erase deletes a person's personal data, in one transaction: their votes are detached (they
// stay counted under random pseudonyms) and their proposals too (they stay, no longer
// attributed), through the vote and proposal services; their profile goes, and, when userID
// is not 0, the account with its tokens and sessions, then its roles. participants are the
// ids the person took part under on this site: the account's, and the browser's anonymous id
// (which signing up merged into the account, and which the browser may have kept). Each is
// retired, so that keeping it does not let the same person vote again as someone new.
func (s *Service) Erase(ctx context.Context, tenantID, userID int64, participants ...string) error {
	var ids []string
	for _, p := range participants {
		if p != "" && !contains(ids, p) {
			ids = append(ids, p)
		}
	}
	if len(ids) == 0 {
		return errs.E(errs.Invalid, "nothing to erase: this browser holds no participation").Say("err_nothing_to_erase")
	}
	err := store.For(s.db, tenantID).Tx(ctx, func(ctx context.Context, tx store.Scope) error {
		for _, p := range ids {
			if _, err := s.votes.DetachIn(ctx, tx, p); err != nil {
				return err
			}
			if _, err := s.proposals.DetachAuthorIn(ctx, tx, p); err != nil {
				return err
			}
			if _, err := tx.Delete((*profileRow)(nil)).Where("participant = ?", p).Exec(ctx); err != nil {
				return err
			}
		}
		if userID == 0 {
			return nil
		}
		if s.Outbox != nil {
			var u identity.User
			if err := tx.Select(&u).Where("u.id = ?", userID).Scan(ctx); err == nil {
				if err := s.Outbox.Forget(ctx, tx, u.Email); err != nil {
					return err
				}
			} else if !store.IsNoRows(err) {
				return err
			}
		}
		if _, err := tx.Delete((*identity.Token)(nil)).Where("user_id = ?", userID).Exec(ctx); err != nil {
			return err
		}
		// Its sessions, on every site, go with it (ON DELETE CASCADE).
		_, err := tx.Delete((*identity.User)(nil)).Where("id = ?", userID).Exec(ctx)
		return err
	})
	if err != nil {
		return err
	}
	if userID == 0 {
		return nil
	}
	// Roles live in Casbin's own store, outside the transaction (on SQLite, writing them inside
	// it would wait for it forever). The account is gone already, and ids are never reused,
	// so a grant left by a failure here gives nobody anything.
	sub := authz.UserSubject(tenantID, userID)
	for _, g := range s.authz.GrantsOf(sub) {
		if err := s.authz.Revoke(ctx, sub, g.Role, g.Domain); err != nil {
			return err
		}
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
