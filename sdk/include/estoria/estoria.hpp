// estoria/estoria.hpp: the header-only C++ SDK over the C ABI, all of it.
// Include this one header; the pieces are:
//   result.hpp      Error, Result<T> (no exceptions needed)
//   string_arg.hpp  how text is passed to the ABI
//   id.hpp          Uuid, Id
//   batch.hpp       Batch (events of one append)
//   event.hpp       EventView, StreamIterator
//   store.hpp       Store, options, Snapshot
// Only estoria.h and the standard library are used: a plugin built with
// another compiler or standard library links against the same libestoria.
#ifndef ESTORIA_ESTORIA_HPP_
#define ESTORIA_ESTORIA_HPP_

#include "estoria/batch.hpp"
#include "estoria/estoria.h"
#include "estoria/event.hpp"
#include "estoria/id.hpp"
#include "estoria/operation.hpp"
#include "estoria/result.hpp"
#include "estoria/store.hpp"
#include "estoria/string_arg.hpp"

#endif  // ESTORIA_ESTORIA_HPP_
