package pluginhost

import (
	"context"
	"encoding/json"

	"github.com/uptrace/bun"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/core/vote"
	"github.com/concorde-civic/concorde/plugins/sdk/pluginpb"
)

// resultsService serves a consultation's published results and the caller's own votes. The
// results are the frozen snapshot taken at publication (core/snapshot), read under the rule
// the results API applies to a visitor (consultation.Public: everyone once published, nobody
// before): a plugin never sees results the public cannot, and never computes its own.
type resultsService struct {
	pluginpb.UnimplementedResultsServer
	*services
}

// snapshotRow is a row of core/snapshot's table, read only.
type snapshotRow struct {
	bun.BaseModel `bun:"table:result_snapshots,alias:rs"`

	TenantID       int64  `bun:"tenant_id,pk"`
	ConsultationID int64  `bun:"consultation_id,pk"`
	Body           string `bun:"body"`
	SHA256         string `bun:"sha256"`
}

// publishedBody is the part of a results snapshot (httpapi's results JSON) plugins get.
type publishedBody struct {
	Votes     int64  `json:"votes"`
	Rules     string `json:"rules"`
	Consensus []struct {
		ID      int64          `json:"id"`
		Content string         `json:"content"`
		Themes  []string       `json:"themes"`
		Scores  results.Scores `json:"scores"`
	} `json:"consensus"`
}

func (r *resultsService) Published(ctx context.Context, req *pluginpb.PublishedResultsRequest) (*pluginpb.PublishedResultsResponse, error) {
	sc, err := r.scope(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	if err := consultation.ValidateSlug(req.GetConsultationSlug()); err != nil {
		return nil, status.Error(codes.NotFound, "no such consultation")
	}
	db := store.For(r.h.db, sc.tenantID)
	var row consultationRow
	err = consultation.Visible(db.Select(&row).Where("c.slug = ?", req.GetConsultationSlug()), consultation.Public).Scan(ctx)
	if store.IsNoRows(err) {
		return nil, status.Error(codes.NotFound, "no such consultation")
	}
	if err != nil {
		return nil, internal(r.services, "consultation get", err)
	}
	c := consultation.Consultation{Slug: row.Slug, Status: consultation.Status(row.Status)}
	if err := c.CheckResultsVisible(consultation.Public); err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "the results of consultation %q are not published", row.Slug)
	}
	var snap snapshotRow
	err = db.Select(&snap).Where("rs.consultation_id = ?", row.ID).Limit(1).Scan(ctx)
	if store.IsNoRows(err) {
		return nil, status.Errorf(codes.FailedPrecondition, "the results of consultation %q have no frozen snapshot", row.Slug)
	}
	if err != nil {
		return nil, internal(r.services, "results snapshot", err)
	}
	var body publishedBody
	if err := json.Unmarshal([]byte(snap.Body), &body); err != nil {
		return nil, internal(r.services, "decode results snapshot", err)
	}
	out := &pluginpb.PublishedResultsResponse{Consultation: row.proto(), SnapshotSha256: snap.SHA256, Rules: body.Rules, Votes: body.Votes, Prefix: row.Prefix}
	for i, p := range body.Consensus {
		out.Consensus = append(out.Consensus, &pluginpb.RankedProposal{Id: p.ID, Content: p.Content, Zone: string(p.Scores.Zone),
			Top: p.Scores.Top, TopLow: p.Scores.TopInterval.Low, TopHigh: p.Scores.TopInterval.High,
			Agree: p.Scores.Rates[string(results.Agree)], Rank: int32(i + 1), Themes: p.Themes})
	}
	return out, nil
}

// maxMyVotes bounds the proposals of one MyVotes call.
const maxMyVotes = 500

func (r *resultsService) MyVotes(ctx context.Context, req *pluginpb.MyVotesRequest) (*pluginpb.MyVotesResponse, error) {
	sc, err := r.scope(req.GetCallToken())
	if err != nil {
		return nil, err
	}
	if len(req.GetProposalIds()) > maxMyVotes {
		return nil, status.Errorf(codes.InvalidArgument, "at most %d proposals in one call", maxMyVotes)
	}
	out := &pluginpb.MyVotesResponse{}
	if sc.participant == "" || len(req.GetProposalIds()) == 0 {
		return out, nil // no caller (an event, a job) or a visitor without a session: no votes
	}
	db := store.For(r.h.db, sc.tenantID)
	var rows []vote.Vote
	if err := db.Select(&rows).Column("proposal_id", "vote").
		Where("v.participant = ?", sc.participant).Where("v.consultation_id = ?", req.GetConsultationId()).
		Where("v.proposal_id IN (?)", bun.In(req.GetProposalIds())).
		// Only votes in a consultation the public may see, as for every other read.
		Where("v.consultation_id IN (?)", consultation.Visible(db.Select((*consultationRow)(nil)).Column("c.id"), consultation.Public)).
		OrderExpr("v.proposal_id").Scan(ctx); err != nil {
		return nil, internal(r.services, "my votes", err)
	}
	for _, v := range rows {
		if k := v.Key(); k != "" {
			out.Votes = append(out.Votes, &pluginpb.MyVote{ProposalId: v.ProposalID, Key: string(k)})
		}
	}
	return out, nil
}
