#include "client-cli/progress.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tickring::cli {
namespace {

// Weight of the newest interval in the smoothed rate: about the last half second counts.
constexpr double kRateSmoothing = 0.3;
// When the terminal width is unknown (not a terminal, or the ioctl fails).
constexpr int kDefaultColumns = 80;
// Below this many columns the bar adds nothing; the figures alone are shown.
constexpr int kMinBarWidth = 10;
constexpr int kMaxBarWidth = 30;
// "[" and "] " around the bar.
constexpr std::size_t kBarFrame = 3;
// Erase from the cursor to the end of the line (ANSI), after a carriage return.
constexpr std::string_view kClearLine = "\r\x1b[K";

constexpr std::string_view kByteUnits[] = {"B", "kB", "MB", "GB", "TB"};

// The index in kByteUnits that shows `bytes` with 1 to 3 digits before the point.
std::size_t byte_unit(double bytes) {
  std::size_t i = 0;
  while (bytes >= 999.95 && i + 1 < std::size(kByteUnits)) {
    bytes /= 1000;
    ++i;
  }
  return i;
}

int terminal_columns() {
  winsize ws{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return kDefaultColumns;
}

void write_stderr(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

std::string format_count(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string format_si(double v) {
  static constexpr std::string_view kSuffixes[] = {"", "k", "M", "G", "T"};
  std::size_t i = 0;
  // 999.6 is "1.00k", not "1000": the figure keeps its width as it crosses a unit.
  while (std::fabs(v) >= 999.5 && i + 1 < std::size(kSuffixes)) {
    v /= 1000;
    ++i;
  }
  if (i == 0) return fmt::format("{:.0f}", v);
  const int decimals = std::fabs(v) >= 99.95 ? 0 : std::fabs(v) >= 9.995 ? 1 : 2;
  return fmt::format("{:.{}f}{}", v, decimals, kSuffixes[i]);
}

std::string format_bytes(double bytes) {
  const std::size_t unit = byte_unit(bytes);
  const double scaled = bytes / std::pow(1000.0, static_cast<double>(unit));
  if (unit == 0) return fmt::format("{:.0f} B", scaled);
  return fmt::format("{:.1f} {}", scaled, kByteUnits[unit]);
}

std::string format_bytes_of(double done, double total) {
  const std::size_t unit = byte_unit(total);
  const double scale = std::pow(1000.0, static_cast<double>(unit));
  if (unit == 0) return fmt::format("{:.0f}/{:.0f} B", done, total);
  return fmt::format("{:.1f}/{:.1f} {}", done / scale, total / scale, kByteUnits[unit]);
}

std::string format_seconds(double seconds) {
  if (seconds < 1) return fmt::format("{:.1f} ms", seconds * 1e3);
  if (seconds < 60) return fmt::format("{:.2f} s", seconds);
  const auto whole = static_cast<std::uint64_t>(seconds);
  if (whole < 3600) return fmt::format("{}:{:02}", whole / 60, whole % 60);
  return fmt::format("{}:{:02}:{:02}", whole / 3600, whole / 60 % 60, whole % 60);
}

progress_meter::progress_meter(std::optional<std::uint64_t> total_bytes)
    : active_(::isatty(STDERR_FILENO) == 1),
      total_bytes_(total_bytes),
      start_(clock::now()),
      last_draw_(start_) {}

progress_meter::~progress_meter() {
  finish();
}

void progress_meter::update(std::uint64_t bytes, std::uint64_t lines) {
  bytes_ = bytes;
  lines_ = lines;
  if (!active_) return;
  const auto now = clock::now();
  const double dt = std::chrono::duration<double>(now - last_draw_).count();
  if (dt < 1.0 / kRedrawsPerSecond) return;
  const double byte_rate = static_cast<double>(bytes_ - last_bytes_) / dt;
  const double line_rate = static_cast<double>(lines_ - last_lines_) / dt;
  byte_rate_ = byte_rate_ < 0 ? byte_rate : byte_rate_ + kRateSmoothing * (byte_rate - byte_rate_);
  line_rate_ = line_rate_ < 0 ? line_rate : line_rate_ + kRateSmoothing * (line_rate - line_rate_);
  last_draw_ = now;
  last_bytes_ = bytes_;
  last_lines_ = lines_;
  draw();
}

void progress_meter::draw() {
  std::string figures;
  std::optional<double> fraction;
  if (total_bytes_ && *total_bytes_ > 0) {
    fraction = std::min(1.0, static_cast<double>(bytes_) / static_cast<double>(*total_bytes_));
    figures = fmt::format(
        "{:3.0f}% {}", *fraction * 100,
        format_bytes_of(static_cast<double>(bytes_), static_cast<double>(*total_bytes_)));
  } else {
    figures = format_bytes(static_cast<double>(bytes_));
  }
  figures += fmt::format("  {} lines", format_count(lines_));
  if (line_rate_ >= 0) {
    figures += fmt::format("  {} lines/s  {}/s", format_si(line_rate_), format_bytes(byte_rate_));
  }
  const std::string elapsed =
      "  " + format_seconds(std::chrono::duration<double>(clock::now() - start_).count());

  // Never wider than the terminal: a wrapped line would defeat the carriage-return redraw. The
  // bar comes first; the elapsed time only if the bar can be full width too, so that the bar
  // does not change length as the figures do.
  const int columns = terminal_columns() - 1;
  const int room = columns - static_cast<int>(figures.size()) - static_cast<int>(kBarFrame);
  const bool with_elapsed = !fraction || room - static_cast<int>(elapsed.size()) >= kMaxBarWidth;
  const int bar_width =
      std::min(kMaxBarWidth, room - (with_elapsed ? static_cast<int>(elapsed.size()) : 0));
  std::string line(kClearLine);
  if (fraction && bar_width >= kMinBarWidth) {
    const auto filled = static_cast<int>(*fraction * bar_width);
    line += '[';
    line.append(static_cast<std::size_t>(filled), '#');
    line.append(static_cast<std::size_t>(bar_width - filled), '-');
    line += "] ";
  }
  line += figures;
  if (with_elapsed) line += elapsed;
  line.resize(std::min(line.size(), kClearLine.size() + static_cast<std::size_t>(columns)));
  write_stderr(line);
  shown_ = true;
}

void progress_meter::erase() {
  if (!shown_) return;
  write_stderr(kClearLine);
  shown_ = false;
}

void progress_meter::print_above(std::string_view text) {
  erase();
  write_stderr(text);
  if (active_ && line_rate_ >= 0) draw();
}

void progress_meter::finish() {
  erase();
  active_ = false;
}

}  // namespace tickring::cli
