package main

import (
	"math"
	"strconv"
	"time"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// The plugin's pages speak the tenant's language: French, or English for an "en" site. Codes
// (categories, statuses, accessibility) stay English in storage and in the JSON API; only
// what people read is translated.

// The agenda's times are entered and shown in the tenant's time zone (sdk.Location: Europe/Paris
// for a site in metropolitan France, America/Cayenne in Guiana…); they are stored in UTC.

// lang is "en" for an English site, else "fr".
var lang = sdk.Lang // "en" or "fr"

var texts = map[string]map[string]string{
	"fr": {
		"agenda_title": "Agenda culturel", "filter_from": "Du", "filter_to": "Au", "filter_category": "Catégorie",
		"filter_place": "Lieu", "filter_all": "Toutes", "filter_submit": "Filtrer", "ical": "Calendrier iCalendar",
		"ical_category": "Calendrier « %s »", "ideas_link": "Programmation citoyenne", "staff_link": "Espace équipe",
		"no_events": "Aucun événement sur cette période.", "free": "Gratuit", "interested_n": "%d intéressé·e·s",
		"age_from": "dès %d ans", "age_to": "jusqu'à %d ans", "accessibility": "Accessibilité", "more_info": "Plus d'informations",
		"from_idea": "Cet événement vient d'une <a href=\"%s\">proposition citoyenne</a>.", "interest": "Ça m'intéresse (%d)",
		"interest_signin": "Connectez-vous pour dire que cet événement vous intéresse.", "venue": "Lieu", "dates": "Dates",
		"ideas_title": "Programmation citoyenne", "ideas_intro": "Proposez des activités pour l'agenda culturel et votez pour celles que vous voulez voir programmées.",
		"votes_n": "%d vote(s)", "scheduled": "Programmée :", "see_event": "voir l'événement", "vote_for": "Je vote pour",
		"propose_legend": "Proposer une activité", "title": "Titre", "description": "Description", "propose": "Proposer",
		"no_ideas": "Aucune proposition pour l'instant.", "idea_sent": "Merci ! Votre proposition sera publiée après relecture par l'équipe.",
		"not_found": "Cet événement ou cette proposition n'existe pas.", "error": "Une erreur est survenue.",
		"bad_form": "Le formulaire n'a pas pu être lu.", "signin_to_vote": "Se connecter pour voter",
		"signin_to_propose": "Connectez-vous pour proposer une activité.",
	},
	"en": {
		"agenda_title": "Cultural agenda", "filter_from": "From", "filter_to": "To", "filter_category": "Category",
		"filter_place": "Place", "filter_all": "All", "filter_submit": "Filter", "ical": "iCalendar feed",
		"ical_category": "“%s” calendar", "ideas_link": "Citizen programming", "staff_link": "Staff area",
		"no_events": "No events in this period.", "free": "Free", "interested_n": "%d interested",
		"age_from": "from age %d", "age_to": "up to age %d", "accessibility": "Accessibility", "more_info": "More information",
		"from_idea": "This event comes from a <a href=\"%s\">citizen idea</a>.", "interest": "I'm interested (%d)",
		"interest_signin": "Sign in to say this event interests you.", "venue": "Venue", "dates": "Dates",
		"ideas_title": "Citizen programming", "ideas_intro": "Propose activities for the cultural agenda and vote for those you want to see programmed.",
		"votes_n": "%d vote(s)", "scheduled": "Scheduled:", "see_event": "see the event", "vote_for": "Vote for it",
		"propose_legend": "Propose an activity", "title": "Title", "description": "Description", "propose": "Propose",
		"no_ideas": "No ideas yet.", "idea_sent": "Thank you! Your idea will be published once the staff have read it.",
		"not_found": "This event or idea does not exist.", "error": "Something went wrong.",
		"bad_form": "The form could not be read.", "signin_to_vote": "Sign in to vote",
		"signin_to_propose": "Sign in to propose an activity.",
	},
}

var categoryLabels = map[string]map[string]string{
	"fr": {"concert": "Concert", "theatre": "Théâtre", "exhibition": "Exposition", "cinema": "Cinéma", "dance": "Danse",
		"festival": "Festival", "workshop": "Atelier", "heritage": "Patrimoine", "reading": "Lecture", "other": "Autre"},
	"en": {"concert": "Concert", "theatre": "Theatre", "exhibition": "Exhibition", "cinema": "Cinema", "dance": "Dance",
		"festival": "Festival", "workshop": "Workshop", "heritage": "Heritage", "reading": "Reading", "other": "Other"},
}

var statusLabels = map[string]map[string]string{
	"fr": {"scheduled": "Programmé", "postponed": "Reporté", "cancelled": "Annulé", "full": "Complet"},
	"en": {"scheduled": "Scheduled", "postponed": "Postponed", "cancelled": "Cancelled", "full": "Sold out"},
}

var accessibilityLabels = map[string]map[string]string{
	"fr": {"hearing": "Handicap auditif", "visual": "Handicap visuel", "motor": "Handicap moteur", "mental": "Handicap psychique", "intellectual": "Handicap mental"},
	"en": {"hearing": "Hearing impairment", "visual": "Visual impairment", "motor": "Reduced mobility", "mental": "Psychiatric disability", "intellectual": "Intellectual disability"},
}

// label is the text of code in one of the tables, the code itself when it has none.
func label(table map[string]map[string]string, l, code string) string {
	if s, ok := table[l][code]; ok {
		return s
	}
	return code
}

// tr is the text of key in language l.
func tr(l, key string) string {
	if s, ok := texts[l][key]; ok {
		return s
	}
	if s, ok := staffTexts[l][key]; ok {
		return s
	}
	return key
}

// price writes an amount of euros as people of the language read it: "12,50 €", "€12.50";
// whole amounts without decimals ("8 €").
func price(l string, eur float64) string {
	cents := int64(math.Round(eur * 100))
	whole, frac := strconv.FormatInt(cents/100, 10), ""
	if cents%100 != 0 {
		frac = strconv.FormatInt(cents%100+100, 10)[1:]
	}
	if l == "en" {
		if frac != "" {
			whole += "." + frac
		}
		return "€" + whole
	}
	if frac != "" {
		whole += "," + frac
	}
	return whole + "\u00a0€"
}

// when writes a time for people of the language, in the tenant's zone.
func when(l string, zone *time.Location, t time.Time) string {
	t = t.In(zone)
	if l == "en" {
		return t.Format("Mon 2 Jan 2006, 3:04 pm")
	}
	days := [...]string{"dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."}
	return days[t.Weekday()] + " " + t.Format("02/01/2006 15:04")
}

// frenchMessages say in French what the validation (written in English, for the JSON API)
// found wrong in a field, for the pages of French sites.
var frenchMessages = map[string]string{
	"title":          "Le titre doit compter de 3 à 140 caractères (5 pour une idée).",
	"description":    "La description est trop longue.",
	"category":       "Choisissez une catégorie dans la liste.",
	"venue.name":     "Donnez le nom du lieu (200 caractères au plus).",
	"venue.address":  "L'adresse est trop longue.",
	"slots":          "Donnez une date et une heure de début et de fin.",
	"slots[0].end":   "La fin doit venir après le début.",
	"price_eur":      "Donnez un prix entre 0 et 10 000 €, ou cochez « Entrée gratuite ».",
	"age_min":        "Les âges vont de 0 à 120 ans.",
	"age_max":        "L'âge maximum doit être au moins l'âge minimum.",
	"accessibility":  "Choisissez l'accessibilité dans la liste.",
	"status":         "Choisissez un état dans la liste.",
	"link":           "Le lien doit être une adresse http ou https.",
	"reason":         "Donnez un motif (500 caractères au plus).",
	"vote":           "Vous ne pouvez pas voter pour votre propre idée.",
	"ideas":          "Ce site ne reçoit pas de propositions d'activités en ce moment.",
	"idea":           "Cette idée est déjà programmée.",
	"recurrence.end": "La récurrence doit finir après son début.",
}

// message is what a page shows of a field error, in the page's language.
func message(l string, fe *fieldError) string {
	if l == "fr" {
		if m, ok := frenchMessages[fe.Field]; ok {
			return m
		}
	}
	return fe.Message
}
