// Package changes tells every node of a deployment what another node (or an admin command)
// changed in the state nodes keep in memory: policies, tenants and their hosts, consultations.
//
// Each kind of state with a version (a topic) has one row in change_versions, bumped by the
// writer in its own transaction: a node polls that one row, cheaply, and reloads only when the
// version it holds is behind. On PostgreSQL the writer also announces the change with NOTIFY
// (delivered when its transaction commits), and a node's Listener acts on it at once; polling
// stays as the fallback. On SQLite (one node) there is nobody to tell, and nothing is sent.
package changes

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/store"
)

// Topic names a kind of shared state.
type Topic string

const (
	// Policy is the Casbin rules (versioned).
	Policy Topic = "policy"
	// Tenants is the tenants and the hosts that serve them (versioned).
	Tenants Topic = "tenants"
	// Catalog is one consultation or its accepted proposals; its payload is
	// "tenantID:consultationID". It has no version: the catalog's own short reload period is
	// the fallback.
	Catalog Topic = "catalog"
	// Counts is votes counted by one node in some consultations; its payload is the node's
	// name, then "tenantID:consultationID" for each, separated by spaces. The other nodes read
	// those consultations' counters again. It has no version: an entry in use is read again
	// whole periodically anyway.
	Counts Topic = "counts"
	// Resync is what a Listener hands over after (re)connecting: notes may have been missed,
	// so every versioned state should be checked and every cached consultation reloaded.
	Resync Topic = "resync"
)

// channelPrefix is followed by the schema, so that deployments (and parallel tests) sharing a
// PostgreSQL database in different schemas do not hear each other.
const channelPrefix = "concorde_changes."

// Note is one announced change.
type Note struct {
	Topic   Topic
	Payload string
}

// Bump records in db (the writer's transaction) that topic changed, announces it on
// PostgreSQL, and returns the new version. The note's payload is the new version, then a space
// and detail when detail is not empty: what changed, for nodes that can apply it without
// reading everything again (ParseVersioned reads it back).
func Bump(ctx context.Context, db bun.IDB, topic Topic, detail string) (int64, error) {
	var v int64
	err := db.NewRaw("UPDATE change_versions SET version = version + 1 WHERE topic = ? RETURNING version", string(topic)).Scan(ctx, &v)
	if err != nil {
		return 0, fmt.Errorf("bump %s version: %w", topic, err)
	}
	payload := strconv.FormatInt(v, 10)
	// NOTIFY payloads are limited to 8,000 bytes; a larger detail is left out (the nodes
	// then read everything again).
	if detail != "" && len(detail) < 7000 {
		payload += " " + detail
	}
	return v, Notify(ctx, db, topic, payload)
}

// ParseVersioned reads the payload of a versioned topic's note.
func ParseVersioned(payload string) (version int64, detail string, ok bool) {
	v, detail, _ := strings.Cut(payload, " ")
	version, err := strconv.ParseInt(v, 10, 64)
	return version, detail, err == nil && version > 0
}

// Version is the current version of topic.
func Version(ctx context.Context, db bun.IDB, topic Topic) (int64, error) {
	var v int64
	if err := db.NewRaw("SELECT version FROM change_versions WHERE topic = ?", string(topic)).Scan(ctx, &v); err != nil {
		return 0, fmt.Errorf("read %s version: %w", topic, err)
	}
	return v, nil
}

// Notify announces a change of topic to the other nodes, on PostgreSQL (inside a transaction,
// when it commits); on SQLite it does nothing.
func Notify(ctx context.Context, db bun.IDB, topic Topic, payload string) error {
	if store.DialectOf(db) != store.Postgres {
		return nil
	}
	if _, err := db.NewRaw("SELECT pg_notify(? || current_schema(), ?)", channelPrefix, string(topic)+" "+payload).Exec(ctx); err != nil {
		return fmt.Errorf("announce %s change: %w", topic, err)
	}
	return nil
}

// NotifyConsultation announces that a consultation (or its accepted proposals) changed.
func NotifyConsultation(ctx context.Context, db bun.IDB, tenantID, consultationID int64) error {
	return Notify(ctx, db, Catalog, strconv.FormatInt(tenantID, 10)+":"+strconv.FormatInt(consultationID, 10))
}

// NotifyCounts announces that node counted votes in these consultations (tenant and
// consultation ids in pairs), in as few notes as their size allows.
func NotifyCounts(ctx context.Context, db bun.IDB, node string, pairs [][2]int64) error {
	for _, p := range countsPayloads(node, pairs) {
		if err := Notify(ctx, db, Counts, p); err != nil {
			return err
		}
	}
	return nil
}

// countsPayloads splits the pairs into payloads under NOTIFY's 8,000-byte limit, each
// starting with the node's name.
func countsPayloads(node string, pairs [][2]int64) []string {
	var out []string
	for len(pairs) > 0 {
		var b strings.Builder
		b.WriteString(node)
		n := 0
		for n < len(pairs) && b.Len() < 7000 {
			b.WriteString(" " + strconv.FormatInt(pairs[n][0], 10) + ":" + strconv.FormatInt(pairs[n][1], 10))
			n++
		}
		out = append(out, b.String())
		pairs = pairs[n:]
	}
	return out
}

// ParseCounts reads the payload of a Counts note.
func ParseCounts(payload string) (node string, pairs [][2]int64) {
	f := strings.Fields(payload)
	if len(f) == 0 {
		return "", nil
	}
	for _, p := range f[1:] {
		if t, c, ok := ParseConsultation(p); ok {
			pairs = append(pairs, [2]int64{t, c})
		}
	}
	return f[0], pairs
}

// ParseConsultation reads the payload of a Catalog note.
func ParseConsultation(payload string) (tenantID, consultationID int64, ok bool) {
	t, c, found := strings.Cut(payload, ":")
	if !found {
		return 0, 0, false
	}
	tid, err1 := strconv.ParseInt(t, 10, 64)
	cid, err2 := strconv.ParseInt(c, 10, 64)
	return tid, cid, err1 == nil && err2 == nil && tid > 0 && cid > 0
}

func parseNote(s string) Note {
	topic, payload, _ := strings.Cut(s, " ")
	return Note{Topic: Topic(topic), Payload: payload}
}
