package authz

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/changes"
)

// Adapter stores Casbin rules in the casbin_rules table, through bun, on SQLite or PostgreSQL.
// Every method without a context uses context.Background(); the *Ctx variants take one.
// Every write bumps the policy version (core/changes) in its transaction, so that other nodes
// know to reload, and at once on PostgreSQL.
type Adapter struct {
	db *bun.DB
	// written is the policy version the last write made; the Authorizer reads it under the
	// lock that orders its writes.
	written int64
}

var (
	_ persist.Adapter             = (*Adapter)(nil)
	_ persist.BatchAdapter        = (*Adapter)(nil)
	_ persist.ContextAdapter      = (*Adapter)(nil)
	_ persist.ContextBatchAdapter = (*Adapter)(nil)
)

// NewAdapter returns an adapter over db, which must have been migrated.
func NewAdapter(db *bun.DB) *Adapter { return &Adapter{db: db} }

// ruleFields is the number of value columns (v0..v5) in casbin_rules.
const ruleFields = 6

// casbinRule is one row of casbin_rules. Unused trailing values are stored as empty
// strings (never NULL) so that the primary key covers every column.
type casbinRule struct {
	bun.BaseModel `bun:"table:casbin_rules"`

	Ptype string `bun:"ptype,pk"`
	V0    string `bun:"v0,pk"`
	V1    string `bun:"v1,pk"`
	V2    string `bun:"v2,pk"`
	V3    string `bun:"v3,pk"`
	V4    string `bun:"v4,pk"`
	V5    string `bun:"v5,pk"`
}

func newRule(ptype string, rule []string) (casbinRule, error) {
	if len(rule) > ruleFields {
		return casbinRule{}, fmt.Errorf("casbin rule %s %v has %d values, the table holds at most %d", ptype, rule, len(rule), ruleFields)
	}
	var v [ruleFields]string
	copy(v[:], rule)
	return casbinRule{Ptype: ptype, V0: v[0], V1: v[1], V2: v[2], V3: v[3], V4: v[4], V5: v[5]}, nil
}

func (r casbinRule) values() []string {
	v := []string{r.V0, r.V1, r.V2, r.V3, r.V4, r.V5}
	for len(v) > 0 && v[len(v)-1] == "" {
		v = v[:len(v)-1]
	}
	return v
}

func newRules(ptype string, rules [][]string) ([]casbinRule, error) {
	rows := make([]casbinRule, 0, len(rules))
	for _, rule := range rules {
		r, err := newRule(ptype, rule)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// LoadPolicy loads every rule into m.
func (a *Adapter) LoadPolicy(m model.Model) error { return a.LoadPolicyCtx(context.Background(), m) }

// LoadPolicyCtx loads every rule into m.
func (a *Adapter) LoadPolicyCtx(ctx context.Context, m model.Model) error {
	var rows []casbinRule
	err := a.db.NewSelect().Model(&rows).
		OrderExpr("ptype, v0, v1, v2, v3, v4, v5").
		Scan(ctx)
	if err != nil {
		return fmt.Errorf("load casbin rules: %w", err)
	}
	for _, r := range rows {
		if err := persist.LoadPolicyArray(append([]string{r.Ptype}, r.values()...), m); err != nil {
			return fmt.Errorf("load casbin rule %s %v: %w", r.Ptype, r.values(), err)
		}
	}
	return nil
}

// SavePolicy replaces every stored rule with the rules of m.
func (a *Adapter) SavePolicy(m model.Model) error { return a.SavePolicyCtx(context.Background(), m) }

// SavePolicyCtx replaces every stored rule with the rules of m, in one transaction.
func (a *Adapter) SavePolicyCtx(ctx context.Context, m model.Model) error {
	var rows []casbinRule
	for _, sec := range []string{"p", "g"} {
		for ptype, ast := range m[sec] {
			rs, err := newRules(ptype, ast.Policy)
			if err != nil {
				return err
			}
			rows = append(rows, rs...)
		}
	}
	return a.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*casbinRule)(nil)).Where("1 = 1").Exec(ctx); err != nil {
			return fmt.Errorf("save casbin rules: clear: %w", err)
		}
		if err := insertRules(ctx, tx, rows); err != nil {
			return err
		}
		return a.bump(ctx, tx, "")
	})
}

// bump records, in tx, that the stored policy changed, with what changed if one rule did
// (see delta).
func (a *Adapter) bump(ctx context.Context, tx bun.Tx, detail string) error {
	v, err := changes.Bump(ctx, tx, changes.Policy, detail)
	if err == nil {
		a.written = v
	}
	return err
}

// insertRules inserts rows, leaving alone those already stored.
func insertRules(ctx context.Context, db bun.IDB, rows []casbinRule) error {
	const batch = 100 // well under SQLite's limit on bound parameters
	for len(rows) > 0 {
		n := min(batch, len(rows))
		chunk := rows[:n]
		rows = rows[n:]
		if _, err := db.NewInsert().Model(&chunk).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("insert casbin rules: %w", err)
		}
	}
	return nil
}

