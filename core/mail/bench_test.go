package mail_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	cmail "github.com/concorde-civic/concorde/core/mail"
	"github.com/concorde-civic/concorde/core/testsupport"
)

// BenchmarkOutbox_Enqueue1000 queues the 1,000 e-mails of one results publication (one op),
// the cost the fan-out adds: go test ./core/mail/ -run x -bench Enqueue.
func BenchmarkOutbox_Enqueue1000(b *testing.B) {
	e := testsupport.New(b, "sqlite")
	site := e.Site("ay")
	msgs := make([]cmail.Message, 1000)
	for i := range msgs {
		msgs[i] = cmail.Message{Kind: cmail.ResultsPublished, To: fmt.Sprintf("p%04d@ay.test", i), SenderName: "Ville de ay",
			Subject: "Résultats publiés : Comment rendre la culture accessible à tous ?", Body: "Bonjour,\n\nLes résultats sont publiés : http://ay.test/c/culture/results\n"}
	}
	b.ResetTimer()
	for range b.N {
		if err := e.App.Outbox.Enqueue(context.Background(), site.Tenant.ID, msgs...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSender_Deliver100 delivers 100 queued e-mails (one op) to the test's SMTP server,
// STARTTLS and AUTH included, in batches of 50 per connection:
// go test ./core/mail/ -run x -bench Deliver.
func BenchmarkSender_Deliver100(b *testing.B) {
	e := testsupport.New(b, "sqlite")
	ms := startMailServer(b)
	site := e.Site("ay")
	s := newSender(e, ms, "bench", prometheus.NewRegistry())
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		msgs := make([]cmail.Message, 100)
		for i := range msgs {
			msgs[i] = cmail.Message{Kind: cmail.ResultsPublished, To: fmt.Sprintf("p%04d@ay.test", i), Subject: "Résultats", Body: "Corps"}
		}
		if err := e.App.Outbox.Enqueue(ctx, site.Tenant.ID, msgs...); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for sent := 0; sent < 100; {
			n, err := s.RunOnce(ctx)
			if err != nil || n == 0 {
				b.Fatalf("RunOnce: %d %v", n, err)
			}
			sent += n
		}
	}
}
