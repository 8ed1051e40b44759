package sdk

// The host's limits on what a plugin stores and sends. The host enforces them (a call over a
// limit fails with an error for which IsInvalid is true); sdktest enforces the same.
const (
	MaxKeyBytes          = 512       // a storage key: 1 to 512 bytes of UTF-8 without NUL
	MaxValueBytes        = 512 << 10 // a stored value
	MaxBatchOps          = 100       // operations in one Batch
	MaxListLimit         = 1000      // entries in one List page
	MaxEventPayloadBytes = 64 << 10  // an event's JSON payload
	MaxProposalsListed   = 500       // proposals in one AcceptedProposals call
)

// ForwardedHeaders are the only request headers a plugin's handler sees: never cookies or
// credentials (the host authenticates; the principal is in CallOf(ctx)).
var ForwardedHeaders = []string{"Accept", "Accept-Language", "Content-Type", "If-None-Match", "If-Modified-Since", "User-Agent"}
