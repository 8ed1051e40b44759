package tenants

import (
	"context"
	"database/sql"
	"sort"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/store"
)

type margin struct {
	bun.BaseModel `bun:"table:tenant_margins,alias:tm"`
	TenantID      int64   `bun:"tenant_id,pk"`
	Dimension     string  `bun:"dimension,pk"`
	Value         string  `bun:"value,pk"`
	Share         float64 `bun:"share"`
}

func (m *margin) SetTenantID(id int64) { m.TenantID = id }

// Margins returns the population margins a tenant gave (empty if none).
func (s *Service) Margins(ctx context.Context, tenantID int64) (results.Margins, error) {
	var rows []margin
	if err := store.For(s.db, tenantID).Select(&rows).Scan(ctx); err != nil {
		return nil, err
	}
	out := results.Margins{}
	for _, r := range rows {
		if out[r.Dimension] == nil {
			out[r.Dimension] = map[string]float64{}
		}
		out[r.Dimension][r.Value] = r.Share
	}
	return out, nil
}

// SetMargins replaces a tenant's population margins: for each dimension (age_band, gender,
// area), each value's share of the population; each dimension's shares sum to 1.
func (s *Service) SetMargins(ctx context.Context, actor string, tenantID int64, m results.Margins) error {
	dims := map[string]bool{}
	for _, d := range results.Dimensions() {
		dims[d] = true
	}
	var rows []margin
	for dim, values := range m {
		if !dims[dim] {
			return errs.Field(dim, "unknown dimension %q: use age_band, gender or area", dim).Say("err_margin_dimension")
		}
		var sum float64
		for v, share := range values {
			if v == "" || len(v) > 40 || !(share > 0 && share <= 1) {
				return errs.Field(dim, "each %s value needs a name and a share between 0 and 1", dim).Say("err_margin_value")
			}
			sum += share
			rows = append(rows, margin{Dimension: dim, Value: v, Share: share})
		}
		if sum < 1-results.MarginsTolerance || sum > 1+results.MarginsTolerance {
			return errs.Field(dim, "the %s shares sum to %.3f; they must sum to 1", dim, sum).Say("err_margin_sum")
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Dimension+rows[i].Value < rows[j].Dimension+rows[j].Value })
	return s.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		sc := store.For(tx, tenantID)
		if _, err := sc.Delete((*margin)(nil)).Exec(ctx); err != nil {
			return err
		}
		if len(rows) > 0 {
			if _, err := sc.Insert(&rows).Exec(ctx); err != nil {
				return err
			}
		}
		detail := map[string]any{}
		for d, v := range m {
			detail[d] = v
		}
		_, err := s.log.Append(ctx, tx, tenantID, audit.Record{Actor: actor, Action: "tenant.margins", Object: "margins", Detail: detail})
		return err
	})
}
