#include "tests/linearizability/ring_workload.h"

#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "core/time_sorted_array.h"

namespace tickring::lincheck {
namespace {

// Four words so that a copy torn between two writes is likely to show: the check word ties
// them to each other and to the time.
struct payload {
  std::uint64_t id, inverse, scaled, check;
};
using ring = core::time_sorted_array<payload>;

std::uint64_t check_word(std::int64_t t, std::uint64_t id) {
  std::uint64_t h = static_cast<std::uint64_t>(t) * 0x9E3779B97F4A7C15ULL ^ id;
  h ^= h >> 31;
  return h * 0xBF58476D1CE4E5B9ULL;
}
payload make_payload(std::int64_t t, std::uint64_t id) {
  return {id, ~id, id * 0x94D049BB133111EBULL, check_word(t, id)};
}
std::uint64_t decode(std::int64_t t, const payload& p) {
  const bool whole = p.inverse == ~p.id && p.scaled == p.id * 0x94D049BB133111EBULL &&
                     p.check == check_word(t, p.id);
  return whole ? p.id : kTorn;
}

struct shared_state {
  explicit shared_state(std::size_t capacity) : r(capacity) {}
  ring r;
  ticket_clock clock;
  std::atomic<bool> stop{false};
  std::atomic<int> ready{0};
  std::atomic<int> readers_left{0};
  std::atomic<std::int64_t> newest{kTimeBase};  // sliding_window: where readers aim
};

void idle(std::mt19937_64& rng, unsigned pause_max) {
  const unsigned n = pause_max == 0 ? 0 : static_cast<unsigned>(rng() % (pause_max + 1));
  for (unsigned i = 0; i < n; ++i) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
  }
}

void wait_for_start(shared_state& s, int threads) {
  s.ready.fetch_add(1);
  while (s.ready.load() < threads)
    std::this_thread::yield();
}

void write(shared_state& s, const workload& w, int threads, thread_history& out) {
  std::mt19937_64 rng(w.seed);
  std::map<std::int64_t, std::uint64_t> live;  // the writer's mirror, to choose operations
  std::uint64_t next_id = 1;
  auto record = [&](op o) { out.ops.push_back(o); };
  auto put = [&](std::int64_t t) {
    op o{op_kind::put, false, t, next_id++};
    begin_op(s.clock, o);
    const auto res = s.r.put(t, make_payload(t, o.value));
    end_op(s.clock, o);
    o.ok = res.outcome == ring::put_outcome::inserted;
    o.seq = res.seq;
    live[t] = o.value;
    record(o);
  };
  auto remove = [&](std::int64_t t) {
    op o{op_kind::remove, false, t};
    begin_op(s.clock, o);
    const auto seq = s.r.remove(t);
    end_op(s.clock, o);
    o.ok = seq.has_value();
    o.seq = seq.value_or(0);
    live.erase(t);
    record(o);
  };
  auto remove_lowest = [&] {
    op o{op_kind::remove, false, live.begin()->first};
    begin_op(s.clock, o);
    const auto e = s.r.remove_lowest();
    end_op(s.clock, o);
    o.ok = e.has_value();
    if (e) o.key = e->time;  // a wrong time shows as a wrong result in the replay
    if (e) o.seq = e->seq;
    live.erase(o.key);
    record(o);
  };
  auto any_live = [&] {
    auto it = live.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(rng() % live.size()));
    return it->first;
  };
  const std::int64_t top = kTimeBase + kTimeStep * (w.times - 1);
  auto any_time = [&] {
    return kTimeBase + kTimeStep * static_cast<std::int64_t>(rng() % w.times);
  };

  // Half fill the ring before the readers start, so that they find something from their first
  // operation on (these operations are recorded too; they precede every read).
  for (std::size_t i = 0; i < w.max_live / 2; ++i) {
    if (w.shape == workload_shape::sliding_window) {
      put(kTimeBase + kTimeStep * static_cast<std::int64_t>(i));
    } else {
      put(any_time());
    }
  }
  if (!live.empty()) s.newest.store(live.rbegin()->first, std::memory_order_relaxed);
  wait_for_start(s, threads);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(w.max_seconds);
  while (out.ops.size() + 2 <= w.writer_ops) {
    if (out.ops.size() % 256 == 0 &&
        (std::chrono::steady_clock::now() > deadline || s.readers_left.load() == 0)) {
      break;
    }
    idle(rng, w.pause_max);
    unsigned r = static_cast<unsigned>(rng() % 100);
    if (live.size() >= w.max_live) r = 65 + r % 35;  // full: remove something
    if (w.shape == workload_shape::sliding_window) {
      const std::int64_t newest = live.empty() ? kTimeBase : live.rbegin()->first;
      if (r < 70) {
        put(newest + kTimeStep * static_cast<std::int64_t>(1 + rng() % 2));
      } else if (r < 80) {  // a late tick: a middle insert, or a prepend
        put(newest - 5 - kTimeStep * static_cast<std::int64_t>(rng() % w.max_live));
      } else if (r < 87 && !live.empty()) {
        put(any_live());
      } else if (r < 92 && !live.empty()) {
        remove(any_live());
      } else if (!live.empty()) {
        remove_lowest();
      }
      if (!live.empty()) s.newest.store(live.rbegin()->first, std::memory_order_relaxed);
      continue;
    }
    if (r < 20) {  // append (or anywhere, at the top of the range)
      const std::int64_t t = live.empty() ? any_time() : live.rbegin()->first + kTimeStep;
      put(t <= top ? t : any_time());
    } else if (r < 30) {  // prepend
      const std::int64_t t = live.empty() ? any_time() : live.begin()->first - kTimeStep;
      put(t >= kTimeBase ? t : any_time());
    } else if (r < 55) {  // mostly middle inserts, some overwrites and reused removed cells
      put(any_time());
    } else if (r < 65 && !live.empty()) {
      put(any_live());
    } else if (r < 80 && !live.empty()) {
      remove(any_live());
    } else if (r < 88 && !live.empty()) {
      remove_lowest();
    } else if (r < 94 && !live.empty()) {
      remove(live.rbegin()->first);
    } else {
      remove(any_time());  // often absent
    }
  }
  s.stop.store(true);
}

