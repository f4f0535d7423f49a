#include "core/series_store.h"

#include <bit>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>

#include "core/same_bytes.h"

namespace tickring::core {
namespace {

// Unkeyed and cheap (a multiply per 8 bytes): only indexes the writer's cache, whose hits are
// verified by name. Not for the shared table (see series_store.h). A product's high bits
// depend on every input bit, its low bits only on the low ones: index with the high bits.
std::uint64_t cache_hash(std::string_view a, std::string_view b) noexcept {
  std::uint64_t h = (a.size() << 8 | b.size()) * 0x9E3779B97F4A7C15ULL;
  auto mix = [&h](std::string_view s) {
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
    }
    if (i < s.size()) {
      std::uint64_t w = 0;
      std::memcpy(&w, s.data() + i, s.size() - i);
      h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
    }
  };
  mix(a);
  mix(b);
  // Names that differ only in their last bytes (SYM123, SYM124) differ only in high input
  // bits, which one multiply spreads poorly into the top bits: finish with an avalanche.
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ULL;
  return h ^ (h >> 32);
}

}  // namespace

std::string_view to_string(apply_error e) noexcept {
  switch (e) {
    case apply_error::none:
      return "none";
    case apply_error::too_many_series:
      return "too_many_series";
    case apply_error::too_many_fields:
      return "too_many_fields";
    case apply_error::unknown_field:
      return "unknown_field";
    case apply_error::missing_field:
      return "missing_field";
    case apply_error::field_type_conflict:
      return "field_type_conflict";
  }
  return "unknown";
}

series_store::series_store(series_store_limits limits, hash_key key)
    : limits_(limits),
      key_(key),
      list_(new series*[std::max<std::size_t>(limits.max_series, 1)]),
      writer_cache_(new series*[kWriterCacheSlots]()) {
  // The table holds index + 1 in 32 bits.
  if (limits.max_series >= std::numeric_limits<std::uint32_t>::max())
    throw std::invalid_argument("max_series must be below 4294967295");
  tables_.push_back(std::make_unique<index_table>(kInitialIndexSlots));
  index_.store(tables_.back().get(), std::memory_order_release);
}

series_store::~series_store() = default;

series* series_store::find_mutable(std::string_view measurement, std::string_view symbol,
                                   std::size_t hash) const {
  const index_table& t = *index_.load(std::memory_order_acquire);
  for (std::size_t i = hash & t.mask;; i = (i + 1) & t.mask) {
    const std::uint32_t slot = t.slot[i].load(std::memory_order_acquire);
    if (slot == 0) return nullptr;
    series* s = list_[slot - 1];
    if (s->symbol() == symbol && s->measurement() == measurement) return s;
  }
}

void series_store::insert_index(index_table& t, std::size_t n, std::size_t hash) {
  std::size_t i = hash & t.mask;
  while (t.slot[i].load(std::memory_order_relaxed) != 0)
    i = (i + 1) & t.mask;
  t.slot[i].store(static_cast<std::uint32_t>(n + 1), std::memory_order_release);
}

void series_store::grow_index() {
  const std::size_t n = count_.load(std::memory_order_relaxed);
  auto bigger = std::make_unique<index_table>((tables_.back()->mask + 1) * 2);
  for (std::size_t i = 0; i < n; ++i)
    insert_index(*bigger, i, slot_hash(list_[i]->measurement(), list_[i]->symbol()));
  index_.store(bigger.get(), std::memory_order_release);
  tables_.push_back(std::move(bigger));
}

const series* series_store::find(std::string_view measurement, std::string_view symbol) const {
  return find_mutable(measurement, symbol, slot_hash(measurement, symbol));
}

series* series_store::create(const point_input& p, std::size_t hash, apply_result& r) {
  if (owned_.size() >= limits_.max_series) {
    r.error = apply_error::too_many_series;
    return nullptr;
  }
  if (p.fields.size() > kMaxFieldsPerSeries) {
    r.error = apply_error::too_many_fields;
    return nullptr;
  }
  std::vector<field_spec> specs;
  specs.reserve(p.fields.size());
  std::array<std::uint64_t, kMaxFieldsPerSeries> first;
  for (const auto& f : p.fields) {
    first[specs.size()] = f.bits;
    specs.push_back({std::string(f.name), f.kind});
  }
  auto owned = std::make_unique<series>(std::string(p.measurement), std::string(p.symbol),
                                        std::move(specs), first.data(), limits_.initial_capacity);
  series* s = owned.get();
  owned_.push_back(std::move(owned));
  r.created = true;
  const std::size_t n = count_.load(std::memory_order_relaxed);
  list_[n] = s;
  // At most half full, so that probe sequences stay short.
  if ((n + 1) * 2 > tables_.back()->mask + 1) grow_index();
  insert_index(*tables_.back(), n, hash);
  count_.store(n + 1, std::memory_order_release);
  return s;
}

