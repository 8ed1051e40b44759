package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/concorde-civic/concorde/core/app"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/vote"
)

// demoConsultation is a consultation the demo creates with its proposals and votes.
type demoConsultation struct {
	tenant    string
	input     consultation.Input
	proposals []string
	themes    [][]string
	voters    int
	publish   bool
}

var consultations = []demoConsultation{
	{
		tenant: "bretagne",
		input: consultation.Input{
			Slug:     "culture",
			Question: "Comment rendre la culture accessible à tous ?",
			Context: "La culture est un bien commun, mais tout le monde n'y a pas accès de la même façon : " +
				"distance, prix, horaires, sentiment que « ce n'est pas pour moi ».\n\n" +
				"**Proposez vos solutions** en commençant par « Il faut … », et votez sur celles des autres. " +
				"Les propositions qui font consensus deviendront des actions, suivies publiquement avec nos partenaires.",
			Steps: []consultation.Step{
				{Title: "Consultation", Description: "Chacun propose et vote.", Date: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
				{Title: "Résultats", Description: "Publication du consensus et des controverses.", Date: time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)},
				{Title: "Actions", Description: "Les partenaires s'engagent sur les propositions retenues.", Date: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)},
			},
			Themes: []consultation.Theme{{Slug: "prix", Label: "Prix et gratuité"}, {Slug: "lieux", Label: "Lieux et horaires"},
				{Slug: "education", Label: "Éducation artistique"}, {Slug: "numerique", Label: "Numérique"}},
		},
		proposals: []string{
			"ouvrir les musées gratuitement le premier dimanche du mois",
			"rendre les bibliothèques ouvertes le soir et le dimanche",
			"organiser des concerts gratuits dans les parcs l'été",
			"créer un pass culture pour les personnes âgées",
			"emmener chaque élève au théâtre au moins une fois par an",
			"mettre des navettes gratuites vers les festivals ruraux",
			"numériser les archives locales et les rendre publiques",
			"faire payer les musées plus cher aux touristes",
			"supprimer les subventions aux opéras",
			"installer des boîtes à livres dans chaque quartier",
			"proposer des ateliers d'artistes dans les maisons de retraite",
			"diffuser les spectacles en direct sur internet",
			"baisser le prix des places de cinéma pour les étudiants",
			"ouvrir les salles des fêtes aux troupes amateurs",
			"traduire les expositions en langue bretonne",
			"rendre tous les lieux culturels accessibles en fauteuil",
		},
		themes: [][]string{{"prix", "lieux"}, {"lieux"}, {"prix"}, {"prix"}, {"education"}, {"lieux"}, {"numerique"}, {"prix"},
			{"prix"}, {"lieux"}, {"education"}, {"numerique"}, {"prix"}, {"lieux"}, {"education"}, {"lieux"}},
		voters: 120,
	},
	{
		tenant: "bordeaux",
		input: consultation.Input{
			Slug:     "mobilites",
			Question: "Comment mieux se déplacer dans la métropole ?",
			Context:  "Consultation close : voici ce que les Bordelaises et les Bordelais ont dit.",
			Themes:   []consultation.Theme{{Slug: "velo", Label: "Vélo"}, {Slug: "transports", Label: "Transports en commun"}},
		},
		proposals: []string{
			"créer des pistes cyclables séparées des voitures",
			"faire passer le tram toutes les cinq minutes le soir",
			"rendre les transports en commun gratuits le week-end",
			"interdire les trottinettes en libre-service",
			"construire plus de parkings en centre-ville",
			"installer des abris vélos sécurisés aux gares",
		},
		themes: [][]string{{"velo"}, {"transports"}, {"transports"}, {"velo"}, {"transports"}, {"velo"}},
		voters: 200, publish: true,
	},
}

// ensureConsultations creates the demo consultations once, with proposals and votes.
func ensureConsultations(ctx context.Context, a *app.App) error {
	for i, dc := range consultations {
		t, err := a.Tenants.BySlug(ctx, dc.tenant)
		if err != nil {
			return err
		}
		if _, err := a.Consultations.Get(ctx, t.ID, dc.input.Slug); err == nil {
			continue
		} else if !errs.Is(err, errs.NotFound) {
			return err
		}
		c, err := a.Consultations.Create(ctx, t.ID, actor, dc.input)
		if err != nil {
			return err
		}
		if c, err = a.Consultations.SetStatus(ctx, t.ID, actor, c.Slug, consultation.Open); err != nil {
			return err
		}
		var ids []int64
		for j, text := range dc.proposals {
			p, err := a.Proposals.Submit(ctx, t.ID, c, fmt.Sprintf("p:demo-author-%d", j), text)
			if err != nil {
				return fmt.Errorf("demo proposal %q: %w", text, err)
			}
			if _, err := a.Proposals.Accept(ctx, t.ID, p.ID, actor, dc.themes[j], c.ThemeSlugs()); err != nil {
				return err
			}
			ids = append(ids, p.ID)
		}
		if err := demoVotes(ctx, a, t.ID, c.ID, ids, dc.voters, uint64(i)); err != nil {
			return err
		}
		if dc.publish {
			for _, st := range []consultation.Status{consultation.Closed, consultation.Published} {
				if _, err := a.Consultations.SetStatus(ctx, t.ID, actor, c.Slug, st); err != nil {
					return err
				}
			}
		}
		a.Catalog.Invalidate(t.ID, c.ID)
	}
	return nil
}

// demoVotes has simulated participants vote through the sequence, each proposal with its
// own leaning, so the demo results show consensus, controversy and rejection.
func demoVotes(ctx context.Context, a *app.App, tenantID, consultationID int64, ids []int64, voters int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 42))
	lean := make([][3]float64, len(ids))
	for i := range lean {
		switch i % 4 {
		case 0, 1: // consensus
			lean[i] = [3]float64{0.75, 0.1, 0.15}
		case 2: // controversy
			lean[i] = [3]float64{0.45, 0.45, 0.1}
		default: // rejection
			lean[i] = [3]float64{0.15, 0.7, 0.15}
		}
	}
	keys := results.Keys()
	for v := 0; v < voters; v++ {
		participant := fmt.Sprintf("p:demo-voter-%d", v)
		for i, id := range ids {
			if rng.Float64() < 0.3 {
				continue
			}
			r, k := rng.Float64(), 2
			if r < lean[i][0] {
				k = 0
			} else if r < lean[i][0]+lean[i][1] {
				k = 1
			}
			var quals []results.Qualification
			if rng.IntN(3) == 0 {
				quals = results.QualificationsOf(keys[k])[:1]
			}
			if _, err := a.Votes.Cast(ctx, vote.Ballot{TenantID: tenantID, ConsultationID: consultationID, ProposalID: id,
				Participant: participant, Key: keys[k], Qualifications: quals, Trust: results.Sequence, Origin: vote.Sequence}); err != nil {
				return err
			}
		}
	}
	return nil
}
