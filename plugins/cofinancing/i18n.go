package main

import (
	"errors"
	"strings"
	"time"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// The pages speak the site's language: French, or English on an "en" site. Codes (statuses,
// rule kinds, ledger kinds) stay English in storage and in the JSON API.

var lang = sdk.Lang // "en" or "fr"

var texts = map[string]map[string]string{
	"fr": {
		"title": "Co-financement", "intro": "Soutenez les projets culturels du territoire : chaque contribution compte, et les fonds d'abondement la complètent.",
		"no_projects": "Aucun projet à financer pour l'instant.", "deadline": "Date limite", "backers": "contributeurs", "backers_n": "%d contributeur·rice·s",
		"pledged": "promis", "matched": "abondé par les fonds", "minimum": "Objectif minimum", "optimum": "Objectif optimum",
		"of": "sur", "budget": "Budget détaillé", "item": "Poste", "amount": "Montant", "kind": "Objectif",
		"kind_minimum": "minimum", "kind_optimum": "optimum", "backers_title": "Contributeurs", "no_backers": "Aucune contribution pour l'instant.",
		"anonymous": "anonyme", "pledge_title": "Contribuer", "pledge_amount": "Montant (en euros)", "pledge_name": "Nom affiché publiquement (facultatif)",
		"pledge_name_help": "Laissez vide pour apparaître comme « anonyme ».", "pledge_submit": "Je contribue",
		"pledge_signin": "Connectez-vous pour contribuer.", "pledge_done": "Merci ! Votre promesse de %s est enregistrée.",
		"pledge_matched": "Les fonds d'abondement y ajoutent %s.", "pledge_closed": "Ce projet ne reçoit plus de contributions.",
		"pledge_how":   "Votre contribution est une promesse : si l'objectif minimum est atteint à la date limite, la collectivité vous indiquera comment la verser ; sinon rien n'est collecté.",
		"status_draft": "Brouillon", "status_open": "En cours", "status_funded": "Financé", "status_failed": "Non financé",
		"round_minimum": "1er tour : objectif minimum", "round_optimum": "2e tour : objectif optimum",
		"failed_note": "L'objectif minimum n'a pas été atteint : %s de promesses ont été libérées et %s rendus aux fonds.",
		"ledger":      "Registre public", "ledger_intro": "Chaque mouvement est chaîné au précédent par son empreinte SHA-256 : toute modification se voit.",
		"when": "Date", "what": "Mouvement", "who": "Qui", "hash": "Empreinte", "no_ledger": "Aucun mouvement.",
		"move_pledge": "Promesse", "move_match": "Abondement", "move_cancel": "Retrait", "move_release": "Libération",
		"move_match_return": "Retour au fonds", "move_confirm": "Versement reçu", "move_disbursement": "Dépense",
		"funds": "Fonds d'abondement", "fund": "Fonds", "fund_budget": "Budget", "fund_committed": "Engagé", "fund_remaining": "Disponible",
		"rule": "Règle", "rule_factor": "Chaque contribution est abondée ×%d", "rule_criteria": "Abondement ×%d une fois les critères atteints",
		"rule_quadratic": "Financement quadratique (formule CLR)", "cap_pledge": "plafond de %s par contribution", "cap_project": "plafond de %s par projet",
		"one_per_person": "une contribution abondée par personne", "min_backers": "au moins %d contributeur·rice·s", "target_percent": "%d %% de l'objectif minimum atteint",
		"fund_projects": "Projets soutenus", "estimate": "estimation actuelle : %s",
		"my_title": "Mes contributions", "my_none": "Vous n'avez fait aucune contribution.", "project": "Projet", "status": "État",
		"cancel": "Retirer ma contribution", "cancelled_done": "Votre contribution a été retirée.",
		"pledge_promised": "promise", "pledge_confirmed": "versée", "pledge_cancelled": "retirée", "pledge_released": "libérée",
		"my_link": "Mes contributions", "staff_link": "Espace équipe", "back": "Retour aux projets", "source_event": "Ce projet finance un <a href=\"%s\">événement de l'agenda culturel</a>.",
		"source_proposal": "Ce projet vient d'une proposition citoyenne retenue.",
		"not_found":       "Ce projet, ce fonds ou cette contribution n'existe pas.", "error": "Une erreur est survenue.", "bad_form": "Le formulaire n'a pas pu être lu.",
		"try_again": "Revenir à la page précédente",
	},
	"en": {
		"title": "Co-financing", "intro": "Back the area's cultural projects: every pledge counts, and match-funding adds to it.",
		"no_projects": "No projects to fund yet.", "deadline": "Deadline", "backers": "backers", "backers_n": "%d backer(s)",
		"pledged": "pledged", "matched": "matched by funds", "minimum": "Minimum goal", "optimum": "Optimum goal",
		"of": "of", "budget": "Itemised budget", "item": "Item", "amount": "Amount", "kind": "Goal",
		"kind_minimum": "minimum", "kind_optimum": "optimum", "backers_title": "Backers", "no_backers": "No pledges yet.",
		"anonymous": "anonymous", "pledge_title": "Pledge", "pledge_amount": "Amount (euros)", "pledge_name": "Name shown publicly (optional)",
		"pledge_name_help": "Leave empty to appear as “anonymous”.", "pledge_submit": "Pledge",
		"pledge_signin": "Sign in to pledge.", "pledge_done": "Thank you! Your pledge of %s is recorded.",
		"pledge_matched": "Match-funding adds %s.", "pledge_closed": "This project no longer takes pledges.",
		"pledge_how":   "Your pledge is a promise: if the minimum goal is reached by the deadline, you will be told how to pay; otherwise nothing is collected.",
		"status_draft": "Draft", "status_open": "Open", "status_funded": "Funded", "status_failed": "Not funded",
		"round_minimum": "Round 1: minimum goal", "round_optimum": "Round 2: optimum goal",
		"failed_note": "The minimum goal was not reached: %s of pledges were released and %s returned to the funds.",
		"ledger":      "Public ledger", "ledger_intro": "Each movement is chained to the previous one by its SHA-256 hash: any change shows.",
		"when": "Date", "what": "Movement", "who": "Who", "hash": "Hash", "no_ledger": "No movements.",
		"move_pledge": "Pledge", "move_match": "Match", "move_cancel": "Withdrawal", "move_release": "Release",
		"move_match_return": "Returned to fund", "move_confirm": "Payment received", "move_disbursement": "Disbursement",
		"funds": "Match-funding", "fund": "Fund", "fund_budget": "Budget", "fund_committed": "Committed", "fund_remaining": "Available",
		"rule": "Rule", "rule_factor": "Each pledge matched ×%d", "rule_criteria": "Matched ×%d once the criteria are met",
		"rule_quadratic": "Quadratic funding (CLR formula)", "cap_pledge": "at most %s per pledge", "cap_project": "at most %s per project",
		"one_per_person": "one matched pledge per person", "min_backers": "at least %d backers", "target_percent": "%d%% of the minimum goal reached",
		"fund_projects": "Projects", "estimate": "current estimate: %s",
		"my_title": "My pledges", "my_none": "You have made no pledges.", "project": "Project", "status": "Status",
		"cancel": "Withdraw my pledge", "cancelled_done": "Your pledge was withdrawn.",
		"pledge_promised": "promised", "pledge_confirmed": "paid", "pledge_cancelled": "withdrawn", "pledge_released": "released",
		"my_link": "My pledges", "staff_link": "Staff area", "back": "Back to the projects", "source_event": "This project funds an <a href=\"%s\">event of the cultural agenda</a>.",
		"source_proposal": "This project comes from an accepted citizen proposal.",
		"not_found":       "This project, fund or pledge does not exist.", "error": "Something went wrong.", "bad_form": "The form could not be read.",
		"try_again": "Back to the previous page",
	},
}

func tr(l, key string) string {
	if s, ok := texts[l][key]; ok {
		return s
	}
	if s, ok := staffTexts[l][key]; ok {
		return s
	}
	return key
}

// when writes a time for people of the language, in the site's time zone (sdk.Location).
func when(l string, zone *time.Location, t time.Time) string {
	t = t.In(zone)
	if l == "en" {
		return t.Format("2 Jan 2006, 3:04 pm")
	}
	return t.Format("02/01/2006 à 15:04")
}

// frenchMessages say in French what went wrong with a field, for the pages of French sites
// (the JSON API answers in English, like the host's).
var frenchMessages = map[string]string{
	"amount_cents":     "Le montant n'est pas accepté : vérifiez qu'il reste dans les limites indiquées et ne dépasse pas ce qu'il manque au projet.",
	"amount":           "Donnez un montant en euros, avec au plus deux décimales.",
	"public_name":      "Le nom affiché compte 60 caractères au plus.",
	"idempotency_key":  "Ce formulaire a déjà été envoyé pour une autre contribution : rechargez la page.",
	"status":           "Ce projet ne permet pas cette action dans son état actuel.",
	"title":            "Le titre doit compter de 3 à 140 caractères.",
	"name":             "Le nom doit compter de 3 à 140 caractères.",
	"description":      "La description est trop longue.",
	"deadline":         "La date limite doit être dans le futur (deux ans au plus).",
	"budget":           "Donnez au moins un poste « minimum » avec son libellé et son montant.",
	"budget_cents":     "Le budget du fonds doit être d'au moins 1 €.",
	"minimum_cents":    "L'objectif minimum doit être d'au moins 1 €.",
	"optimum_cents":    "L'objectif optimum doit être au moins l'objectif minimum.",
	"rule.kind":        "Choisissez une règle d'abondement valide.",
	"rule.factor":      "Le coefficient est un nombre entier de 1 à 10.",
	"rule.min_backers": "La règle par critères demande un nombre minimum de contributeurs ou un pourcentage de l'objectif.",
	"project_id":       "Choisissez un projet en brouillon ou en cours, pas encore rattaché à ce fonds.",
	"purpose":          "Indiquez l'objet de la dépense (3 à 300 caractères).",
	"source.id":        "La source indiquée n'existe pas.",
	"source.kind":      "Choisissez une source dans la liste.",
	"form":             "Le formulaire n'a pas pu être lu.",
}

// message is what a page shows of an error, in the page's language.
func message(l string, err error) string {
	var e *sdk.Error
	if !errors.As(err, &e) || sdk.KindOf(err) == sdk.Internal {
		return tr(l, "error")
	}
	if l == "fr" {
		if m, ok := frenchMessages[e.Field]; ok {
			return m
		}
		if strings.HasPrefix(e.Field, "budget[") {
			return frenchMessages["budget"]
		}
		if strings.HasPrefix(e.Field, "rule.") {
			return "Les plafonds et critères du fonds sont des nombres entiers positifs."
		}
		switch sdk.KindOf(err) {
		case sdk.NotFound:
			return tr(l, "not_found")
		case sdk.Unauthorized:
			return tr(l, "pledge_signin")
		}
		return tr(l, "error")
	}
	return e.Message
}
