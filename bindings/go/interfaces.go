// interfaces.go: the global reader and stream deleter interfaces.
//
// Estoria v0.4.0, the newest version the Go module proxy serves here, has no
// interface for either capability; later versions have eventstore.GlobalReader
// and eventstore.StreamDeleter. These are the same shapes with this package's
// option types (which have the same fields), so that code written against
// them moves to Estoria's own by changing an import once a later version can
// be fetched.

package est

import (
	"context"

	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/typeid"
)

// GlobalReader reads every stream's events in ascending global position.
// The iterator is finite: its frontier is fixed when ReadAll returns.
type GlobalReader interface {
	ReadAll(ctx context.Context, opts ReadAllOptions) (eventstore.StreamIterator, error)
}

// StreamDeleter deletes a stream wholly or truncates it (DeleteStreamOptions).
type StreamDeleter interface {
	DeleteStream(ctx context.Context, id typeid.ID, opts DeleteStreamOptions) error
}

var (
	_ GlobalReader  = (*Store)(nil)
	_ StreamDeleter = (*Store)(nil)
)
