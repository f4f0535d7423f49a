// Resident memory per stored quote: applies N 4-field quotes over S symbols into a SeriesStore
// and reports the growth of the process' resident set per point.
//   build/release/bench/memory_footprint [points=2000000] [symbols=1000]
// Target (README, performance): <= 48 bytes per 4-field quote at 2M quotes (the whole server
// process, bench/vs_redis.sh); this counts the store alone.
#include <unistd.h>

#include <bit>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/series_store.h"

namespace {
// The process' resident set (/proc/self/statm, second field, in pages); 0 if unreadable.
std::uint64_t resident_memory_bytes() {
  unsigned long long size = 0;
  unsigned long long resident = 0;
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace tickring;
  const long points = argc > 1 ? std::atol(argv[1]) : 2'000'000;
  const long symbols = argc > 2 ? std::atol(argv[2]) : 1000;
  std::vector<std::string> names;
  for (long i = 0; i < symbols; ++i)
    names.push_back("SYM" + std::to_string(i));
  const std::uint64_t before = resident_memory_bytes();
  core::series_store store;
  core::field_input f[] = {{"bid", core::field_kind::float64, 0},
                           {"ask", core::field_kind::float64, 0},
                           {"bid_size", core::field_kind::int64, 1000000},
                           {"ask_size", core::field_kind::int64, 750000}};
  for (long i = 0; i < points; ++i) {
    // Prices as a feed writes them (five decimals, parsed): stored in 4 bytes each.
    f[0].bits = std::bit_cast<std::uint64_t>(static_cast<double>(100000 + i % 1000) / 1e5);
    f[1].bits = std::bit_cast<std::uint64_t>(static_cast<double>(100010 + i % 1000) / 1e5);
    (void)store.apply(
        {"quotes", names[static_cast<std::size_t>(i % symbols)], f, 1'700'000'000'000'000'000 + i});
  }
  const std::uint64_t after = resident_memory_bytes();
  std::size_t ring_bytes = 0;
  for (std::size_t i = 0; i < store.series_count(); ++i)
    ring_bytes += store.series_at(i).rows()->capacity_bytes();
  std::printf(
      "points=%ld symbols=%ld resident_growth=%.1f MiB bytes_per_point=%.1f "
      "ring_bytes_per_point=%.1f cell_bytes=%zu\n",
      points, symbols, static_cast<double>(after - before) / (1 << 20),
      static_cast<double>(after - before) / static_cast<double>(points),
      static_cast<double>(ring_bytes) / static_cast<double>(points),
      store.series_at(0).rows()->bytes_per_point());
  return 0;
}
