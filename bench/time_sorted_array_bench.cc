// time_sorted_array microbenchmarks: the ring figures of the README's performance table (append,
// get at 1M, one backward step, readers under a writing writer vs std::map + std::shared_mutex),
// plus the operations the design calls rare (prepend, middle insert) so that their cost is on
// record.
//
//   build/release/bench/time_sorted_array_bench                       (about 45 s)
//   build/release/bench/time_sorted_array_bench --benchmark_format=json > ring.json
//
// Value type: a 4-field quote (4 doubles, 32 bytes), times 1 µs apart unless said otherwise.
// Writer alone (time column = ns per call):
// - append_growth: put at rising times into a ring grown from empty (doublings and first-touch
//   page faults included), restarted every kGrowthReset puts to bound memory. The §7 figure.
// - append_presized: the same into a ring allocated at full size: the put alone, no growth.
// - append_retained/N: put + remove_lowest on a ring held at N points (retention steady state).
// - prepend_growth: put at falling times, from empty.
// - middle_insert/N: put between two points in the middle of an N-point ring. It is O(distance):
//   every call shifts N/2 + 1 cells; ns_per_shifted_cell is the cost of one step of that.
// Readers alone:
// - get/N/spacing: get of random present times; spacing:0 even (typical ticks, the case the
//   interpolation search is built for), spacing:1 exponential gaps of the same mean, spacing:2
//   epoch-nanosecond times with 64 far outliers above them (the README's target for skewed times).
// - backward_step/N: walk the whole ring newest first; ns_per_step is the §7 figure.
// - newest_100/N: open an iterator and take 100 steps (the HTTP "newest 100" query).
// Readers under a writer:
// - readers_under_writer/readers:R/walk:W: a std::thread writer appends flat out (put +
//   remove_lowest, ~1M points kept) while R reader threads get random times among the newest
//   64K (walk:0) or walk the newest 100 (walk:1). The same threads, key pattern and retention
//   then run against std::map + std::shared_mutex; ring and map phases alternate kRounds times
//   so that load from other processes hits both alike. Counters give each side's reads/s, the
//   ratio and each writer's own puts/s; a summary line per configuration is printed at the end
//   (to stderr when --benchmark_format is not console, so that JSON stays parseable).
//   With 2 readers + 1 writer on a 2-core machine the cores are oversubscribed.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/time_sorted_array.h"

