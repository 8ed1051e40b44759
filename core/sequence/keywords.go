package sequence

import (
	"slices"
	"strings"
	"unicode"
)

// Keywords returns the significant words of a proposal's content: its words of at least four
// letters, lower-cased, without a short list of French and English words that say nothing
// about the idea (pour, dans, faut, with, must, …), each once, in order of first appearance.
// A word is a run of Unicode letters (with their combining marks); anything else separates
// words, so "l'école" gives "école" and "vélo-cargo" gives "vélo" and "cargo". Accents are
// kept and no stemming is done: "école" and "écoles" are two keywords.
func Keywords(content string) []string {
	var words []string
	start, letters := -1, 0
	flush := func(end int) {
		if start >= 0 && letters >= 4 {
			w := strings.ToLower(content[start:end])
			if !stopWords[w] && !slices.Contains(words, w) {
				words = append(words, w)
			}
		}
		start, letters = -1, 0
	}
	for i, r := range content {
		switch {
		case unicode.IsLetter(r):
			if start < 0 {
				start = i
			}
			letters++
		case unicode.IsMark(r) && start >= 0:
		default:
			flush(i)
		}
	}
	flush(len(content))
	return words
}

// stopWords are frequent words of four letters or more that say nothing about a proposal.
// Shorter words (il, le, de, the, to) are dropped by length already. Read only.
var stopWords = map[string]bool{
	// French
	"faut": true, "pour": true, "dans": true, "avec": true, "plus": true, "moins": true,
	"tous": true, "tout": true, "toute": true, "toutes": true, "sont": true, "être": true,
	"avoir": true, "fait": true, "faire": true, "leur": true, "leurs": true, "cette": true,
	"elle": true, "elles": true, "nous": true, "vous": true, "mais": true, "donc": true,
	"comme": true, "aussi": true, "sans": true, "sous": true, "entre": true, "très": true,
	"peut": true, "doit": true, "doivent": true, "autre": true, "autres": true, "même": true,
	"mêmes": true, "chaque": true, "ainsi": true, "alors": true, "encore": true, "afin": true,
	"celle": true, "celui": true, "ceux": true, "dont": true, "vers": true, "chez": true,
	"notre": true, "votre": true, "bien": true, "mieux": true, "davantage": true,
	"parce": true, "lorsque": true, "quand": true, "selon": true, "depuis": true, "mettre": true,
	"place": true, "permettre": true, "etre": true, "cela": true, "ceci": true,
	// English
	"that": true, "with": true, "must": true, "this": true, "these": true, "those": true,
	"have": true, "from": true, "they": true, "them": true, "their": true, "there": true,
	"should": true, "would": true, "could": true, "more": true, "less": true, "into": true,
	"than": true, "then": true, "also": true, "some": true, "such": true, "when": true,
	"what": true, "which": true, "will": true, "been": true, "were": true, "each": true,
	"make": true, "other": true, "about": true, "every": true, "only": true, "very": true,
	"your": true, "ours": true, "need": true, "needs": true,
}
