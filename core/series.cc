#include "core/series.h"

#include <cassert>
#include <cstring>

#include "core/time_sorted_array.h"

namespace tickring::core {
namespace {

template <std::size_t N>
class rows_impl final : public series_rows {
  using row = std::array<std::uint64_t, N>;
  using ring = time_sorted_array<row>;

 public:
  rows_impl(const row_codec& codec, std::size_t initial_capacity)
      : codec_(codec), ring_(initial_capacity) {}

  std::size_t size() const override { return ring_.size(); }
  seq_no committed_seq() const override { return ring_.committed_seq(); }
  bool find(time_ns t, stored_point& out) const override {
    return read_one(out, [&](row& r) { return ring_.find_raw(t, out.time, out.seq, r.data()); });
  }
  bool lowest(stored_point& out) const override {
    return read_one(out, [&](row& r) { return ring_.lowest_raw(out.time, out.seq, r.data()); });
  }
  bool highest(stored_point& out) const override {
    return read_one(out, [&](row& r) { return ring_.highest_raw(out.time, out.seq, r.data()); });
  }
  void scan_backward(time_ns to, point_visitor visit, void* context) const override {
    stored_point p;
    row r;
    for (auto it = ring_.iterate_backwards(to); it.next_raw(p.time, p.seq, r.data());) {
      codec_.decode(r.data(), p.words.data());
      if (!visit(context, p)) return;
    }
  }
  const row_codec& codec() const override { return codec_; }
  put_result put(time_ns t, const std::uint64_t* values) override {
    row r;
    if (!codec_.encode(values, r.data())) return {false, false, 0};
    const auto res = ring_.put(t, r);
    return {true, res.outcome == ring::put_outcome::inserted, res.seq};
  }
  std::optional<seq_no> remove(time_ns t) override { return ring_.remove(t); }
  std::optional<time_ns> oldest_time() const override { return ring_.writer_oldest_time(); }
  bool remove_lowest(stored_point& out) override {
    const auto e = ring_.remove_lowest();
    if (!e) return false;
    out.time = e->time;
    out.seq = e->seq;
    codec_.decode(e->value.data(), out.words.data());
    return true;
  }
  std::size_t capacity() const override { return ring_.capacity(); }
  std::size_t writer_size() const override { return ring_.writer_size(); }
  std::size_t bytes_per_point() const override { return ring::kBytesPerCell; }
  std::size_t capacity_bytes() const override { return ring_.buffer_bytes(); }
  void copy_to(series_rows& to) const override {
    std::array<std::uint64_t, kMaxFieldsPerSeries> values;
    ring_.writer_for_each([&](time_ns t, seq_no seq, const row& r) {
      codec_.decode(r.data(), values.data());
      to.adopt(t, seq, values.data());
    });
  }
  row_codec fit_all(row_codec codec) const override {
    std::array<std::uint64_t, kMaxFieldsPerSeries> values;
    std::array<std::uint64_t, kMaxFieldsPerSeries> packed;
    ring_.writer_for_each([&](time_ns, seq_no, const row& r) {
      codec_.decode(r.data(), values.data());
      if (!codec.encode(values.data(), packed.data())) codec = codec.widened(values.data());
    });
    return codec;
  }
  void adopt(time_ns t, seq_no seq, const std::uint64_t* values) override {
    row r;
    const bool fits = codec_.encode(values, r.data());
    assert(fits);
    (void)fits;
    ring_.adopt(t, seq, r);
  }
  void adopt_done(seq_no last) override { ring_.adopt_done(last); }
  seq_no last_seq() const override { return ring_.last_seq(); }

 private:
  // One packed row read by `read` (false: no point), decoded into out.words.
  template <class Read>
  bool read_one(stored_point& out, Read&& read) const {
    row r;
    if (!read(r)) return false;
    codec_.decode(r.data(), out.words.data());
    return true;
  }

