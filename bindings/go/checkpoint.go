// checkpoint.go: projection checkpoints (the header's experimental
// est_checkpoint_* and est_txn_checkpoint), kept in the store itself. *Store
// implements Estoria's checkpointstore.Store (Load, Save, Delete) with its
// semantics: last write wins, UpdatedAt assigned by the store on every save,
// checkpointstore.ErrCheckpointNotFound when there is none (to Load and to
// Delete). Txn.Checkpoint commits a save with a transaction's appends.

package est

/*
#define EST_EXPERIMENTAL
#include <stdlib.h>
#include <string.h>
#include <estoria/estoria.h>

static est_status gs_checkpoint_save(est_store *s, const char *id, int64_t position, char **msg) {
  est_status st = est_checkpoint_save(s, id, position);
  if (st != EST_OK) *msg = strdup(est_last_error());
  return st;
}

static est_status gs_checkpoint_load(est_store *s, const char *id, int64_t *position, int64_t *updated,
                                     char **msg) {
  est_status st = est_checkpoint_load(s, id, position, updated);
  if (st != EST_OK) *msg = strdup(est_last_error());
  return st;
}

static est_status gs_checkpoint_delete(est_store *s, const char *id, char **msg) {
  est_status st = est_checkpoint_delete(s, id);
  if (st != EST_OK) *msg = strdup(est_last_error());
  return st;
}

static est_status gs_txn_checkpoint(est_txn *t, const char *id, int64_t position, char **msg) {
  est_status st = est_txn_checkpoint(t, id, position);
  if (st != EST_OK) *msg = strdup(est_last_error());
  return st;
}

// The listing, gathered in C memory: no Go callback (so no Go pointer or
// panic crosses into C). A NUL-separated buffer of IDs and two arrays.
typedef struct gs_checkpoints {
  char *ids;
  size_t ids_len, ids_cap;
  int64_t *values;  // position, updated_at_ns per checkpoint
  size_t count, cap;
} gs_checkpoints;

static est_status gs_checkpoint_visit(void *user, const char *id, int64_t position, int64_t updated) {
  gs_checkpoints *c = (gs_checkpoints *)user;
  size_t n = strlen(id) + 1;
  if (c->ids_len + n > c->ids_cap) {
    size_t cap = c->ids_cap ? 2 * c->ids_cap : 1024;
    while (cap < c->ids_len + n) cap *= 2;
    char *ids = (char *)realloc(c->ids, cap);
    if (ids == NULL) return EST_ERR_NO_MEMORY;
    c->ids = ids;
    c->ids_cap = cap;
  }
  if (c->count == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 64;
    int64_t *values = (int64_t *)realloc(c->values, 2 * cap * sizeof(int64_t));
    if (values == NULL) return EST_ERR_NO_MEMORY;
    c->values = values;
    c->cap = cap;
  }
  memcpy(c->ids + c->ids_len, id, n);
  c->ids_len += n;
  c->values[2 * c->count] = position;
  c->values[2 * c->count + 1] = updated;
  c->count++;
  return EST_OK;
}

static est_status gs_checkpoint_list(est_store *s, gs_checkpoints *out, char **msg) {
  memset(out, 0, sizeof *out);
  est_status st = est_checkpoint_list(s, gs_checkpoint_visit, out);
  if (st != EST_OK) *msg = strdup(est_last_error());
  return st;
}

static void gs_checkpoints_free(gs_checkpoints *c) {
  free(c->ids);
  free(c->values);
}
*/
import "C"

import (
	"context"
	"strings"
	"time"
	"unsafe"

	"github.com/go-estoria/estoria/projection"
	"github.com/go-estoria/estoria/projection/checkpointstore"
)

var _ checkpointstore.Store = (*Store)(nil)

// checkpointErr maps NOT_FOUND to an error that also matches Estoria's
// checkpointstore.ErrCheckpointNotFound.
func checkpointErr(op string, st C.est_status, msg *C.char) error {
	err := statusErr(op, st, msg)
	if st == C.EST_ERR_NOT_FOUND {
		return &both{outer: checkpointstore.ErrCheckpointNotFound, inner: err}
	}
	return err
}

func cProjectionID(op string, id string) (*C.char, error) {
	if strings.IndexByte(id, 0) >= 0 {
		return nil, errorf(op, StatusInvalidArgument, "projection ID contains NUL")
	}
	return cString(id), nil
}

// checkpointCall runs one checkpoint call on projectionID: the context
// check, the ID as a C string, the store held for the call, and the error.
func (s *Store) checkpointCall(ctx context.Context, op, projectionID string,
	call func(c *C.est_store, cid *C.char, msg **C.char) C.est_status) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cid, err := cProjectionID(op, projectionID)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cid))
	c, err := s.acquire(op)
	if err != nil {
		return err
	}
	var msg *C.char
	st := call(c, cid, &msg)
	s.release()
	if st != C.EST_OK {
		return checkpointErr(op+" "+projectionID, st, msg)
	}
	return nil
}

