// window_store microbenchmarks: which reader/writer lock suits the window store. The same
// window_table runs behind four locks, in the same run:
// - wpref:  window_store itself, with its writer_priority_mutex;
// - pfair:  a phase-fair ticket lock (Brandenburg & Anderson's PF-T, below): the candidate that
//           starves neither side, measured and not chosen;
// - shared: std::shared_mutex (glibc pthread_rwlock, reader-preferring by default);
// - mutex:  one std::mutex for every call (the baseline).
//
//   build/<dir>/bench/window_store_bench                 (about 20 s)
//   build/<dir>/bench/window_store_bench --benchmark_filter=threads
//
// Store: kKeys keys, window kKeys ticks of a logical clock that the writer advances by one per
// put, put to random keys (about 63% of keys live, dead records for re-puts in the queue).
// - single/<op>: one thread, no contention: ns per call of the bare window_table.
// - threads/<read>/<W>w<R>r: W writer threads put flat out while R reader threads call <read>
//   flat out (std::thread, one iteration, manual time). The locks take turns, kPhase each,
//   kRounds times, so that load from other processes hits them alike. Counters: <lock>_reads_M_s
//   and <lock>_puts_M_s, each side's mean throughput in millions of calls per second.
//   <read>: get = get of a random key; average = stats at the writer's clock (the O(1) path);
//   average_ahead = stats half a window past the writer's clock (the O(log n) path that excludes
//   expired entries without removing them).
// With 1 writer + 2 readers the 2 cores are oversubscribed: a reader-preferring lock shows its
// writer's starvation there (compare the puts counters). Results change with the cores free:
// run it also under `taskset -c 0` (threads sharing one core) to see the fair lock's convoy.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/window_store.h"

namespace {

using tickring::core::time_ns;
using tickring::core::window_stats;
using tickring::core::window_store;
using tickring::core::window_table;

constexpr int kKeys = 10'000;
constexpr time_ns kWindow = kKeys;
constexpr auto kPhase = std::chrono::milliseconds(120);  // per lock and round: ~20 s in all
constexpr int kRounds = 3;

const std::vector<std::string>& key_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (int i = 0; i < kKeys; ++i)
      v.push_back("sensor/" + std::to_string(i));
    return v;
  }();
  return names;
}

std::uint64_t next(std::uint64_t& x) {  // xorshift64: cheap enough not to show in the figures
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

// Phase-fair reader/writer ticket lock (PF-T): a writer waits for the readers inside and for
// earlier writers; a reader for at most one writer. Waits spin as long as the store's lock does,
// then sleep. seq_cst on the reader's exit and the writer's entry rules out a lost wake-up.
class phase_fair_mutex {
 public:
  void lock_shared() {
    const std::uint32_t w = rin_.fetch_add(kReaderUnit, std::memory_order_acquire) & kWriterBits;
    if (w != 0) await(rin_, [w](std::uint32_t s) { return (s & kWriterBits) != w; });
  }
  void unlock_shared() {
    rout_.fetch_add(kReaderUnit, std::memory_order_seq_cst);
    if ((rin_.load(std::memory_order_seq_cst) & kPresent) != 0) rout_.notify_all();
  }
  void lock() {
    const std::uint32_t ticket = writers_in_.fetch_add(1, std::memory_order_relaxed);
    await(writers_out_, [ticket](std::uint32_t s) { return s == ticket; });
    const std::uint32_t entered =
        rin_.fetch_add(kPresent | (ticket & kPhase), std::memory_order_seq_cst);
    await(rout_, [entered](std::uint32_t s) { return s == entered; });
  }
  void unlock() {
    rin_.fetch_and(~kWriterBits, std::memory_order_release);
    rin_.notify_all();
    writers_out_.fetch_add(1, std::memory_order_release);
    writers_out_.notify_all();
  }

 private:
  static constexpr std::uint32_t kReaderUnit = 0x100, kPresent = 0x2, kPhase = 0x1;
  static constexpr std::uint32_t kWriterBits = kPresent | kPhase;
  static constexpr int kSpins = 256;  // as kSpinsBeforeSleep in core/window_store.cc
  template <typename Ready>
  static void await(const std::atomic<std::uint32_t>& a, Ready ready) {
    std::uint32_t s = a.load(std::memory_order_seq_cst);
    for (int i = 0; i < kSpins && !ready(s); ++i) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      s = a.load(std::memory_order_seq_cst);
    }
    while (!ready(s)) {
      a.wait(s, std::memory_order_relaxed);
      s = a.load(std::memory_order_seq_cst);
    }
  }
  alignas(64) std::atomic<std::uint32_t> rin_{0};   // readers in, plus the writer's bits
  alignas(64) std::atomic<std::uint32_t> rout_{0};  // readers out
  alignas(64) std::atomic<std::uint32_t> writers_in_{0};
  std::atomic<std::uint32_t> writers_out_{0};
};