  row_codec codec_;
  ring ring_;
};

void delete_rows(void* p) {
  delete static_cast<series_rows*>(p);
}

}  // namespace

std::string_view to_string(field_kind kind) noexcept {
  switch (kind) {
    case field_kind::float64:
      return "float";
    case field_kind::int64:
      return "integer";
    case field_kind::uint64:
      return "unsigned";
    case field_kind::boolean:
      return "boolean";
  }
  return "unknown";
}

// Exact widths for the common small rows, then coarser steps: each width is one template
// instantiation of the ring.
std::unique_ptr<series_rows> make_series_rows(const row_codec& codec,
                                              std::size_t initial_capacity) {
  const std::size_t n = codec.words();
  if (n <= 1) return std::make_unique<rows_impl<1>>(codec, initial_capacity);
  if (n <= 2) return std::make_unique<rows_impl<2>>(codec, initial_capacity);
  if (n <= 3) return std::make_unique<rows_impl<3>>(codec, initial_capacity);
  if (n <= 4) return std::make_unique<rows_impl<4>>(codec, initial_capacity);
  if (n <= 5) return std::make_unique<rows_impl<5>>(codec, initial_capacity);
  if (n <= 6) return std::make_unique<rows_impl<6>>(codec, initial_capacity);
  if (n <= 8) return std::make_unique<rows_impl<8>>(codec, initial_capacity);
  if (n <= 12) return std::make_unique<rows_impl<12>>(codec, initial_capacity);
  static_assert(kMaxFieldsPerSeries == 16);
  return std::make_unique<rows_impl<16>>(codec, initial_capacity);
}

namespace {
std::vector<field_kind> kinds_of(const std::vector<field_spec>& fields) {
  std::vector<field_kind> kinds;
  kinds.reserve(fields.size());
  for (const auto& f : fields)
    kinds.push_back(f.kind);
  return kinds;
}
}  // namespace

series::series(std::string measurement, std::string symbol, std::vector<field_spec> fields,
               const std::uint64_t* first, std::size_t initial_capacity)
    : measurement_(std::move(measurement)),
      symbol_(std::move(symbol)),
      fields_(std::move(fields)),
      rows_(
          make_series_rows(row_codec::plan(kinds_of(fields_), first), initial_capacity).release()) {
  std::size_t bytes = 0;
  for (const auto& f : fields_)
    bytes += f.name.size() + 1;
  if (bytes == 0 || bytes - 1 > kPackedNameBytes) return;  // same_layout answers false
  std::size_t at = 0;
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    kinds_[i] = fields_[i].kind;
    std::memcpy(packed_names_.data() + at, fields_[i].name.data(), fields_[i].name.size());
    at += fields_[i].name.size();
    if (i + 1 < fields_.size()) packed_names_[at++] = '\0';
  }
  packed_size_ = static_cast<std::uint8_t>(at);
}

series::~series() {
  delete rows_.load(std::memory_order_relaxed);
}

series_rows::put_result series::put(time_ns t, const std::uint64_t* values) {
  auto r = writer_rows().put(t, values);
  if (r.fits) return r;
  relayout(values);
  r = writer_rows().put(t, values);
  assert(r.fits);
  return r;
}

// Copy first, publish second, retire last: a reader that loaded the old ring keeps a complete
// one, and no reader can load the new ring before it holds every point (the order
// TICKRING_SERIES_FAULT_PUBLISH_BEFORE_COPY breaks for tests/stress's relayout test).
void series::relayout(const std::uint64_t* values) {
  series_rows* old = rows_.load(std::memory_order_relaxed);
  // Usually one pass finds the plan: a smaller scale for a price that outgrew its range,
  // unless a stored price has more decimals than it keeps.
  const row_codec plan = old->fit_all(old->codec().refit(values));
  std::unique_ptr<series_rows> fresh = make_series_rows(plan, old->capacity());
#ifdef TICKRING_SERIES_FAULT_PUBLISH_BEFORE_COPY
  series_rows* published = fresh.get();
  rows_.store(published, std::memory_order_seq_cst);
  old->copy_to(*published);
  published->adopt_done(old->last_seq());
  fresh.release();
#else
  old->copy_to(*fresh);
  fresh->adopt_done(old->last_seq());
  rows_.store(fresh.release(), std::memory_order_seq_cst);
#endif
  reclaim_retire(old, sizeof(*old) + old->capacity_bytes(), &delete_rows);
  relayouts_.fetch_add(1, std::memory_order_relaxed);
}

int series::field_index(std::string_view name) const {
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace tickring::core