// AddPolicy stores one rule; storing a rule that exists already is not an error.
func (a *Adapter) AddPolicy(sec, ptype string, rule []string) error {
	return a.AddPolicyCtx(context.Background(), sec, ptype, rule)
}

// AddPolicyCtx stores one rule; storing a rule that exists already is not an error.
func (a *Adapter) AddPolicyCtx(ctx context.Context, sec, ptype string, rule []string) error {
	return a.AddPoliciesCtx(ctx, sec, ptype, [][]string{rule})
}

// AddPolicies stores rules; those that exist already are left alone.
func (a *Adapter) AddPolicies(sec, ptype string, rules [][]string) error {
	return a.AddPoliciesCtx(context.Background(), sec, ptype, rules)
}

// AddPoliciesCtx stores rules in one transaction; those that exist already are left alone.
func (a *Adapter) AddPoliciesCtx(ctx context.Context, sec, ptype string, rules [][]string) error {
	rows, err := newRules(ptype, rules)
	if err != nil || len(rows) == 0 {
		return err
	}
	return a.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		if err := insertRules(ctx, tx, rows); err != nil {
			return err
		}
		return a.bump(ctx, tx, delta("+", ptype, rules))
	})
}

// RemovePolicy deletes one rule; deleting a rule that is not stored is not an error.
func (a *Adapter) RemovePolicy(sec, ptype string, rule []string) error {
	return a.RemovePolicyCtx(context.Background(), sec, ptype, rule)
}

// RemovePolicyCtx deletes one rule; deleting a rule that is not stored is not an error.
func (a *Adapter) RemovePolicyCtx(ctx context.Context, sec, ptype string, rule []string) error {
	return a.RemovePoliciesCtx(ctx, sec, ptype, [][]string{rule})
}

// RemovePolicies deletes rules.
func (a *Adapter) RemovePolicies(sec, ptype string, rules [][]string) error {
	return a.RemovePoliciesCtx(context.Background(), sec, ptype, rules)
}

// RemovePoliciesCtx deletes rules in one transaction.
func (a *Adapter) RemovePoliciesCtx(ctx context.Context, sec, ptype string, rules [][]string) error {
	rows, err := newRules(ptype, rules)
	if err != nil || len(rows) == 0 {
		return err
	}
	return a.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		for i := range rows {
			if _, err := tx.NewDelete().Model(&rows[i]).WherePK().Exec(ctx); err != nil {
				return fmt.Errorf("remove casbin rule %s %v: %w", ptype, rows[i].values(), err)
			}
		}
		return a.bump(ctx, tx, delta("-", ptype, rules))
	})
}

// RemoveFilteredPolicy deletes the rules of ptype whose values, from fieldIndex on, equal
// fieldValues; an empty value matches anything.
func (a *Adapter) RemoveFilteredPolicy(sec, ptype string, fieldIndex int, fieldValues ...string) error {
	return a.RemoveFilteredPolicyCtx(context.Background(), sec, ptype, fieldIndex, fieldValues...)
}

// RemoveFilteredPolicyCtx deletes the rules of ptype whose values, from fieldIndex on, equal
// fieldValues; an empty value matches anything.
func (a *Adapter) RemoveFilteredPolicyCtx(ctx context.Context, sec, ptype string, fieldIndex int, fieldValues ...string) error {
	if fieldIndex < 0 || fieldIndex+len(fieldValues) > ruleFields {
		return fmt.Errorf("remove casbin rules: filter from v%d with %d values is outside v0..v%d", fieldIndex, len(fieldValues), ruleFields-1)
	}
	return a.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewDelete().Model((*casbinRule)(nil)).Where("ptype = ?", ptype)
		for i, v := range fieldValues {
			if v != "" {
				q = q.Where("? = ?", bun.Ident(fmt.Sprintf("v%d", fieldIndex+i)), v)
			}
		}
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("remove casbin rules %s from v%d %v: %w", ptype, fieldIndex, fieldValues, err)
		}
		return a.bump(ctx, tx, "")
	})
}

// policyDelta is one rule added or removed, as announced to the other nodes, which apply it
// as they would their own write rather than read every rule again.
type policyDelta struct {
	Op    string   `json:"op"` // "+" or "-"
	Ptype string   `json:"ptype"`
	Rule  []string `json:"rule"`
}

// delta describes a write of rules for the other nodes: only a write of one rule is described
// (the others make them read everything again).
func delta(op, ptype string, rules [][]string) string {
	if len(rules) != 1 {
		return ""
	}
	b, err := json.Marshal(policyDelta{Op: op, Ptype: ptype, Rule: rules[0]})
	if err != nil {
		return ""
	}
	return string(b)
}
