package main

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// The culture plugin hears when the tenant publishes a consultation's results, and keeps a
// short list of them: the inspiration page points programmers to what citizens said.
const publishedPrefix = "published/"

// Published is a consultation whose results the tenant published.
type Published struct {
	Slug     string    `json:"slug"`
	Question string    `json:"question"`
	At       time.Time `json:"at"`
}

// onEvent records published consultations; other events are ignored.
func (a *agenda) onEvent(ctx context.Context, name string, payload []byte) error {
	if name != "consultation.publish" || sdk.CallOf(ctx).Publisher != sdk.CorePublisher {
		return nil // only the core says a consultation was published
	}
	var p Published
	if err := json.Unmarshal(payload, &p); err != nil || p.Slug == "" || len(p.Slug) > 100 || len(p.Question) > 500 {
		return bad("payload", "a consultation.publish event needs a slug and a question")
	}
	_, err := sdk.Host(ctx).Storage().PutJSON(ctx, publishedPrefix+p.Slug, p)
	return err
}

// published lists the consultations heard of, newest first.
func (a *agenda) published(ctx context.Context) ([]Published, error) {
	entries, err := sdk.Host(ctx).Storage().ListAll(ctx, publishedPrefix)
	if err != nil {
		return nil, err
	}
	out := []Published{}
	for _, e := range entries {
		var p Published
		if json.Unmarshal(e.Value, &p) == nil {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out, nil
}
