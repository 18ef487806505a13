// NoDestructor<T>: a T built in place in static storage and never destroyed.
//
// For process-wide state that background threads may still reach while
// statics are destroyed at exit. Unlike a leaked `new T`, it takes no heap:
// when a plugin that carries a copy of the library is unloaded, the storage
// goes with the plugin's mapping and nothing is left behind (doc/architecture.md
// "Plugins"). What T itself allocates is T's business: keep such state
// empty when idle.
#ifndef ESTORIA_CORE_UTIL_NO_DESTRUCTOR_H_
#define ESTORIA_CORE_UTIL_NO_DESTRUCTOR_H_

#include <new>
#include <utility>

namespace estoria::core {

template <typename T>
class NoDestructor {
 public:
  template <typename... Args>
  explicit NoDestructor(Args&&... args) {
    new (storage_) T(std::forward<Args>(args)...);
  }
  NoDestructor(const NoDestructor&) = delete;
  NoDestructor& operator=(const NoDestructor&) = delete;

  T& operator*() { return *get(); }
  T* operator->() { return get(); }
  T* get() { return std::launder(reinterpret_cast<T*>(storage_)); }

 private:
  alignas(T) unsigned char storage_[sizeof(T)];
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_UTIL_NO_DESTRUCTOR_H_