namespace {

using tickring::core::time_ns;
using tickring::core::time_sorted_array;

struct quote {
  double bid, ask, bid_size, ask_size;
};
static_assert(sizeof(quote) == 32, "the 4-field quote of the README's targets");
using ring = time_sorted_array<quote>;

// Typical tick data: one point per microsecond.
constexpr time_ns kSpacing = 1000;
// Growth benchmarks restart from empty here so that memory stays bounded (56 MiB of cells).
constexpr std::int64_t kGrowthReset = std::int64_t{1} << 20;
// "1M" for the read-only fixtures.
constexpr std::int64_t kMillion = std::int64_t{1} << 20;
// Points kept under retention; below 2^20 so that put + remove_lowest never grows the ring.
constexpr std::int64_t kRetained = 1'000'000;
// Precomputed random keys: 512 KiB read in order, so the key stream adds no cache miss.
constexpr std::size_t kKeyCount = std::size_t{1} << 16;

// Readers under a writer aim at the newest 64K points: recent, and far inside the retained 1M,
// so every key they pick exists.
constexpr std::int64_t kRecentWindow = std::int64_t{1} << 16;
// The writer tells readers its newest time every 64 puts, not every put: a store per put on a
// line every reader loads would cost both sides a cache-line transfer per put.
constexpr std::uint64_t kPublishEvery = 64;
constexpr auto kPhase = std::chrono::milliseconds(500);
constexpr int kRounds = 5;
constexpr int kWalk = 100;

quote make_quote(std::int64_t i) {
  const double x = static_cast<double>(i);
  return {x, x + 0.5, 1e6, 7.5e5};
}

// ns per item as a counter, next to Google Benchmark's time per iteration.
benchmark::Counter ns_per(double items) {
  return benchmark::Counter(items * 1e-9,
                            benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// Cheap per-thread generator for the concurrent readers (std::mt19937_64 would dominate a get).
struct split_mix {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
};

// outliers: epoch-nanosecond times, evenly spaced, with the last 64 far above the rest (1e15 ns
// apart): interpolation guesses badly, round after round, unless it falls back to bisection.
enum class spacing { even = 0, exponential = 1, outliers = 2 };
constexpr time_ns kEpochBase = 1'700'000'000'000'000'000;
constexpr std::int64_t kOutliers = 64;

std::vector<time_ns> make_times(std::int64_t n, spacing sp) {
  std::vector<time_ns> times(static_cast<std::size_t>(n));
  std::mt19937_64 gen(42);
  std::exponential_distribution<double> gap(1.0 / static_cast<double>(kSpacing));
  time_ns now = sp == spacing::outliers ? kEpochBase : 0;
  for (std::int64_t i = 0; i < n; ++i) {
    times[static_cast<std::size_t>(i)] = now;
    if (sp == spacing::exponential) {
      now += std::max<time_ns>(1, std::llround(gap(gen)));
    } else if (sp == spacing::outliers && i >= n - kOutliers - 1) {
      now += 1'000'000'000'000'000;
    } else {
      now += kSpacing;
    }
  }
  return times;
}

struct filled_ring {
  std::unique_ptr<ring> r;
  std::vector<time_ns> keys;  // kKeyCount times present in r, uniformly at random
};

// Built once per shape and kept: read-only benchmarks do not change it, and Google Benchmark
// calls a function several times while it sizes the iteration count.
const filled_ring& fixture(std::int64_t n, spacing sp) {
  static std::map<std::pair<std::int64_t, int>, filled_ring> cache;
  auto [it, fresh] = cache.try_emplace({n, static_cast<int>(sp)});
  filled_ring& f = it->second;
  if (fresh) {
    const auto times = make_times(n, sp);
    f.r = std::make_unique<ring>();
    for (std::int64_t i = 0; i < n; ++i)
      f.r->put(times[static_cast<std::size_t>(i)], make_quote(i));
    tickring::core::reclaim_now();  // the outgrown buffers, as the server's periodic pass would
    std::mt19937_64 gen(7);
    std::uniform_int_distribution<std::size_t> pick(0, times.size() - 1);
    f.keys.resize(kKeyCount);
    for (auto& k : f.keys)
      k = times[pick(gen)];
  }
  return f;
}

// ---- writer alone --------------------------------------------------------------------------

void append_growth(benchmark::State& state) {
  auto r = std::make_unique<ring>();
  std::int64_t i = 0;
  for (auto _ : state) {
    r->put(i * kSpacing, make_quote(i));
    if (++i == kGrowthReset) {
      state.PauseTiming();
      r = std::make_unique<ring>();
      i = 0;
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// The 4-field quote as a series stores it when its prices and sizes fit 4 bytes each
// (core/row_codec.h): 16 bytes of payload, a 40-byte cell.
struct packed_quote {
  std::uint64_t lo, hi;
};
packed_quote make_packed(std::int64_t i) {
  const auto u = static_cast<std::uint64_t>(i);
  return {u, u + 1};
}

template <class V, V (*Make)(std::int64_t)>
void append_presized_of(benchmark::State& state) {
  // Allocated (and its cells constructed, so its pages touched) outside the timing.
  using array = time_sorted_array<V>;
  auto r = std::make_unique<array>(static_cast<std::size_t>(kGrowthReset));
  std::int64_t i = 0;
  for (auto _ : state) {
    r->put(i * kSpacing, Make(i));
    if (++i == kGrowthReset) {
      state.PauseTiming();
      r = std::make_unique<array>(static_cast<std::size_t>(kGrowthReset));
      i = 0;
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}
void append_presized(benchmark::State& state) {
  append_presized_of<quote, make_quote>(state);
}
void append_presized_packed(benchmark::State& state) {
  append_presized_of<packed_quote, make_packed>(state);
}

void append_retained(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  ring r;
  std::int64_t i = 0;
  for (; i < n; ++i)
    r.put(i * kSpacing, make_quote(i));
  for (auto _ : state) {
    r.put(i * kSpacing, make_quote(i));
    ++i;
    r.remove_lowest();
  }
  state.SetItemsProcessed(state.iterations());
}

void prepend_growth(benchmark::State& state) {
  auto r = std::make_unique<ring>();
  std::int64_t i = 0;
  for (auto _ : state) {
    r->put((kGrowthReset - i) * kSpacing, make_quote(i));
    if (++i == kGrowthReset) {
      state.PauseTiming();
      r = std::make_unique<ring>();
      i = 0;
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// Each call appends the next newest time, inserts a time half-way between two points in the
// middle and drops the two oldest, so the size stays n. Every earlier insert lies below the new
// one, so exactly n/2 + 1 points lie below it each time: the insert always shifts n/2 + 1 cells
// toward the head (there are no dead cells to stop at: remove_lowest leaves none above the head).
// The append and the two removals (~30 ns together) are included in the time column.
void middle_insert(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  ring r;
  for (std::int64_t i = 0; i < n; ++i)
    r.put(i * kSpacing, make_quote(i));
  std::int64_t k = 0;
  for (auto _ : state) {
    r.put((n + k) * kSpacing, make_quote(k));
    r.put((n / 2 + k) * kSpacing + kSpacing / 2, make_quote(k));
    r.remove_lowest();
    r.remove_lowest();
    ++k;
  }
  if (r.size() != static_cast<std::size_t>(n)) state.SkipWithError("ring size drifted");
  state.counters["ns_per_shifted_cell"] =
      ns_per(static_cast<double>(state.iterations()) * static_cast<double>(n / 2 + 1));
}

// ---- readers alone -------------------------------------------------------------------------

void get_random(benchmark::State& state) {
  const filled_ring& f = fixture(state.range(0), static_cast<spacing>(state.range(1)));
  std::size_t i = 0;
  std::int64_t misses = 0;
  for (auto _ : state) {
    auto v = f.r->get(f.keys[i++ & (kKeyCount - 1)]);
    misses += v.has_value() ? 0 : 1;
    benchmark::DoNotOptimize(v);
  }
  if (misses != 0) state.SkipWithError("get missed a present time");
  state.SetItemsProcessed(state.iterations());
}

// Walks all n points newest first, every iteration.
template <class Array>
void walk_all(benchmark::State& state, const Array& r, std::int64_t n) {
  std::int64_t steps = 0;
  typename Array::entry e{};
  for (auto _ : state) {
    for (auto it = r.iterate_backwards(); it.next(e);) {
      benchmark::DoNotOptimize(e);
      ++steps;
    }
  }
  if (steps != static_cast<std::int64_t>(state.iterations()) * n) {
    state.SkipWithError("walk did not visit every point");
  }
  state.SetItemsProcessed(steps);
  state.counters["ns_per_step"] = ns_per(static_cast<double>(steps));
}

void backward_step(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  walk_all(state, *fixture(n, spacing::even).r, n);
}

void backward_step_packed(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  static std::unique_ptr<time_sorted_array<packed_quote>> r;
  if (!r) {
    r = std::make_unique<time_sorted_array<packed_quote>>();
    for (std::int64_t i = 0; i < n; ++i)
      r->put(i * kSpacing, make_packed(i));
    tickring::core::reclaim_now();
  }
  walk_all(state, *r, n);
}

void newest_100(benchmark::State& state) {
  const filled_ring& f = fixture(state.range(0), spacing::even);
  ring::entry e{};
  for (auto _ : state) {
    int k = 0;
    for (auto it = f.r->iterate_backwards(); k < kWalk && it.next(e); ++k) {
      benchmark::DoNotOptimize(e);
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// ---- readers under a writer ----------------------------------------------------------------

enum class read_op { get = 0, newest_walk = 1 };

class ring_subject {
 public:
  void fill(std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i)
      r_.put(i * kSpacing, make_quote(i));
  }
  void write(time_ns t, const quote& q) {
    r_.put(t, q);
    r_.remove_lowest();
  }
  bool get(time_ns t) const {
    auto v = r_.get(t);
    benchmark::DoNotOptimize(v);
    return v.has_value();
  }
  int newest(int count) const {
    ring::entry e{};
    int k = 0;
    for (auto it = r_.iterate_backwards(); k < count && it.next(e); ++k) {
      benchmark::DoNotOptimize(e);
    }
    return k;
  }

 private:
  ring r_;
};

// The baseline is given every advantage that is honest: one exclusive lock per put covers the
// retention erase too (half the lock round trips of locking it separately), and the insert is
// hinted at the end (O(1), no tree search).
class locked_map_subject {
 public:
  void fill(std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i)
      m_.emplace_hint(m_.end(), i * kSpacing, make_quote(i));
  }
  void write(time_ns t, const quote& q) {
    std::unique_lock lock(mu_);
    m_.emplace_hint(m_.end(), t, q);
    m_.erase(m_.begin());
  }
  bool get(time_ns t) const {
    std::optional<quote> v;
    {
      std::shared_lock lock(mu_);
      if (auto it = m_.find(t); it != m_.end()) v = it->second;
    }
    benchmark::DoNotOptimize(v);
    return v.has_value();
  }
  int newest(int count) const {
    std::shared_lock lock(mu_);
    int k = 0;
    for (auto it = m_.rbegin(); k < count && it != m_.rend(); ++it, ++k) {
      ring::entry e{it->first, it->second, 0};
      benchmark::DoNotOptimize(e);
    }
    return k;
  }

 private:
  std::map<time_ns, quote> m_;
  mutable std::shared_mutex mu_;
};

struct phase_result {
  std::uint64_t reads = 0;
  std::uint64_t misses = 0;
  std::uint64_t puts = 0;
  double seconds = 0;

  phase_result& operator+=(const phase_result& o) {
    reads += o.reads;
    misses += o.misses;
    puts += o.puts;
    seconds += o.seconds;
    return *this;
  }
};

// One timed phase: a writer thread and `readers` reader threads start together and run until
// the main thread, which sleeps meanwhile, raises `stop` kPhase later. `next` is the writer's
// next time, carried from phase to phase so that times keep rising.
template <class Subject>
phase_result run_phase(Subject& s, time_ns& next, int readers, read_op op, std::uint64_t seed) {
  // Its own cache line: the writer's publishing must not invalidate the flags or the counts.
  struct alignas(64) published_time {
    std::atomic<time_ns> t;
  };
  struct alignas(64) reader_counts {
    std::uint64_t reads = 0;
    std::uint64_t misses = 0;
  };
  published_time newest{next - kSpacing};
  std::atomic<bool> go{false};
  std::atomic<bool> stop{false};
  std::vector<reader_counts> counts(static_cast<std::size_t>(readers));
  std::uint64_t puts = 0;

  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    go.wait(false);
    time_ns t = next;
    std::uint64_t n = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      s.write(t, make_quote(static_cast<std::int64_t>(n)));
      if (++n % kPublishEvery == 0) newest.t.store(t, std::memory_order_release);
      t += kSpacing;
    }
    puts = n;
    next = t;
  });
  for (int r = 0; r < readers; ++r) {
    threads.emplace_back([&, r] {
      split_mix rng{seed + static_cast<std::uint64_t>(r)};
      std::uint64_t reads = 0;
      std::uint64_t misses = 0;
      go.wait(false);
      while (!stop.load(std::memory_order_relaxed)) {
        bool ok;
        if (op == read_op::get) {
          const auto back = static_cast<time_ns>(rng.next() % kRecentWindow);
          ok = s.get(newest.t.load(std::memory_order_acquire) - back * kSpacing);
        } else {
          ok = s.newest(kWalk) == kWalk;
        }
        misses += ok ? 0 : 1;
        ++reads;
      }
      counts[static_cast<std::size_t>(r)] = {reads, misses};
    });
  }
  const auto start = std::chrono::steady_clock::now();
  go.store(true);
  go.notify_all();
  std::this_thread::sleep_for(kPhase);
  stop.store(true);
  const auto end = std::chrono::steady_clock::now();
  for (auto& t : threads)
    t.join();

  phase_result res;
  for (const auto& c : counts) {
    res.reads += c.reads;
    res.misses += c.misses;
  }
  res.puts = puts;
  res.seconds = std::chrono::duration<double>(end - start).count();
  return res;
}

struct summary_row {
  int readers;
  read_op op;
  double ring_reads, map_reads, ring_puts, map_puts;  // per second
};

std::vector<summary_row>& summary() {
  static std::vector<summary_row> rows;
  return rows;
}

void readers_under_writer(benchmark::State& state) {
  const int readers = static_cast<int>(state.range(0));
  const auto op = static_cast<read_op>(state.range(1));
  auto ring_s = std::make_unique<ring_subject>();
  auto map_s = std::make_unique<locked_map_subject>();
  ring_s->fill(kRetained);
  map_s->fill(kRetained);
  time_ns ring_next = kRetained * kSpacing;
  time_ns map_next = kRetained * kSpacing;
  phase_result ring_total;
  phase_result map_total;
  std::uint64_t seed = 1;
  for (auto _ : state) {
    // Same seed on both sides: the same sequence of key offsets from the newest time.
    ring_total += run_phase(*ring_s, ring_next, readers, op, seed);
    map_total += run_phase(*map_s, map_next, readers, op, seed);
    seed += 1000;
  }
  if (ring_total.misses + map_total.misses != 0) state.SkipWithError("a reader missed a point");

  const double ring_reads = static_cast<double>(ring_total.reads) / ring_total.seconds;
  const double map_reads = static_cast<double>(map_total.reads) / map_total.seconds;
  const double ring_puts = static_cast<double>(ring_total.puts) / ring_total.seconds;
  const double map_puts = static_cast<double>(map_total.puts) / map_total.seconds;
  state.counters["ring_Mreads_s"] = ring_reads * 1e-6;
  state.counters["map_Mreads_s"] = map_reads * 1e-6;
  state.counters["ratio_vs_map"] = map_reads > 0 ? ring_reads / map_reads : 0;
  state.counters["ring_writer_Mputs_s"] = ring_puts * 1e-6;
  state.counters["map_writer_Mputs_s"] = map_puts * 1e-6;
  state.SetLabel(std::to_string(readers + 1) + " threads on " +
                 std::to_string(std::thread::hardware_concurrency()) +
                 " cpus; time = one ring + one map phase");
  summary().push_back({readers, op, ring_reads, map_reads, ring_puts, map_puts});
}

void print_summary(std::FILE* out) {
  for (const auto& row : summary()) {
    std::fprintf(out,
                 "readers-under-writer (%d reader%s + 1 writer, %s): ring %.2f Mops/s (writer "
                 "%.2f Mputs/s), map+shared_mutex %.2f Mops/s (writer %.2f Mputs/s), ratio %.1f\n",
                 row.readers, row.readers == 1 ? "" : "s",
                 row.op == read_op::get ? "get recent" : "newest-100 walk", row.ring_reads * 1e-6,
                 row.ring_puts * 1e-6, row.map_reads * 1e-6, row.map_puts * 1e-6,
                 row.map_reads > 0 ? row.ring_reads / row.map_reads : 0.0);
  }
}

// Read-only benchmarks and single-writer ones need no more than the default half second; the
// concurrent ones run a fixed number of rounds instead (their time is the phase length).
BENCHMARK(append_growth);
BENCHMARK(append_presized);
BENCHMARK(append_retained)->Arg(1024)->Arg(kRetained);
BENCHMARK(prepend_growth);
BENCHMARK(middle_insert)->Arg(1024)->Arg(65536)->Unit(benchmark::kMicrosecond);
BENCHMARK(get_random)->ArgsProduct({{1024, kMillion}, {0, 1, 2}})->ArgNames({"size", "spacing"});
BENCHMARK(backward_step)->Arg(kMillion)->Unit(benchmark::kMillisecond);
BENCHMARK(append_presized_packed);
BENCHMARK(backward_step_packed)->Arg(kMillion)->Unit(benchmark::kMillisecond);
BENCHMARK(newest_100)->Arg(kMillion);
BENCHMARK(readers_under_writer)
    ->ArgsProduct({{1, 2}, {0, 1}})
    ->ArgNames({"readers", "walk"})
    ->Iterations(kRounds)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  // The summary goes where it cannot corrupt machine-readable output.
  bool console = true;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    constexpr std::string_view kFormat = "--benchmark_format=";
    if (arg.starts_with(kFormat) && arg.substr(kFormat.size()) != "console") console = false;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::fflush(stdout);
  print_summary(console ? stdout : stderr);
  return 0;
}