void read(shared_state& s, const workload& w, int index, int threads, thread_history& out) {
  std::mt19937_64 rng(w.seed * 7919 + static_cast<std::uint64_t>(index));
  auto any_time = [&]() -> std::int64_t {
    if (w.shape == workload_shape::random_times) {
      return kTimeBase + kTimeStep * static_cast<std::int64_t>(rng() % w.times);
    }
    const std::int64_t newest = s.newest.load(std::memory_order_relaxed);
    const auto back = static_cast<std::int64_t>(rng() % (2 * w.max_live + 2));
    return newest + kTimeStep - kTimeStep * back - (rng() % 2 == 0 ? 0 : 5);
  };
  // committed_seq() right after a read that returned a point: the seq it returned must already
  // be committed (the checker sees it through program order).
  auto committed = [&] {
    op c;
    c.kind = op_kind::committed;
    begin_op(s.clock, c);
    c.value = s.r.committed_seq();
    end_op(s.clock, c);
    out.ops.push_back(c);
  };
  auto end_point = [&](op_kind kind) {
    op o;
    o.kind = kind;
    begin_op(s.clock, o);
    const auto v = kind == op_kind::lowest ? s.r.lowest() : s.r.highest();
    end_op(s.clock, o);
    if (v) {
      o.key = v->time;
      o.value = decode(v->time, v->value);
      o.seq = v->seq;
    } else {
      o.value = kAbsent;
    }
    out.ops.push_back(o);
    if (v && out.ops.size() < w.reader_ops) committed();
  };
  wait_for_start(s, threads);
  while (!s.stop.load(std::memory_order_relaxed) && out.ops.size() + 1 < w.reader_ops) {
    idle(rng, w.pause_max);
    const unsigned r = static_cast<unsigned>(rng() % 100);
    op o;
    if (r < w.lowest_percent) {
      end_point(op_kind::lowest);
      continue;
    }
    if (r < w.lowest_percent + w.highest_percent) {
      end_point(op_kind::highest);
      continue;
    }
    if (r < 70) {
      o.kind = op_kind::get;
      o.key = any_time();
      begin_op(s.clock, o);
      ring::entry e;
      const bool found = s.r.find(o.key, e);
      end_op(s.clock, o);
      o.value = found ? decode(o.key, e.value) : kAbsent;
      o.seq = found ? e.seq : 0;
      out.ops.push_back(o);
      if (found) committed();
      continue;
    }
    if (r < 85 || out.yielded.size() + w.iterate_step_cap > out.yielded.capacity()) {
      o.kind = op_kind::size;
      begin_op(s.clock, o);
      o.value = s.r.size();
      end_op(s.clock, o);
    } else {
      o.kind = op_kind::iterate;
      o.key = rng() % 2 == 0 ? kNoLimit : any_time();
      o.first_yield = static_cast<std::uint32_t>(out.yielded.size());
      o.ok = true;
      begin_op(s.clock, o);
      {
        auto it = s.r.iterate_backwards(o.key);  // kNoLimit == core::kMaxTime
        ring::entry e;
        for (;;) {
          if (o.yields == w.iterate_step_cap) {
            o.ok = false;
            break;
          }
          if (!it.next(e)) break;
          out.yielded.push_back({e.time, decode(e.time, e.value)});
          ++o.yields;
        }
      }
      end_op(s.clock, o);
    }
    out.ops.push_back(o);
  }
  s.readers_left.fetch_sub(1);
}

}  // namespace

workload_result run_ring_workload(const workload& w) {
  static_assert(kNoLimit == core::kMaxTime);
  workload_result out;
  const int threads = 1 + w.readers;
  out.h.threads.resize(static_cast<std::size_t>(threads));
  out.h.threads[0].ops.reserve(w.writer_ops);
  for (int i = 1; i < threads; ++i) {
    auto& t = out.h.threads[static_cast<std::size_t>(i)];
    t.ops.reserve(w.reader_ops);
    t.yielded.reserve(w.reader_ops / 4 * w.iterate_step_cap + w.iterate_step_cap);
  }
  shared_state s(w.initial_capacity);
  s.readers_left.store(w.readers);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  pool.emplace_back([&] { write(s, w, threads, out.h.threads[0]); });
  for (int i = 1; i < threads; ++i) {
    pool.emplace_back(
        [&, i] { read(s, w, i, threads, out.h.threads[static_cast<std::size_t>(i)]); });
  }
  for (auto& t : pool)
    t.join();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.final_capacity = s.r.capacity();
  return out;
}

}  // namespace tickring::lincheck
