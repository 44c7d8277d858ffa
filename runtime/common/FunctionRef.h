// A non-owning reference to a callable: what std::function is for arguments
// that are only called during the call, without its heap allocation (a
// lambda capturing more than two references makes std::function allocate,
// and kernels run inside a step, where nothing may be allocated).
#pragma once

#include <type_traits>
#include <utility>

namespace off {

template <typename Signature> class FunctionRef;

template <typename R, typename... Args> class FunctionRef<R(Args...)> {
public:
  template <typename F,
            typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef> &&
                                        std::is_invocable_r_v<R, F &, Args...>>>
  FunctionRef(F &&f) noexcept // NOLINT: implicit, as std::function
      : object_(const_cast<void *>(static_cast<const void *>(&f))),
        call_([](void *object, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F> *>(object))(
              std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

private:
  void *object_;
  R (*call_)(void *, Args...);
};

} // namespace off
