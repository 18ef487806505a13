// EventView: a borrowed FlatBuffers estoria.fb.Event record. The bytes were
// verified (or built by us) when stored, so reading the root needs no check.
#include "core/store/event_view.h"

#include "flatbuffers/flatbuffers.h"
#include "schema/estoria_generated.h"

namespace estoria::core {

const fb::Event* EventView::event() const { return flatbuffers::GetRoot<fb::Event>(fb); }

}  // namespace estoria::core
