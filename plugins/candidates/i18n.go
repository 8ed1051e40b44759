package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// The plugin's pages speak the tenant's language (or the visitor's choice): French, or
// English. Codes (agree, disagree, neutral, skip) stay English in storage and in the JSON API;
// only what people read is translated.

// lang is "en" for an English site or visitor, else "fr".
var lang = sdk.Lang // "en" or "fr"

var texts = map[string]map[string]string{
	"fr": {
		"elections_title": "Élections : les candidats face au consensus citoyen",
		"elections_intro": "Avant chaque scrutin, les candidats prennent position sur les propositions que les habitants ont soutenues le plus largement. Répondez aux mêmes affirmations et voyez qui est le plus proche de vous.",
		"no_elections":    "Aucune élection pour l'instant.",
		"election_date":   "Scrutin du %s", "deadline": "Les candidats peuvent prendre position jusqu'au %s.",
		"deadline_passed": "La date limite est passée : les positions sont définitives.",
		"statements":      "Les affirmations",
		"from_consultation": "Ces %d affirmations sont les propositions les plus consensuelles de la consultation « %s » (%d votes), " +
			"choisies par une règle publiée : parmi les propositions en zone de consensus des résultats publiés, celles dont la borne basse " +
			"de l'intervalle à 95 %% du score « top » est la plus haute (à égalité, le score le plus haut, puis le plus petit numéro de proposition).",
		"results_sha":         "Empreinte SHA-256 des résultats publiés dont elles sont tirées :",
		"explicit_statements": "Affirmations fixées par l'équipe du site.",
		"candidates":          "Les candidats",
		"order_note":          "Les candidats sont présentés dans un ordre tiré au hasard pour chaque visiteur, avec la même place et la même présentation pour chacun.",
		"order_seed":          "Graine de votre ordre : %s.",
		"pending":             "invitation en attente", "no_candidates_yet": "Aucun candidat pour l'instant.",
		"start_quiz":   "Trouver le candidat le plus proche de mes réponses",
		"history_link": "Historique public des positions", "method_link": "La méthode de calcul",
		"staff_link": "Espace équipe", "my_positions": "Mes positions de candidat·e", "proposal_ref": "proposition n° %d, %s de score « top » (intervalle %s – %s)",
		"quiz_title": "Questionnaire", "progress": "Affirmation %d sur %d",
		"agree": "D'accord", "disagree": "Pas d'accord", "neutral": "Neutre", "skip": "Passer", "no_position": "Pas de position",
		"your_answer": "Votre réponse", "important": "Cette affirmation compte double pour moi",
		"next": "Suivant", "back": "Précédent", "see_result": "Voir le résultat",
		"use_votes":      "Reprendre mes votes de la consultation",
		"votes_used":     "%d réponses reprises de vos votes dans la consultation ; vous pouvez les changer.",
		"no_votes":       "Aucun vote de votre part n'a été trouvé sur ces propositions.",
		"nothing_stored": "Vos réponses ne sont enregistrées nulle part : elles servent seulement à calculer votre résultat.",
		"result_title":   "Votre résultat", "points": "%d points sur %d",
		"answered_n":    "Calculé sur %d affirmation(s) répondue(s) ; les affirmations passées ne comptent pas.",
		"table_caption": "Positions côte à côte", "statement": "Affirmation", "you": "Vous",
		"source": "source", "edit_answers": "Modifier mes réponses", "counts_double": "compte double",
		"no_candidates": "Aucun candidat n'a encore accepté son invitation.", "result_order": "Du plus proche au plus éloigné ; à égalité, dans votre ordre tiré au hasard.",
		"history_title": "Historique des positions", "history_intro": "Chaque position prise ou changée par un candidat, dans l'ordre, telle qu'elle a été publiée. Rien n'est effacé.",
		"at": "Date", "candidate": "Candidat", "position": "Position", "previous": "Avant", "justification": "Justification", "no_changes": "Aucune position pour l'instant.",
		"method_title":      "La méthode",
		"method_statements": "Les affirmations viennent du consensus des citoyens : quand l'équipe crée une élection à partir d'une consultation, le site lit les résultats publiés (gelés, avec leur empreinte SHA-256) et retient les N propositions de la zone de consensus dont la borne basse de l'intervalle à 95 % du score « top » est la plus haute. Une proposition soutenue par peu de votes a un intervalle large et passe après une proposition aussi bien notée mais plus sûre. L'élection garde l'empreinte des résultats utilisés.",
		"method_scoring":    "Le calcul est celui du Wahl-O-Mat. Pour chaque affirmation à laquelle vous répondez : 2 points si la position du candidat est la même que votre réponse, 1 point si l'un des deux est neutre et l'autre non, 0 point si elles sont opposées ou si le candidat n'a pas pris position. Une affirmation passée ne compte ni pour vous ni pour le candidat. Une affirmation marquée « compte double » compte deux fois, dans les points comme dans le maximum. Le pourcentage est le nombre de points divisé par le maximum possible avec vos réponses, arrondi à l'unité.",
		"method_example":    "Exemple : vous êtes d'accord avec A (compte double), neutre sur B et vous passez C. Le maximum est 2×2 + 2 = 6 points. Un candidat d'accord avec A et contre B obtient 2×2 + 1 = 5 points, soit 83 %.",
		"method_order":      "L'ordre des candidats est tiré au hasard pour chaque visiteur (mélange de Fisher–Yates, générateur PCG initialisé par l'empreinte SHA-256 d'une graine propre au visiteur), et chacun a la même place et la même présentation. La graine est affichée : n'importe qui peut refaire le tirage.",
		"method_history":    "Les candidats justifient chaque position (500 caractères au plus) et peuvent citer une source (adresse https). Chaque changement est conservé et public. Après la date limite, plus rien ne change. Vos réponses au questionnaire ne sont pas enregistrées.",
		"invite_title":      "Invitation", "invite_text": "Vous êtes invité·e à prendre position, au nom de %s%s, sur les affirmations de l'élection « %s ».",
		"invite_accept": "Accepter et prendre position", "invite_signin": "Connectez-vous pour accepter l'invitation.",
		"invite_taken": "Cette invitation a déjà été acceptée par un autre compte.",
		"me_title":     "Mes positions", "me_intro": "Vous parlez pour %s. Chaque position et chaque changement sont publiés dans l'historique public.",
		"justification_field": "Justification (500 caractères au plus)", "source_field": "Source (adresse https, facultative)",
		"save": "Enregistrer", "saved": "Position enregistrée et publiée.", "closed": "La date limite est passée : vos positions sont définitives.",
		"staff_title": "Élections — espace équipe", "new_election": "Nouvelle élection", "title": "Intitulé", "date": "Date du scrutin",
		"deadline_field": "Date limite des positions", "consultation": "Consultation aux résultats publiés", "count": "Nombre d'affirmations",
		"or_statements": "Ou bien des affirmations, une par ligne (sans consultation)", "create": "Créer l'élection",
		"invite_legend": "Inviter un candidat", "name": "Nom", "list": "Liste", "email": "Adresse électronique", "invite": "Inviter",
		"invitation_link": "Lien d'invitation pour %s, à lui transmettre (il n'est affiché qu'une fois) :",
		"accepted":        "a accepté", "positions_n": "%d position(s)", "none": "— aucune —", "created": "Élection créée.",
		"open_election": "Page publique", "manage": "Gérer",
		"not_found": "Cette élection, cette affirmation ou cette invitation n'existe pas.", "error": "Une erreur est survenue.",
		"bad_form": "Le formulaire n'a pas pu être lu.", "forbidden": "Seul le compte qui a accepté l'invitation d'un candidat prend position pour lui, dans cette élection seulement.",
		"conflict": "Cela a changé entre-temps ; rechargez la page.",
	},
	"en": {
		"elections_title": "Elections: the candidates and the citizens' consensus",
		"elections_intro": "Before each election, candidates take positions on the proposals residents supported most widely. Answer the same statements and see who stands closest to you.",
		"no_elections":    "No elections yet.",
		"election_date":   "Election on %s", "deadline": "Candidates may take positions until %s.",
		"deadline_passed": "The deadline has passed: positions are final.",
		"statements":      "The statements",
		"from_consultation": "These %d statements are the most consensual proposals of the consultation “%s” (%d votes), " +
			"chosen by a published rule: among the proposals in the consensus zone of the published results, those whose lower bound " +
			"of the 95%% interval of the top score is highest (ties: the higher score, then the lower proposal number).",
		"results_sha":         "SHA-256 of the published results they come from:",
		"explicit_statements": "Statements set by the site's staff.",
		"candidates":          "The candidates",
		"order_note":          "Candidates are listed in an order drawn at random for each visitor, each with the same space and style.",
		"order_seed":          "Seed of your order: %s.",
		"pending":             "invitation pending", "no_candidates_yet": "No candidates yet.",
		"start_quiz":   "Find the candidate closest to my answers",
		"history_link": "Public history of positions", "method_link": "How it is computed",
		"staff_link": "Staff area", "my_positions": "My positions as a candidate", "proposal_ref": "proposal no. %d, top score %s (interval %s – %s)",
		"quiz_title": "Questionnaire", "progress": "Statement %d of %d",
		"agree": "Agree", "disagree": "Disagree", "neutral": "Neutral", "skip": "Skip", "no_position": "No position",
		"your_answer": "Your answer", "important": "This statement counts double for me",
		"next": "Next", "back": "Back", "see_result": "See the result",
		"use_votes":      "Use my votes from the consultation",
		"votes_used":     "%d answers taken from your votes in the consultation; you can change them.",
		"no_votes":       "No vote of yours was found on these proposals.",
		"nothing_stored": "Your answers are stored nowhere: they only compute your result.",
		"result_title":   "Your result", "points": "%d points out of %d",
		"answered_n":    "Computed on %d answered statement(s); skipped statements do not count.",
		"table_caption": "Positions side by side", "statement": "Statement", "you": "You",
		"source": "source", "edit_answers": "Change my answers", "counts_double": "counts double",
		"no_candidates": "No candidate has accepted their invitation yet.", "result_order": "Closest first; equal scores in your random order.",
		"history_title": "History of positions", "history_intro": "Every position a candidate took or changed, in order, as published. Nothing is erased.",
		"at": "Date", "candidate": "Candidate", "position": "Position", "previous": "Before", "justification": "Justification", "no_changes": "No positions yet.",
		"method_title":      "The method",
		"method_statements": "Statements come from the citizens' consensus: when staff create an election from a consultation, the site reads the published results (frozen, with their SHA-256) and keeps the N proposals of the consensus zone with the highest lower bound of the 95% interval of their top score. A proposal with few votes has a wide interval and comes after an equally rated but surer one. The election keeps the SHA-256 of the results used.",
		"method_scoring":    "The scoring is Wahl-O-Mat's. For each statement you answer: 2 points when the candidate's position is your answer, 1 point when one of the two is neutral and the other is not, 0 points when they are opposite or the candidate took no position. A skipped statement counts for neither side. A statement marked “counts double” counts twice, in the points and in the maximum. The percentage is the points divided by the maximum reachable with your answers, rounded to a whole number.",
		"method_example":    "Example: you agree with A (counts double), are neutral on B and skip C. The maximum is 2×2 + 2 = 6 points. A candidate who agrees with A and disagrees with B gets 2×2 + 1 = 5 points, that is 83%.",
		"method_order":      "Candidates are listed in an order drawn at random for each visitor (Fisher–Yates shuffle, PCG generator seeded with the SHA-256 of a seed of the visitor's own), each with the same space and style. The seed is shown: anyone can replay the draw.",
		"method_history":    "Candidates justify each position (500 characters at most) and may cite a source (an https address). Every change is kept and public. After the deadline nothing changes. Your answers to the questionnaire are not stored.",
		"invite_title":      "Invitation", "invite_text": "You are invited to take positions, for %s%s, on the statements of the election “%s”.",
		"invite_accept": "Accept and take positions", "invite_signin": "Sign in to accept the invitation.",
		"invite_taken": "This invitation was accepted by another account.",
		"me_title":     "My positions", "me_intro": "You speak for %s. Every position and every change is published in the public history.",
		"justification_field": "Justification (500 characters at most)", "source_field": "Source (https address, optional)",
		"save": "Save", "saved": "Position saved and published.", "closed": "The deadline has passed: your positions are final.",
		"staff_title": "Elections — staff area", "new_election": "New election", "title": "Title", "date": "Election day",
		"deadline_field": "Positions deadline", "consultation": "Consultation with published results", "count": "Number of statements",
		"or_statements": "Or statements, one a line (without a consultation)", "create": "Create the election",
		"invite_legend": "Invite a candidate", "name": "Name", "list": "List", "email": "Email address", "invite": "Invite",
		"invitation_link": "Invitation link for %s, to send them (shown only once):",
		"accepted":        "accepted", "positions_n": "%d position(s)", "none": "— none —", "created": "Election created.",
		"open_election": "Public page", "manage": "Manage",
		"not_found": "This election, statement or invitation does not exist.", "error": "Something went wrong.",
		"bad_form": "The form could not be read.", "forbidden": "Only the account that accepted a candidate's invitation takes positions for them, in that election only.",
		"conflict": "It changed meanwhile; reload the page.",
	},
}

