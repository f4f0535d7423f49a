// Human-readable figures and a one-line progress display on stderr.
//
//   [########------]  42% 80.1/190.3 MB  845,123 lines  1.62M lines/s  153.2 MB/s  1.21 s
//
// progress_meter draws only when stderr is a terminal, at most kRedrawsPerSecond times a second,
// and only from the thread that calls update() (single-threaded; the caller owns it). Anything
// else written to stderr while the bar is shown must go through print_above(), which clears
// the bar first, so that messages and the bar never share a line. finish() erases the bar.
// Rates are smoothed (exponential moving average over the redraw intervals) so that the figure
// is the current rate, not the average since the start, without flickering.
// The formatting functions are pure and thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tickring::cli {

// 10 redraws a second look live; more only costs terminal bandwidth.
inline constexpr int kRedrawsPerSecond = 10;

// 2000000 -> "2,000,000"
std::string format_count(std::uint64_t n);
// 1620000 -> "1.62M", 950 -> "950"; k, M, G suffixes (powers of 1000), 3 significant digits.
std::string format_si(double v);
// Bytes in decimal units, as network rates are given: 190300000 -> "190.3 MB".
std::string format_bytes(double bytes);
// Done out of total, in the total's unit: "80.1/190.3 MB".
std::string format_bytes_of(double done, double total);
// Seconds: 0.0123 -> "12.3 ms", 4.5 -> "4.50 s", 125 -> "2:05".
std::string format_seconds(double seconds);

class progress_meter {
 public:
  // total_bytes: the input size when known (a regular file), for the percentage and the bar.
  explicit progress_meter(std::optional<std::uint64_t> total_bytes);
  progress_meter(const progress_meter&) = delete;
  progress_meter& operator=(const progress_meter&) = delete;
  ~progress_meter();

  // Whether anything will be drawn (stderr is a terminal).
  bool active() const { return active_; }
  // Reports the totals so far; redraws if the last redraw is old enough. Cheap otherwise
  // (one clock read).
  void update(std::uint64_t bytes, std::uint64_t lines);
  // Writes `text` (which should end in '\n') to stderr above the bar.
  void print_above(std::string_view text);
  // Erases the bar; nothing is drawn afterwards.
  void finish();

 private:
  using clock = std::chrono::steady_clock;
  void draw();
  void erase();

  bool active_;
  bool shown_ = false;
  std::optional<std::uint64_t> total_bytes_;
  clock::time_point start_;
  clock::time_point last_draw_;
  std::uint64_t bytes_ = 0;
  std::uint64_t lines_ = 0;
  std::uint64_t last_bytes_ = 0;
  std::uint64_t last_lines_ = 0;
  double byte_rate_ = -1;  // < 0: no sample yet
  double line_rate_ = -1;
};

}  // namespace tickring::cli