// The same table behind another lock; Shared selects shared_lock for reads.
template <typename Mutex, bool Shared>
class locked_table {
 public:
  locked_table() : table_(kWindow, kKeys) {}
  auto put(std::string_view k, double v, time_ns now) {
    std::lock_guard lock(mutex_);
    return table_.put(k, v, now);
  }
  auto get(std::string_view k, time_ns now) const {
    if constexpr (Shared) {
      std::shared_lock lock(mutex_);
      return table_.get(k, now);
    } else {
      std::lock_guard lock(mutex_);
      return table_.get(k, now);
    }
  }
  window_stats stats(time_ns now) const {
    if constexpr (Shared) {
      std::shared_lock lock(mutex_);
      return table_.stats(now);
    } else {
      std::lock_guard lock(mutex_);
      return table_.stats(now);
    }
  }

 private:
  mutable Mutex mutex_;
  window_table table_;
};

struct wpref_store : window_store {
  wpref_store() : window_store(kWindow, kKeys) {}
};
using pfair_store = locked_table<phase_fair_mutex, true>;
using shared_store = locked_table<std::shared_mutex, true>;
using mutex_store = locked_table<std::mutex, false>;

enum read_kind { kGet, kAverage, kAverageAhead };
constexpr const char* kReadNames[] = {"get", "average", "average_ahead"};

// Puts 3 * kKeys random keys so the queue holds dead records like a running store's.
template <typename Store>
time_ns warm_up(Store& s) {
  std::uint64_t x = 88172645463325252ULL;
  time_ns now = 0;
  for (; now < 3 * kKeys; ++now)
    (void)s.put(key_names()[next(x) % kKeys], 1.0 + static_cast<double>(now % 7), now);
  return now;
}

template <typename Store>
void read_once(const Store& s, read_kind k, time_ns now, std::uint64_t r) {
  if (k == kGet) {
    auto g = s.get(key_names()[r % kKeys], now);
    benchmark::DoNotOptimize(g);
  } else {
    window_stats st = s.stats(k == kAverage ? now : now + kWindow / 2);
    benchmark::DoNotOptimize(st);
  }
}

struct phase_result {
  double seconds, reads_per_s, puts_per_s;
};

