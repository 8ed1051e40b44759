package vote

import (
	"errors"

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
	m.votes = register(reg, m.votes)
	m.batchSize = register(reg, m.batchSize)
	m.commitSeconds = register(reg, m.commitSeconds)
	m.bursts = register(reg, m.bursts)
	return m
}

// register registers c, or returns the collector already registered under its name (two
// services on one registry share their metrics instead of panicking).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a name clash with another metric: a programming error
	}
	return c
}
