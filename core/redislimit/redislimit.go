// Package redislimit keeps rate-limit counts in Redis, so that every node of an installation
// counts the same votes, proposals and sign-in attempts: behind a load balancer, a limit of N
// a minute is N for the whole site, not N per node. It implements ratelimit.LimitStore with the
// same sliding-window estimate as ratelimit.MemoryStore, in one Lua script (atomic on the server).
package redislimit

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store is a ratelimit.LimitStore in Redis.
type Store struct {
	client *redis.Client
	prefix string
}

// Open connects to the Redis at url (redis://[user:password@]host:port/db, rediss:// for
// TLS, unix://path) lazily: an unreachable Redis does not stop the server, the limiter
// counts locally until it answers (see ratelimit.Limiter). Keys start with prefix. go-redis's
// own messages (it has one logger for the process) go to log at warn level, if log is not nil.
func Open(url, prefix string, log *slog.Logger) (*Store, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("CONCORDE_REDIS_URL: %v", err)
	}
	// Short timeouts, no retries: a limit check waits for Redis a fraction of a second at
	// most, and the script is not idempotent (a retried INCR would count twice).
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = 500*time.Millisecond, 500*time.Millisecond, 500*time.Millisecond
	opt.DialerRetries, opt.DialerRetryTimeout = 1, 10*time.Millisecond
	opt.MaxRetries = -1
	opt.ContextTimeoutEnabled = true
	if log != nil {
		redis.SetLogger(slogger{log})
	}
	return New(redis.NewClient(opt), prefix), nil
}

// slogger passes go-redis's messages to slog (its default prints plain lines on stderr, in
// the middle of the JSON logs).
type slogger struct{ log *slog.Logger }

func (l slogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// New returns a Store over client; keys start with prefix.
func New(client *redis.Client, prefix string) *Store {
	return &Store{client: client, prefix: prefix}
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error { return s.client.Ping(ctx).Err() }

// Close closes the connections.
func (s *Store) Close() error { return s.client.Close() }

// take counts one event in the current fixed window if the sliding-window estimate (the
// current window's count plus the previous one's, weighted by the share of it the sliding
// window still covers) leaves room. KEYS: current window, previous window. ARGV: limit,
// window and time elapsed in the current window, both in milliseconds. The current key
// lives two windows: through its own and the next, where it is the previous one.
var take = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local elapsed = tonumber(ARGV[3])
if prev * (window - elapsed) / window + cur + 1 > limit then
  return 0
end
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], 2 * window)
return 1
`)

// Take implements ratelimit.LimitStore. Windows are aligned on the node's clock (nodes keep
// theirs in sync with NTP; a skew of a second moves a window's edge by a second).
func (s *Store) Take(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, error) {
	if limit <= 0 || window <= 0 {
		return false, nil
	}
	w := window.Milliseconds()
	if w <= 0 {
		return false, fmt.Errorf("rate-limit window %s is shorter than a millisecond", window)
	}
	ms := now.UnixMilli()
	index := ms / w
	// One hash tag per key keeps both windows in one slot of a Redis Cluster.
	base := s.prefix + "rl:{" + key + "}:" + strconv.FormatInt(w, 10) + ":"
	keys := []string{base + strconv.FormatInt(index, 10), base + strconv.FormatInt(index-1, 10)}
	n, err := take.Run(ctx, s.client, keys, limit, w, ms-index*w).Int()
	if err != nil {
		return false, fmt.Errorf("redis rate limit %s: %w", strings.SplitN(key, "|", 2)[0], err)
	}
	return n == 1, nil
}
