module github.com/estoria-dev/estoria-go

go 1.26.1

require (
	github.com/go-estoria/estoria v0.12.0
	github.com/gofrs/uuid/v5 v5.3.2
)
