package vote

import (
	"github.com/concorde-civic/concorde/core/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

type serviceMetrics struct {
	votes         *prometheus.CounterVec
	batchSize     prometheus.Histogram
	commitSeconds prometheus.Histogram
	bursts        prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *serviceMetrics {
	m := &serviceMetrics{
		votes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "concorde_votes_total", Help: "Votes committed, by trust level (troll, trusted, sequence).",
		}, []string{"trust"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "concorde_vote_batch_size", Help: "Vote requests committed together in one transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11), // 1 … 1024
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "concorde_vote_commit_seconds", Help: "Time to write and commit one batch of votes.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14), // 0.5 ms … 4 s
		}),
		bursts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "concorde_vote_bursts_total", Help: "Minutes flagged as bursts of direct-link votes on one proposal.",
		}),
	}
	if reg == nil {
		return m
	}
	m.votes = metrics.Register(reg, m.votes)
	m.batchSize = metrics.Register(reg, m.batchSize)
	m.commitSeconds = metrics.Register(reg, m.commitSeconds)
	m.bursts = metrics.Register(reg, m.bursts)
	return m
}
