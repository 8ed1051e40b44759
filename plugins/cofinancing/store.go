package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// Storage: every record is a JSON value in the host's storage view of the tenant. Writes go
// through txn, an optimistic transaction: it remembers the version of every key it read and
// writes all its keys, and the ledger entries it appends, in one batch that applies only if
// none of them changed meanwhile (the host's compare-and-set); otherwise the whole operation
// runs again from fresh reads. Within one plugin process, writes of a tenant also take that
// tenant's lock, so concurrent requests queue instead of colliding; across nodes (several
// processes on one database) the versions alone keep the money exact.

const (
	projectPrefix = "project/"
	pledgePrefix  = "pledge/"     // pledge/<project>/<pledge>
	idemPrefix    = "idem/"       // idem/<person>/<key hash> → the pledge made with that key
	backerPrefix  = "backer/"     // backer/<project>/<person> → their active pledges
	minePrefix    = "mine/"       // mine/<person>/<pledge> → the project
	fundPrefix    = "fund/"       // fund/<fund>
	matchedPrefix = "fundperson/" // fundperson/<fund>/<person> → the pledge it matched
)

func newID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%013d-%s", now.UnixMilli(), hex.EncodeToString(b[:]))
}

// validID accepts the ids newID makes (and nothing that could escape a key prefix).
func validID(id string) bool {
	if len(id) == 0 || len(id) > 40 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '-') {
			return false
		}
	}
	return true
}

// splitPledgeID reads "<project>.<suffix>", the form of pledge ids.
func splitPledgeID(id string) (project string, ok bool) {
	for i := len(id) - 1; i >= 0; i-- {
		if id[i] == '.' {
			return id[:i], validID(id[:i]) && validID(id[i+1:])
		}
	}
	return "", false
}

// person is the key of a principal in storage: a hash of their subject, never the subject.
func person(subject string) string {
	sum := sha256.Sum256([]byte("cofinancing-person\x00" + subject))
	return hex.EncodeToString(sum[:12])
}

func projectKey(id string) string         { return projectPrefix + id }
func pledgeKey(project, id string) string { return pledgePrefix + project + "/" + id }
func fundKey(id string) string            { return fundPrefix + id }
func backerKey(project, p string) string  { return backerPrefix + project + "/" + p }
func matchedKey(fund, p string) string    { return matchedPrefix + fund + "/" + p }
func mineKey(p, pledge string) string     { return minePrefix + p + "/" + pledge }
func idemKey(p, key string) string {
	sum := sha256.Sum256([]byte(key))
	return idemPrefix + p + "/" + hex.EncodeToString(sum[:16])
}

// txn is one optimistic transaction (see above).
type txn struct {
	ctx      context.Context
	st       *sdk.Storage
	now      time.Time
	versions map[string]int64
	order    []string
	values   map[string][]byte
	deleted  map[string]bool
	entries  []LedgerEntry
}

// get reads key into v (a value this transaction wrote, if any); found is false when absent.
func (t *txn) get(key string, v any) (bool, error) {
	if b, ok := t.values[key]; ok {
		if t.deleted[key] {
			return false, nil
		}
		return true, json.Unmarshal(b, v)
	}
	e, ok, err := t.st.Get(t.ctx, key)
	if err != nil {
		return false, err
	}
	if _, seen := t.versions[key]; !seen {
		t.versions[key] = e.Version // 0 when absent: the write then requires it still absent
	}
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(e.Value, v); err != nil {
		return false, fmt.Errorf("stored %s: %w", key, err)
	}
	return true, nil
}

func (t *txn) put(key string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // our own types: a bug
	}
	if _, ok := t.values[key]; !ok {
		t.order = append(t.order, key)
	}
	t.values[key] = b
	delete(t.deleted, key)
}

func (t *txn) del(key string) {
	if _, ok := t.values[key]; !ok {
		t.order = append(t.order, key)
	}
	t.values[key] = nil
	t.deleted[key] = true
}

// log appends a movement to the ledger with the transaction.
func (t *txn) log(e LedgerEntry) {
	e.At = t.now
	t.entries = append(t.entries, e)
}

// commit writes everything at once, or returns sdk.ErrConflict when something changed.
func (t *txn) commit() error {
	var ops []sdk.Op
	for _, k := range t.order {
		ops = append(ops, sdk.Op{Key: k, Value: t.values[k], Delete: t.deleted[k], CheckVersion: true, ExpectedVersion: t.versions[k]})
	}
	if len(t.entries) > 0 {
		var h head
		e, _, err := t.st.Get(t.ctx, ledgerHead)
		if err != nil {
			return err
		}
		if e.Version > 0 {
			if err := json.Unmarshal(e.Value, &h); err != nil {
				return fmt.Errorf("stored %s: %w", ledgerHead, err)
			}
		}
		chained, next := chain(h, t.entries)
		for _, c := range chained {
			b, _ := json.Marshal(c)
			ops = append(ops, sdk.Op{Key: ledgerKey(c.Seq), Value: b, CheckVersion: true})
		}
		hb, _ := json.Marshal(next)
		ops = append(ops, sdk.Op{Key: ledgerHead, Value: hb, CheckVersion: true, ExpectedVersion: e.Version})
	}
	if len(ops) == 0 {
		return nil
	}
	if len(ops) > sdk.MaxBatchOps {
		return fmt.Errorf("one operation needs %d writes, more than a batch holds", len(ops))
	}
	_, _, err := t.st.Batch(t.ctx, ops)
	return err
}

// locks are the per-tenant locks of this process.
type locks struct{ m sync.Map }

func (l *locks) of(tenant int64) *sync.Mutex {
	mu, _ := l.m.LoadOrStore(tenant, &sync.Mutex{})
	return mu.(*sync.Mutex)
}

// errBusy is what a write answers when other nodes kept changing its records.
var errBusy = sdk.E(sdk.Unavailable, "too many simultaneous changes; try again in a moment")

// run runs fn in a transaction until it commits (fn may run several times: it must only
// read and write through t). fn's own error stops and is returned.
func (s *service) run(ctx context.Context, fn func(t *txn) error) error {
	mu := s.locks.of(sdk.CallOf(ctx).Tenant.ID)
	mu.Lock()
	defer mu.Unlock()
	for attempt := range 40 {
		t := &txn{ctx: ctx, st: sdk.Host(ctx).Storage(), now: s.now().UTC(), versions: map[string]int64{},
			values: map[string][]byte{}, deleted: map[string]bool{}}
		if err := fn(t); err != nil {
			return err
		}
		err := t.commit()
		if !errors.Is(err, sdk.ErrConflict) {
			return err
		}
		s.conflicts.Inc()
		time.Sleep(time.Duration(mrand.IntN(2+attempt*2)) * time.Millisecond)
	}
	return errBusy
}
