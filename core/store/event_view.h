// A view of one stored event: the bytes of a FlatBuffers estoria.fb.Event
// record, owned by whoever handed out the view (an iterator).
#ifndef ESTORIA_CORE_STORE_EVENT_VIEW_H_
#define ESTORIA_CORE_STORE_EVENT_VIEW_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace estoria::fb {
struct Event;
}

namespace estoria::core {

struct EventView {
  const uint8_t* fb = nullptr;  // 8-byte aligned, verified when stored
  size_t size = 0;

  // The root table. Inline, without the generated header: the hot path of
  // every fold. The root offset is little-endian, as this library's hosts are.
  const fb::Event* event() const {
    uint32_t root;
    std::memcpy(&root, fb, sizeof(root));
    return reinterpret_cast<const fb::Event*>(fb + root);
  }
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_EVENT_VIEW_H_
