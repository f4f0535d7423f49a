#include "core/writer_priority_mutex.h"

namespace tickring::core {
namespace {

// Before sleeping a waiter spins this many pauses (a few µs, longer than a put's critical
// section): libstdc++'s atomic::wait counts a waiter from its first spin, so without this the
// releaser of nearly every contended lock would pay a futex wake system call.
constexpr int kSpinsBeforeSleep = 256;

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Waits until ready(state) and returns the state that was ready.
template <typename Ready>
std::uint32_t await(const std::atomic<std::uint32_t>& state, Ready ready,
                    std::memory_order order) noexcept {
  std::uint32_t s = state.load(order);
  for (int i = 0; i < kSpinsBeforeSleep && !ready(s); ++i) {
    cpu_relax();
    s = state.load(order);
  }
  while (!ready(s)) {
    state.wait(s, std::memory_order_relaxed);
    s = state.load(order);
  }
  return s;
}

}  // namespace

// Acquire on entry, release on exit: a holder sees what earlier holders wrote. A writer's final
// acquire load reads the last leaving reader's release fetch_sub, and every earlier leaver's
// release sequence runs through it. notify_all, not notify_one: readers and writers may sleep on
// the same word, and waking only a reader would strand the writer.

void writer_priority_mutex::lock() noexcept {
  while ((state_.fetch_or(kWriter, std::memory_order_acquire) & kWriter) != 0) {
    await(
        state_, [](std::uint32_t s) { return (s & kWriter) == 0; }, std::memory_order_relaxed);
  }
  await(
      state_, [](std::uint32_t s) { return s == kWriter; }, std::memory_order_acquire);
}

void writer_priority_mutex::unlock() noexcept {
  state_.store(0, std::memory_order_release);  // no reader enters while kWriter is set
  state_.notify_all();
}

void writer_priority_mutex::lock_shared() noexcept {
  for (std::uint32_t s = 0;;) {
    s = await(
        state_, [](std::uint32_t v) { return (v & kWriter) == 0; }, std::memory_order_relaxed);
    if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acquire,
                                     std::memory_order_relaxed)) {
      return;
    }
  }
}

void writer_priority_mutex::unlock_shared() noexcept {
  if (state_.fetch_sub(1, std::memory_order_release) == (kWriter | 1)) state_.notify_all();
}

}  // namespace tickring::core