// tr is the text of key in language l.
func tr(l, key string) string {
	if s, ok := texts[l][key]; ok {
		return s
	}
	return key
}

// textf is the text of key in language l, formatted with args when it takes any.
func textf(l, key string, args ...any) string {
	if len(args) == 0 {
		return tr(l, key)
	}
	return fmt.Sprintf(tr(l, key), args...)
}

// percent writes a percentage as people of the language read it: "87 %" (a no-break
// space, the French way), "87%".
func percent(l string, n int) string {
	if l == "en" {
		return strconv.Itoa(n) + "%"
	}
	return strconv.Itoa(n) + "\u00a0%"
}

// decimal writes a score with two decimals: "0,63", "0.63".
func decimal(l string, f float64) string {
	s := strconv.FormatFloat(f, 'f', 2, 64)
	if l == "fr" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// day writes a day "2026-03-15" as "15/03/2026" or "15 Mar 2026".
func day(l, d string) string {
	t, err := time.Parse("2006-01-02", d)
	if err != nil {
		return d
	}
	if l == "en" {
		return t.Format("2 Jan 2006")
	}
	return t.Format("02/01/2006")
}

// when writes a time in the tenant's zone.
func when(l string, zone *time.Location, t time.Time) string {
	t = t.In(zone)
	if l == "en" {
		return t.Format("2 Jan 2006, 3:04 pm")
	}
	return t.Format("02/01/2006 à 15:04")
}

// frenchMessages say in French what the validation (in English, for the JSON API) found
// wrong in a field, for the pages of French sites.
var frenchMessages = map[string]string{
	"title":              "L'intitulé doit compter de 3 à 200 caractères.",
	"date":               "Donnez la date du scrutin.",
	"positions_deadline": "Donnez la date limite des positions.",
	"consultation":       "Choisissez une consultation dont les résultats sont publiés.",
	"statements_count":   "Le nombre d'affirmations doit aller de 1 à 30, et la consultation doit compter assez de propositions en consensus.",
	"statements":         "Donnez une consultation ou des affirmations (30 au plus), pas les deux.",
	"name":               "Le nom doit compter de 2 à 120 caractères et ne pas être déjà inscrit.",
	"list":               "Le nom de la liste est trop long.",
	"email":              "Donnez l'adresse électronique du candidat.",
	"position":           "Choisissez d'accord, pas d'accord ou neutre.",
	"justification":      "La justification compte 500 caractères au plus.",
	"source_url":         "La source doit être une adresse https://.",
	"answers":            "Répondez à au moins une affirmation (d'accord, pas d'accord ou neutre).",
	"form":               "Le formulaire n'a pas pu être lu.",
}

// message is what a page shows of a field error, in the page's language.
func message(l string, fe *fieldError) string {
	if l == "fr" {
		if m, ok := frenchMessages[fe.Field]; ok {
			return m
		}
		if strings.HasPrefix(fe.Field, "statements[") {
			return "Chaque affirmation compte de 5 à 500 caractères, sans doublon."
		}
	}
	return fe.Message
}
