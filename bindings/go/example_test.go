// example_test.go: the README's example, run by go test (its output is checked).

package est_test

import (
	"context"
	"fmt"

	est "github.com/estoria-dev/estoria-go"
	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/typeid"
)

func Example() {
	ctx := context.Background()
	store, err := est.Open("memory:", nil) // or "file:/var/lib/app/events"
	if err != nil {
		panic(err)
	}
	defer store.Close()

	id := typeid.NewV7("account")
	_, err = store.AppendStream(ctx, id, []*eventstore.WritableEvent{
		{Type: "opened", Data: []byte(`{"owner":"ann"}`)},
		{Type: "deposited", Data: []byte(`{"amount":100}`), Metadata: map[string]string{"by": "teller"}},
	}, eventstore.AppendStreamOptions{ExpectVersion: eventstore.VersionPtr(0)})
	if err != nil {
		panic(err)
	}

	iter, err := store.ReadStream(ctx, id, eventstore.ReadStreamOptions{})
	if err != nil {
		panic(err)
	}
	defer iter.Close(ctx)
	events, err := eventstore.Collect(ctx, iter)
	if err != nil {
		panic(err)
	}
	for _, e := range events {
		fmt.Println(e.StreamVersion, e.ID.Type, string(e.Data), e.Metadata)
	}

	// A stale expectation fails with Estoria's own error.
	_, err = store.AppendStream(ctx, id, []*eventstore.WritableEvent{{Type: "closed"}},
		eventstore.AppendStreamOptions{ExpectVersion: eventstore.VersionPtr(1)})
	fmt.Println(err)
	// Output:
	// 1 opened {"owner":"ann"} map[]
	// 2 deposited {"amount":100} map[by:teller]
	// stream version mismatch: expected version 1, got version 2
}
