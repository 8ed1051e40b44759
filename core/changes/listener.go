package changes

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listen holds one PostgreSQL connection (outside the pool: LISTEN belongs to a session) on
// the database at dsn and calls handle, in order and one at a time, for every change any node
// announces, its own included, until ctx ends. After each (re)connection it first hands over
// a Resync note, since what was announced while it was away is lost. When the connection
// breaks it reconnects with back-off (1 s doubling to 30 s). ready, when not nil, is closed
// once the first LISTEN is in place.
func Listen(ctx context.Context, dsn string, log *slog.Logger, handle func(Note), ready chan<- struct{}) {
	wait := time.Second
	for ctx.Err() == nil {
		err := listenOnce(ctx, dsn, handle, func() {
			wait = time.Second
			if ready != nil {
				close(ready)
				ready = nil
			}
		})
		if ctx.Err() != nil {
			return
		}
		log.Warn("listening for changes of other nodes: reconnecting", "error", err.Error(), "in", wait.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func listenOnce(ctx context.Context, dsn string, handle func(Note), connected func()) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = conn.Close(c)
	}()
	var schema string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channelPrefix + schema}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	connected()
	handle(Note{Topic: Resync})
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		handle(parseNote(n.Payload))
	}
}