// SaveCheckpoint saves position as the checkpoint of projectionID ("name_vN").
func (s *Store) SaveCheckpoint(ctx context.Context, projectionID string, position int64) error {
	return s.checkpointCall(ctx, "checkpoint save", projectionID, func(c *C.est_store, cid *C.char, msg **C.char) C.est_status {
		return C.gs_checkpoint_save(c, cid, C.int64_t(position), msg)
	})
}

// LoadCheckpoint returns the checkpoint of projectionID: its position and
// when the store last saved it. An error matching ErrNotFound and
// checkpointstore.ErrCheckpointNotFound when there is none.
func (s *Store) LoadCheckpoint(ctx context.Context, projectionID string) (position int64, updatedAt time.Time, err error) {
	var pos, updated C.int64_t
	err = s.checkpointCall(ctx, "checkpoint load", projectionID, func(c *C.est_store, cid *C.char, msg **C.char) C.est_status {
		return C.gs_checkpoint_load(c, cid, &pos, &updated, msg)
	})
	if err != nil {
		return 0, time.Time{}, err
	}
	return int64(pos), time.Unix(0, int64(updated)), nil
}

// DeleteCheckpoint removes the checkpoint of projectionID; an error
// matching checkpointstore.ErrCheckpointNotFound when there is none.
func (s *Store) DeleteCheckpoint(ctx context.Context, projectionID string) error {
	return s.checkpointCall(ctx, "checkpoint delete", projectionID, func(c *C.est_store, cid *C.char, msg **C.char) C.est_status {
		return C.gs_checkpoint_delete(c, cid, msg)
	})
}

// NamedCheckpoint is one entry of ListCheckpoints.
type NamedCheckpoint struct {
	ProjectionID string
	Position     int64
	UpdatedAt    time.Time
}

// ListCheckpoints returns every checkpoint of the store, ascending ID.
func (s *Store) ListCheckpoints(ctx context.Context) ([]NamedCheckpoint, error) {
	const op = "checkpoint list"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := s.acquire(op)
	if err != nil {
		return nil, err
	}
	var list C.gs_checkpoints
	var msg *C.char
	st := C.gs_checkpoint_list(c, &list, &msg)
	s.release()
	defer C.gs_checkpoints_free(&list)
	if st != C.EST_OK {
		return nil, statusErr(op, st, msg)
	}
	n := int(list.count)
	out := make([]NamedCheckpoint, 0, n)
	if n == 0 {
		return out, nil
	}
	ids := strings.Split(C.GoStringN(list.ids, C.int(list.ids_len-1)), "\x00")
	values := unsafe.Slice((*int64)(unsafe.Pointer(list.values)), 2*n)
	for i := 0; i < n; i++ {
		out = append(out, NamedCheckpoint{ProjectionID: ids[i], Position: values[2*i],
			UpdatedAt: time.Unix(0, values[2*i+1])})
	}
	return out, nil
}

// Load implements checkpointstore.Store.
func (s *Store) Load(ctx context.Context, id projection.ID) (checkpointstore.Checkpoint, error) {
	position, updatedAt, err := s.LoadCheckpoint(ctx, id.String())
	if err != nil {
		return checkpointstore.Checkpoint{}, err
	}
	return checkpointstore.Checkpoint{ProjectionID: id, Position: position, UpdatedAt: updatedAt}, nil
}

// Save implements checkpointstore.Store.
func (s *Store) Save(ctx context.Context, id projection.ID, position int64) error {
	return s.SaveCheckpoint(ctx, id.String(), position)
}

// Delete implements checkpointstore.Store.
func (s *Store) Delete(ctx context.Context, id projection.ID) error {
	return s.DeleteCheckpoint(ctx, id.String())
}

// Checkpoint adds a save of projectionID's checkpoint at position to the
// transaction: saved only if it commits, in the same commit as its appends
// (a projection's output and its progress, exactly once).
func (t *Txn) Checkpoint(projectionID string, position int64) error {
	const op = "txn checkpoint"
	cid, err := cProjectionID(op, projectionID)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cid))
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.c == nil {
		return errorf(op, StatusClosed, "the transaction is closed")
	}
	var msg *C.char
	st := C.gs_txn_checkpoint(t.c, cid, C.int64_t(position), &msg)
	if st != C.EST_OK {
		return statusErr(op+" "+projectionID, st, msg)
	}
	t.checkpoints++
	return nil
}