template <typename Store>
phase_result run_phase(read_kind kind, int writers, int readers) {
  Store store;
  std::atomic<time_ns> clock{warm_up(store)};
  std::atomic<bool> go{false}, stop{false};
  std::atomic<std::uint64_t> reads{0}, puts{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      std::uint64_t x = 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(w), n = 0;
      while (!go.load())
        std::this_thread::yield();
      while (!stop.load(std::memory_order_relaxed)) {
        const time_ns now = clock.fetch_add(1, std::memory_order_relaxed);
        (void)store.put(key_names()[next(x) % kKeys], 1.0 + static_cast<double>(n % 7), now);
        ++n;
      }
      puts.fetch_add(n);
    });
  }
  for (int r = 0; r < readers; ++r) {
    threads.emplace_back([&, r] {
      std::uint64_t x = 0xD1B54A32D192ED03ULL + static_cast<std::uint64_t>(r), n = 0;
      while (!go.load())
        std::this_thread::yield();
      while (!stop.load(std::memory_order_relaxed)) {
        read_once(store, kind, clock.load(std::memory_order_relaxed), next(x));
        ++n;
      }
      reads.fetch_add(n);
    });
  }
  const auto start = std::chrono::steady_clock::now();
  go = true;
  std::this_thread::sleep_for(kPhase);
  stop = true;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (auto& t : threads)
    t.join();
  return {s, static_cast<double>(reads.load()) / s, static_cast<double>(puts.load()) / s};
}

// The locks take turns, kRounds times, so that load from other processes hits them alike.
void threads_bench(benchmark::State& state, read_kind kind, int writers, int readers) {
  constexpr int kLockCount = 4;
  constexpr const char* kLocks[kLockCount] = {"wpref", "pfair", "shared", "mutex"};
  double seconds = 0, reads[kLockCount] = {}, puts[kLockCount] = {};
  for (int round = 0; round < kRounds; ++round) {
    for (int lock = 0; lock < kLockCount; ++lock) {
      const phase_result r = lock == 0   ? run_phase<wpref_store>(kind, writers, readers)
                             : lock == 1 ? run_phase<pfair_store>(kind, writers, readers)
                             : lock == 2 ? run_phase<shared_store>(kind, writers, readers)
                                         : run_phase<mutex_store>(kind, writers, readers);
      seconds += r.seconds;
      reads[lock] += r.reads_per_s / kRounds / 1e6;
      puts[lock] += r.puts_per_s / kRounds / 1e6;
    }
  }
  for (auto _ : state)
    state.SetIterationTime(seconds);
  for (int lock = 0; lock < kLockCount; ++lock) {
    if (readers > 0) state.counters[std::string(kLocks[lock]) + "_reads_M_s"] = reads[lock];
    if (writers > 0) state.counters[std::string(kLocks[lock]) + "_puts_M_s"] = puts[lock];
  }
}

// Bare table, one thread: the cost of the data structure without any lock traffic.
void single_bench(benchmark::State& state, int op) {
  window_table t(kWindow, kKeys);
  time_ns now = warm_up(t);
  std::uint64_t x = 42;
  for (auto _ : state) {
    if (op < 0) {
      auto r = t.put(key_names()[next(x) % kKeys], 1.0 + static_cast<double>(now % 7), now);
      benchmark::DoNotOptimize(r);
      ++now;
    } else {
      read_once(t, static_cast<read_kind>(op), now, next(x));
    }
  }
}

void register_threads() {
  struct config {
    int writers, readers;
  };
  for (const config c : {config{1, 0}, config{1, 1}, config{0, 2}, config{1, 2}}) {
    for (int k = kGet; k <= kAverageAhead; ++k) {
      if (c.readers == 0 && k != kGet) continue;  // writer alone: one configuration is enough
      const std::string name = std::string("threads/") + (c.readers == 0 ? "none" : kReadNames[k]) +
                               "/" + std::to_string(c.writers) + "w" + std::to_string(c.readers) +
                               "r";
      benchmark::RegisterBenchmark(name.c_str(), threads_bench, static_cast<read_kind>(k),
                                   c.writers, c.readers)
          ->Iterations(1)
          ->UseManualTime()
          ->Unit(benchmark::kSecond);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::RegisterBenchmark("single/put", single_bench, -1)->MinTime(0.1);
  for (int k = kGet; k <= kAverageAhead; ++k) {
    benchmark::RegisterBenchmark((std::string("single/") + kReadNames[k]).c_str(), single_bench, k)
        ->MinTime(0.1);
  }
  register_threads();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
