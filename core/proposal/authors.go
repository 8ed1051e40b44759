package proposal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
)

// DetachAuthorIn unlinks a participant from their proposals (erasure under the GDPR), in the
// caller's transaction tx: the proposals stay, attributed to one random "erased:<hex>"
// pseudonym that nothing ties to the person. It returns how many proposals it changed.
func (s *Service) DetachAuthorIn(ctx context.Context, tx store.Scope, author string) (int64, error) {
	if err := validKey("author", author); err != nil {
		return 0, err
	}
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it aborts the program instead)
	res, err := tx.Update((*Proposal)(nil)).Set("author = ?", "erased:"+hex.EncodeToString(b[:])).Where("author = ?", author).Exec(ctx)
	if err != nil {
		return 0, errs.Wrap(errs.Unavailable, fmt.Errorf("detach proposals: %w", err), "the proposals could not be detached; try again")
	}
	n, _ := res.RowsAffected()
	return n, nil
}
