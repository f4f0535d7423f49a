#include "core/reclaim.h"

#include <algorithm>
#include <mutex>
#include <vector>

namespace tickring::core {
namespace reclaim_detail {

// One per thread that ever took a guard; never freed (one cache line per thread), reused once
// its thread has exited so that thread churn does not grow the list.
struct alignas(64) hazard_record {
  std::atomic<const void*> hazard[kHazardsPerThread] = {};
  // Guards beyond kHazardsPerThread that are alive: while non-zero, a pass frees nothing.
  std::atomic<std::uint32_t> overflow{0};
  std::atomic<bool> in_use{true};
  hazard_record* next = nullptr;
};

}  // namespace reclaim_detail

namespace {

using reclaim_detail::hazard_record;

struct retired_item {
  void* ptr;
  reclaim_deleter deleter;
  std::size_t bytes;
};

std::atomic<hazard_record*> record_list{nullptr};

// Retired buffers not yet freed. At exit (after every other thread has been joined and the
// main thread's guards are gone), whatever no hazard pointer holds is freed, so that a leak
// checker sees no buffer lost because no pass ran after the last retirement.
struct retired_list {
  std::vector<retired_item> items;
  ~retired_list();
};

std::mutex retire_mutex;     // writers only
retired_list retired_list_;  // guarded by retire_mutex
std::vector<retired_item>& retired_items = retired_list_.items;
std::atomic<std::size_t> pending_count{0};
std::atomic<std::size_t> pending_bytes{0};

// A pass runs from retire once this many buffers are pending beyond the hazard pointers that
// could hold them: amortises the scan over several retirements.
constexpr std::size_t kRetireScanSlack = 16;
// ... or once this many bytes were retired since the last pass: large buffers (a grown ring)
// are freed promptly, so that memory retired in a burst of growth is reused by the burst
// instead of adding to the process' peak (16 pending 80 KB rings would be 1.3 MB).
constexpr std::size_t kRetireScanBytes = 256 * 1024;
std::size_t bytes_after_pass = 0;  // guarded by retire_mutex

hazard_record* acquire_record() {
  // seq_cst (not acquire): see reclaim.h, "registration".
  for (hazard_record* r = record_list.load(std::memory_order_seq_cst); r != nullptr; r = r->next) {
    bool expected = false;
    if (!r->in_use.load(std::memory_order_relaxed) &&
        r->in_use.compare_exchange_strong(expected, true, std::memory_order_seq_cst)) {
      return r;
    }
  }
  auto* r = new hazard_record;
  hazard_record* head = record_list.load(std::memory_order_relaxed);
  do {
    r->next = head;
    // seq_cst (not release): the pass's load of record_list and this CAS must be in the single
    // total order with the hazard store and the source re-load that follow (reclaim.h).
  } while (!record_list.compare_exchange_weak(head, r, std::memory_order_seq_cst,
                                              std::memory_order_relaxed));
  return r;
}

struct thread_state {
  hazard_record* record = acquire_record();
  std::uint32_t used = 0;  // bit i: hazard[i] belongs to a live guard of this thread
  ~thread_state() {
    for (auto& h : record->hazard)
      h.store(nullptr, std::memory_order_seq_cst);
    record->in_use.store(false, std::memory_order_release);
  }
};

thread_state& this_thread_state() {
  thread_local thread_state state;
  return state;
}

std::size_t hazard_count() {
  std::size_t n = 0;
  for (hazard_record* r = record_list.load(std::memory_order_seq_cst); r != nullptr; r = r->next)
    n += kHazardsPerThread;
  return n;
}

std::size_t reclaim_locked() {
  if (retired_items.empty()) return 0;
  std::vector<const void*> held;
  bool pinned = false;
  for (hazard_record* r = record_list.load(std::memory_order_seq_cst); r != nullptr; r = r->next) {
    if (r->overflow.load(std::memory_order_seq_cst) != 0) pinned = true;
    for (const auto& h : r->hazard) {
      if (const void* p = h.load(std::memory_order_seq_cst)) held.push_back(p);
    }
  }
  if (pinned) {
    bytes_after_pass = pending_bytes.load(std::memory_order_relaxed);
    return 0;
  }
  std::sort(held.begin(), held.end());
  std::size_t freed = 0;
  std::size_t keep = 0;
  std::size_t bytes = 0;
  for (auto& item : retired_items) {
    if (!std::binary_search(held.begin(), held.end(), static_cast<const void*>(item.ptr))) {
      item.deleter(item.ptr);
      ++freed;
    } else {
      bytes += item.bytes;
      retired_items[keep++] = item;
    }
  }
  retired_items.resize(keep);
  pending_count.store(keep, std::memory_order_relaxed);
  pending_bytes.store(bytes, std::memory_order_relaxed);
  bytes_after_pass = bytes;
  return freed;
}

retired_list::~retired_list() {
  reclaim_locked();
}

}  // namespace

namespace reclaim_detail {

std::atomic<const void*>* acquire_hazard() noexcept {
  thread_state& st = this_thread_state();
  for (int i = 0; i < kHazardsPerThread; ++i) {
    if ((st.used & (1U << i)) == 0) {
      st.used |= 1U << i;
      return &st.record->hazard[i];
    }
  }
  // seq_cst: ordered before the caller's load of the source, like a hazard store.
  st.record->overflow.fetch_add(1, std::memory_order_seq_cst);
  return nullptr;
}

void release_hazard(std::atomic<const void*>* slot) noexcept {
  thread_state& st = this_thread_state();
  if (slot == nullptr) {
    st.record->overflow.fetch_sub(1, std::memory_order_release);
    return;
  }
  slot->store(nullptr, std::memory_order_release);
  st.used &= ~(1U << (slot - st.record->hazard));
}

}  // namespace reclaim_detail

void reclaim_retire(void* p, std::size_t bytes, reclaim_deleter deleter) {
  std::lock_guard lock(retire_mutex);
  retired_items.push_back({p, deleter, bytes});
  pending_count.store(retired_items.size(), std::memory_order_relaxed);
  pending_bytes.fetch_add(bytes, std::memory_order_relaxed);
  if (retired_items.size() > hazard_count() + kRetireScanSlack ||
      pending_bytes.load(std::memory_order_relaxed) - bytes_after_pass > kRetireScanBytes)
    reclaim_locked();
}

std::size_t reclaim_now() {
  std::lock_guard lock(retire_mutex);
  return reclaim_locked();
}

std::size_t reclaim_pending() {
  return pending_count.load(std::memory_order_relaxed);
}

std::size_t reclaim_pending_bytes() {
  return pending_bytes.load(std::memory_order_relaxed);
}

}  // namespace tickring::core
