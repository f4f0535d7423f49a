#include "core/series.h"

#include <cstring>

#include "core/time_sorted_array.h"

namespace tickring::core {
namespace {

template <std::size_t N>
class rows_impl final : public series_rows {
  using row = std::array<std::uint64_t, N>;
  using ring = time_sorted_array<row>;

 public:
  explicit rows_impl(std::size_t initial_capacity) : ring_(initial_capacity) {}

  std::size_t size() const override { return ring_.size(); }
  seq_no committed_seq() const override { return ring_.committed_seq(); }
  bool find(time_ns t, stored_point& out) const override {
    return ring_.find_raw(t, out.time, out.seq, out.words.data());
  }
  bool lowest(stored_point& out) const override {
    return ring_.lowest_raw(out.time, out.seq, out.words.data());
  }
  bool highest(stored_point& out) const override {
    return ring_.highest_raw(out.time, out.seq, out.words.data());
  }
  void scan_backward(time_ns to, point_visitor visit, void* context) const override {
    stored_point p;
    for (auto it = ring_.iterate_backwards(to); it.next_raw(p.time, p.seq, p.words.data());) {
      if (!visit(context, p)) return;
    }
  }
  put_result put(time_ns t, const std::uint64_t* words) override {
    row r;
    std::memcpy(r.data(), words, sizeof(row));
    const auto res = ring_.put(t, r);
    return {res.outcome == ring::put_outcome::inserted, res.seq};
  }
  std::optional<seq_no> remove(time_ns t) override { return ring_.remove(t); }
  std::optional<time_ns> oldest_time() const override { return ring_.writer_oldest_time(); }
  bool remove_lowest(stored_point& out) override { return copy(ring_.remove_lowest(), out); }
  std::size_t capacity() const override { return ring_.capacity(); }
  std::size_t writer_size() const override { return ring_.writer_size(); }
  std::size_t bytes_per_point() const override { return ring::kBytesPerCell; }
  std::size_t capacity_bytes() const override { return ring_.buffer_bytes(); }

 private:
  static void fill(const typename ring::entry& e, stored_point& out) {
    out.time = e.time;
    out.seq = e.seq;
    for (std::size_t i = 0; i < N; ++i)
      out.words[i] = e.value[i];
  }
  static bool copy(const std::optional<typename ring::entry>& e, stored_point& out) {
    if (!e) return false;
    fill(*e, out);
    return true;
  }
  ring ring_;
};

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
std::unique_ptr<series_rows> make_series_rows(std::size_t n, std::size_t initial_capacity) {
  if (n <= 1) return std::make_unique<rows_impl<1>>(initial_capacity);
  if (n <= 2) return std::make_unique<rows_impl<2>>(initial_capacity);
  if (n <= 3) return std::make_unique<rows_impl<3>>(initial_capacity);
  if (n <= 4) return std::make_unique<rows_impl<4>>(initial_capacity);
  if (n <= 5) return std::make_unique<rows_impl<5>>(initial_capacity);
  if (n <= 6) return std::make_unique<rows_impl<6>>(initial_capacity);
  if (n <= 8) return std::make_unique<rows_impl<8>>(initial_capacity);
  if (n <= 12) return std::make_unique<rows_impl<12>>(initial_capacity);
  static_assert(kMaxFieldsPerSeries == 16);
  return std::make_unique<rows_impl<16>>(initial_capacity);
}

series::series(std::string measurement, std::string symbol, std::vector<field_spec> fields,
               std::size_t initial_capacity)
    : measurement_(std::move(measurement)),
      symbol_(std::move(symbol)),
      fields_(std::move(fields)),
      rows_(make_series_rows(fields_.size(), initial_capacity)) {
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

int series::field_index(std::string_view name) const {
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace tickring::core