series* series_store::find_or_create(const point_input& p, apply_result& r) {
  // Two ways per set: 1,000 series in 4,096 sets rarely put three in one.
  constexpr std::size_t kSets = kWriterCacheSlots / 2;
  static_assert(std::has_single_bit(kSets));
  constexpr int kShift = 64 - std::countr_zero(kSets);
  series** set = &writer_cache_[(cache_hash(p.measurement, p.symbol) >> kShift) * 2];
  for (int way = 0; way < 2; ++way) {
    series* s = set[way];
    if (s != nullptr && same_name(s->symbol(), p.symbol) &&
        same_name(s->measurement(), p.measurement))
      return s;
  }
  const std::size_t hash = slot_hash(p.measurement, p.symbol);
  series* s = find_mutable(p.measurement, p.symbol, hash);
  if (s == nullptr) s = create(p, hash, r);
  if (s != nullptr) {
    set[1] = set[0];
    set[0] = s;
  }
  return s;
}

// The general case of apply's field mapping: any order, names searched; false with r.error
// set when the fields are not the series' own.
bool series_store::map_fields(const series& s, const point_input& p, apply_result& r) {
  // Position i is tried first (a reordered line usually keeps most fields in place); the name
  // search is the exception.
  const std::size_t n = s.field_count();
  auto& words = r.words;
  std::uint32_t seen = 0;
  static_assert(kMaxFieldsPerSeries <= 32);
  for (std::size_t i = 0; i < p.fields.size(); ++i) {
    const field_input& f = p.fields[i];
    int idx = (i < n && same_name(s.fields()[i].name, f.name)) ? static_cast<int>(i)
                                                               : s.field_index(f.name);
    if (idx < 0) {
      r.error = apply_error::unknown_field;
      r.field = f.name;
      return false;
    }
    const auto& spec = s.fields()[static_cast<std::size_t>(idx)];
    if (spec.kind != f.kind) {
      r.error = apply_error::field_type_conflict;
      r.field = f.name;
      return false;
    }
    words[static_cast<std::size_t>(idx)] = f.bits;
    seen |= 1U << idx;
  }
  if (seen != (n == 32 ? ~0U : (1U << n) - 1)) {
    for (std::size_t i = 0; i < n; ++i) {
      if ((seen & (1U << i)) == 0) {
        r.error = apply_error::missing_field;
        r.field = s.fields()[i].name;
        return false;
      }
    }
  }
  return true;
}

apply_result series_store::apply(const point_input& p) {
  apply_result r;
  series* s = find_or_create(p, r);
  if (s == nullptr) return r;
  r.target = s;
  // Feeds almost always repeat their first line's layout: checked in one pass.
  auto& words = r.words;
  if (s->same_layout(p.fields)) {
    for (std::size_t i = 0; i < p.fields.size(); ++i)
      words[i] = p.fields[i].bits;
  } else if (!map_fields(*s, p, r)) {
    return r;
  }
  const auto put = s->put(p.time, words.data());
  r.inserted = put.inserted;
  r.ring_seq = put.seq;
  r.ring_seq_last = put.seq;
  r.seq = s->next_change_seq();
  s->newest_put = std::max(s->newest_put, p.time);
  if (put.inserted) {
    r.evicted = enforce_retention(*s);
    if (r.evicted != 0) {
      r.ring_seq_last = s->writer_rows().last_seq();
      r.oldest = s->writer_rows().oldest_time().value_or(p.time);
    }
  }
  return r;
}

std::size_t series_store::enforce_retention(series& s) {
  series_rows& rows = s.writer_rows();
  if (limits_.max_age == 0 && rows.writer_size() <= limits_.max_points_per_series) return 0;
  std::size_t evicted = 0;
  stored_point p;
  while (rows.writer_size() > limits_.max_points_per_series && rows.remove_lowest(p)) {
    ++evicted;
  }
  if (limits_.max_age > 0 && s.newest_put > std::numeric_limits<time_ns>::min() + limits_.max_age) {
    const time_ns horizon = s.newest_put - limits_.max_age;
    for (auto oldest = rows.oldest_time(); oldest && *oldest < horizon;
         oldest = rows.oldest_time()) {
      rows.remove_lowest(p);
      ++evicted;
    }
  }
  if (evicted != 0) evictions_.fetch_add(evicted, std::memory_order_relaxed);
  return evicted;
}

std::optional<remove_result> series_store::remove(const series& s, time_ns t) {
  auto& target = const_cast<series&>(s);  // the writer owns every series
  const auto ring_seq = target.writer_rows().remove(t);
  if (!ring_seq) return std::nullopt;
  return remove_result{target.next_change_seq(), *ring_seq};
}

}  // namespace tickring::core
