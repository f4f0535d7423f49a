#include "core/epoch.h"

#include <atomic>
#include <mutex>
#include <new>
#include <vector>

namespace tickring::core {
namespace {

// One per thread that ever took a guard; never freed (a handful of cache lines per thread),
// reused once its thread has exited so that thread churn does not grow the list.
struct alignas(64) thread_slot {
  std::atomic<std::uint64_t> announced{0};  // 0: outside any guard
  std::atomic<bool> in_use{true};
  thread_slot* next = nullptr;
};

struct retired_item {
  void* ptr;
  epoch_deleter deleter;
  std::uint64_t tag;
};

std::atomic<std::uint64_t> global_epoch{1};
std::atomic<thread_slot*> slot_list{nullptr};

std::mutex retire_mutex;                  // writers only
std::vector<retired_item> retired_items;  // guarded by retire_mutex
std::atomic<std::size_t> retired_count{0};

thread_slot* acquire_slot() {
  for (thread_slot* s = slot_list.load(std::memory_order_acquire); s != nullptr; s = s->next) {
    bool expected = false;
    if (!s->in_use.load(std::memory_order_relaxed) &&
        s->in_use.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
      return s;
    }
  }
  auto* s = new thread_slot;
  thread_slot* head = slot_list.load(std::memory_order_relaxed);
  do {
    s->next = head;
  } while (!slot_list.compare_exchange_weak(head, s, std::memory_order_release,
                                            std::memory_order_relaxed));
  return s;
}

struct thread_state {
  thread_slot* slot = acquire_slot();
  std::uint32_t depth = 0;
  ~thread_state() {
    slot->announced.store(0, std::memory_order_seq_cst);
    slot->in_use.store(false, std::memory_order_release);
  }
};

thread_state& this_thread_state() {
  thread_local thread_state state;
  return state;
}

// Smallest epoch announced by a thread inside a guard, or UINT64_MAX when none is.
std::uint64_t min_announced() {
  std::uint64_t min = UINT64_MAX;
  for (thread_slot* s = slot_list.load(std::memory_order_acquire); s != nullptr; s = s->next) {
    const std::uint64_t e = s->announced.load(std::memory_order_seq_cst);
    if (e != 0 && e < min) min = e;
  }
  return min;
}

std::size_t reclaim_locked() {
  const std::uint64_t min = min_announced();
  std::size_t freed = 0;
  std::size_t keep = 0;
  for (auto& item : retired_items) {
    if (item.tag < min) {
      item.deleter(item.ptr);
      ++freed;
    } else {
      retired_items[keep++] = item;
    }
  }
  retired_items.resize(keep);
  retired_count.store(keep, std::memory_order_relaxed);
  return freed;
}

}  // namespace

epoch_guard::epoch_guard() noexcept {
  thread_state& st = this_thread_state();
  if (st.depth++ == 0) {
    st.slot->announced.store(global_epoch.load(std::memory_order_seq_cst),
                             std::memory_order_seq_cst);
  }
}

epoch_guard::~epoch_guard() {
  thread_state& st = this_thread_state();
  if (--st.depth == 0) st.slot->announced.store(0, std::memory_order_release);
}

void epoch_retire(void* p, epoch_deleter deleter) {
  std::lock_guard lock(retire_mutex);
  const std::uint64_t tag = global_epoch.fetch_add(1, std::memory_order_seq_cst);
  retired_items.push_back({p, deleter, tag});
  retired_count.store(retired_items.size(), std::memory_order_relaxed);
  reclaim_locked();
}

std::size_t epoch_try_reclaim() {
  std::lock_guard lock(retire_mutex);
  return reclaim_locked();
}

std::size_t epoch_pending() {
  return retired_count.load(std::memory_order_relaxed);
}

}  // namespace tickring::core
