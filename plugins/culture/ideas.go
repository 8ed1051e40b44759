package main

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// Citizen ideas are moderated: a new idea waits in the staff's queue, unseen by the public,
// until staff accept it (it is then listed and can be voted for) or refuse it, with a reason.
// Staff can also remove an idea at any time: it is deleted with its votes. Every decision is
// in the tenant's audit log.
const (
	ideaPending  = "pending"
	ideaAccepted = "accepted"
	ideaRefused  = "refused"
)

// public reports whether everyone may see the idea. Ideas stored before moderation existed
// have no status: they were public then and stay so.
func (si storedIdea) public() bool { return si.Status == ideaAccepted || si.Status == "" }

// publicIdeas are the ideas everyone sees: accepted ones, most voted first.
func (a *agenda) publicIdeas(ctx context.Context) ([]Idea, error) {
	return a.ideasWhere(ctx, func(i Idea) bool { return i.Status == ideaAccepted || i.Status == "" })
}

func (a *agenda) ideasWhere(ctx context.Context, keep func(Idea) bool) ([]Idea, error) {
	all, err := a.ideasList(ctx)
	if err != nil {
		return nil, err
	}
	out := []Idea{}
	for _, i := range all {
		if keep(i) {
			out = append(out, i)
		}
	}
	return out, nil
}

// moderate applies a staff decision to an idea: accept, refuse (reason required) or remove.
func (a *agenda) moderate(ctx context.Context, id, decision, reason string) error {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > 500 {
		return bad("reason", "the reason must have at most 500 characters")
	}
	si, version, err := a.loadIdea(ctx, id)
	if err != nil {
		return err
	}
	st := sdk.Host(ctx).Storage()
	switch decision {
	case "accept", "refuse":
		if decision == "refuse" && reason == "" {
			return bad("reason", "say why the idea is refused")
		}
		if si.EventID != "" {
			return bad("idea", "this idea is already scheduled as an event")
		}
		si.Status, si.Reason = ideaAccepted, ""
		if decision == "refuse" {
			si.Status, si.Reason = ideaRefused, reason
		}
		b, _ := json.Marshal(si)
		if _, err := st.CompareAndSet(ctx, ideaPrefix+id, version, b); err != nil {
			return err
		}
	case "remove":
		votes, err := st.ListAll(ctx, votePrefix+id+"/")
		if err != nil {
			return err
		}
		ops := []sdk.Op{{Key: ideaPrefix + id, Delete: true, CheckVersion: true, ExpectedVersion: version}, {Key: countPrefix + "idea/" + id, Delete: true}}
		for _, v := range votes {
			ops = append(ops, sdk.Op{Key: v.Key, Delete: true})
		}
		if _, _, err := st.Batch(ctx, ops); err != nil {
			return err
		}
	default:
		return bad("decision", "the decision must be accept, refuse or remove")
	}
	_ = sdk.Host(ctx).Audit(ctx, "idea."+decision, "idea:"+id, map[string]any{"title": si.Title, "reason": reason})
	return nil
}

// apiModerate is POST /api/ideas/{id}/{accept,refuse,remove}, with {"reason": "…"}.
func (a *agenda) apiModerate(decision string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Reason string `json:"reason"`
		}
		if r.ContentLength != 0 {
			if err := decodeJSON(r, &in); err != nil {
				writeError(w, err)
				return
			}
		}
		if err := a.moderate(r.Context(), r.PathValue("id"), decision, in.Reason); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id"), "decision": decision})
	}
}

// apiIdeaQueue is GET /api/ideas/pending: the ideas waiting for a decision, oldest first.
func (a *agenda) apiIdeaQueue(w http.ResponseWriter, r *http.Request) {
	ideas, err := a.pendingIdeas(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ideas": ideas})
}

func (a *agenda) pendingIdeas(ctx context.Context) ([]Idea, error) {
	ideas, err := a.ideasWhere(ctx, func(i Idea) bool { return i.Status == ideaPending })
	if err != nil {
		return nil, err
	}
	sort.Slice(ideas, func(i, j int) bool { return ideas[i].CreatedAt.Before(ideas[j].CreatedAt) })
	return ideas, nil
}
