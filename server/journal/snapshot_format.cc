#include "server/journal/snapshot_format.h"

#include <fmt/format.h>

#include <cstring>

#include "server/journal/byte_io.h"

namespace tickring::server::journal {
namespace {

std::size_t open_frame(std::string& out, snapshot_record type) {
  const std::size_t at = out.size();
  out.append(kFrameBytes, '\0');
  out.push_back(static_cast<char>(type));
  return at;
}
void close_frame(std::string& out, std::size_t at) {
  const auto body = static_cast<std::uint32_t>(out.size() - at - kFrameBytes);
  std::memcpy(out.data() + at, &body, 4);
  std::uint32_t crc = crc32c(out.data() + at, 4);
  crc = crc32c(out.data() + at + kFrameBytes, body, crc);
  std::memcpy(out.data() + at + 4, &crc, 4);
}

// A bounds-checked cursor over one record body.
struct cursor {
  const unsigned char* p;
  std::size_t left;
  bool ok = true;
  template <class T>
  T take() {
    if (left < sizeof(T)) {
      ok = false;
      return T{};
    }
    const T v = get<T>(p);
    p += sizeof(T);
    left -= sizeof(T);
    return v;
  }
  std::string_view bytes(std::size_t n) {
    if (left < n) {
      ok = false;
      return {};
    }
    std::string_view v(reinterpret_cast<const char*>(p), n);
    p += n;
    left -= n;
    return v;
  }
};

}  // namespace

void append_snapshot_header(std::string& out) {
  out.append(kSnapshotMagic);
  put(out, kSnapshotVersion);
  put(out, std::uint32_t{0});
}

void append_snapshot_begin(std::string& out, std::uint64_t next_jseq, std::int64_t unix_ns) {
  const std::size_t at = open_frame(out, snapshot_record::begin);
  put(out, next_jseq);
  put(out, unix_ns);
  close_frame(out, at);
}

void append_snapshot_log_position(std::string& out, std::uint32_t partition,
                                  std::uint64_t stream_seq) {
  const std::size_t at = open_frame(out, snapshot_record::log_position);
  put(out, partition);
  put(out, stream_seq);
  close_frame(out, at);
}

void append_snapshot_series(std::string& out, const snapshot_series& s) {
  const std::size_t at = open_frame(out, snapshot_record::series);
  put(out, s.change_seq);
  out.push_back(static_cast<char>(s.field_count));
  put(out, static_cast<std::uint16_t>(s.measurement.size()));
  put(out, static_cast<std::uint16_t>(s.symbol.size()));
  out.append(s.measurement);
  out.append(s.symbol);
  for (std::size_t i = 0; i < s.field_count; ++i) {
    out.push_back(static_cast<char>(s.fields[i].kind));
    put(out, static_cast<std::uint16_t>(s.fields[i].name.size()));
    out.append(s.fields[i].name);
  }
  put(out, s.points);
  close_frame(out, at);
}

void append_snapshot_points(std::string& out, const std::int64_t* times, const std::uint64_t* words,
                            std::size_t n, std::size_t field_count) {
  const std::size_t at = open_frame(out, snapshot_record::points);
  put(out, static_cast<std::uint32_t>(n));
  for (std::size_t i = 0; i < n; ++i) {
    put(out, times[i]);
    out.append(reinterpret_cast<const char*>(words + i * field_count), 8 * field_count);
  }
  close_frame(out, at);
}

void append_snapshot_end(std::string& out, std::uint64_t series, std::uint64_t points) {
  const std::size_t at = open_frame(out, snapshot_record::end);
  put(out, series);
  put(out, points);
  close_frame(out, at);
}

snapshot_read_result read_snapshot(std::span<const unsigned char> file, snapshot_visitor* visit) {
  snapshot_read_result r;
  auto fail = [&](std::size_t offset, std::string_view why) {
    r.ok = false;
    r.reason = fmt::format("{} at offset {}", why, offset);
    return r;
  };
  if (file.size() < kSnapshotHeaderBytes ||
      std::memcmp(file.data(), kSnapshotMagic.data(), kSnapshotMagic.size()) != 0) {
    return fail(0, "not a snapshot file (bad header)");
  }
  const auto version = get<std::uint32_t>(file.data() + 8);
  if (version < kMinSnapshotVersion || version > kSnapshotVersion ||
      get<std::uint32_t>(file.data() + 12) != 0) {
    return fail(8, "unknown snapshot version");
  }
  std::size_t at = kSnapshotHeaderBytes;
  bool begun = false;
  bool ended = false;
  bool in_series = false;
  std::size_t field_count = 0;
  std::uint64_t points_left = 0;  // of the current series
  std::uint64_t series = 0;
  std::uint64_t points = 0;
  while (at < file.size()) {
    if (ended) return fail(at, "bytes after the end record");
    if (file.size() - at < kFrameBytes) return fail(at, "a frame cut short (torn file)");
    const auto len = get<std::uint32_t>(file.data() + at);
    if (len == 0 || len > kMaxBodyBytes) return fail(at, "a record length out of bounds");
    if (file.size() - at - kFrameBytes < len) return fail(at, "a record cut short (torn file)");
    const unsigned char* body = file.data() + at + kFrameBytes;
    std::uint32_t crc = crc32c(file.data() + at, 4);
    crc = crc32c(body, len, crc);
    if (crc != get<std::uint32_t>(file.data() + at + 4)) return fail(at, "a CRC mismatch");
    cursor c{body, len};
    const auto type = c.take<std::uint8_t>();
    if (!begun && type != static_cast<std::uint8_t>(snapshot_record::begin)) {
      return fail(at, "no begin record first");
    }
    switch (static_cast<snapshot_record>(type)) {
      case snapshot_record::begin:
        if (begun) return fail(at, "a second begin record");
        begun = true;
        r.next_jseq = c.take<std::uint64_t>();
        r.written_unix_ns = c.take<std::int64_t>();
        if (r.next_jseq == 0) return fail(at, "a journal position of 0");
        break;
      case snapshot_record::log_position: {
        if (version < 2 || series != 0) return fail(at, "a log position record out of place");
        const auto partition = c.take<std::uint32_t>();
        const auto seq = c.take<std::uint64_t>();
        r.log_positions.emplace_back(partition, seq);
        break;
      }
      case snapshot_record::series: {
        if (points_left != 0) return fail(at, "a series with points missing before it");
        snapshot_series s;
        s.change_seq = c.take<std::uint64_t>();
        s.field_count = c.take<std::uint8_t>();
        const auto ml = c.take<std::uint16_t>();
        const auto sl = c.take<std::uint16_t>();
        if (s.field_count == 0 || s.field_count > kMaxFields) {
          return fail(at, "a series with a bad field count");
        }
        s.measurement = c.bytes(ml);
        s.symbol = c.bytes(sl);
        for (std::size_t i = 0; c.ok && i < s.field_count; ++i) {
          s.fields[i].kind = c.take<std::uint8_t>();
          if (s.fields[i].kind > 3) return fail(at, "a field of unknown kind");
          s.fields[i].name = c.bytes(c.take<std::uint16_t>());
        }
        s.points = c.take<std::uint32_t>();
        if (!c.ok) return fail(at, "a series record cut short");
        if (s.measurement.empty() || s.symbol.empty()) return fail(at, "a series without a name");
        field_count = s.field_count;
        points_left = s.points;
        in_series = true;
        ++series;
        if (visit != nullptr) visit->on_series(s);
        break;
      }
      case snapshot_record::points: {
        if (!in_series) return fail(at, "points before any series");
        const auto n = c.take<std::uint32_t>();
        if (!c.ok || n == 0 || n > points_left) return fail(at, "more points than the series has");
        const std::size_t row = 8 + 8 * field_count;
        if (c.left != row * n) return fail(at, "a points record of the wrong size");
        for (std::uint32_t i = 0; i < n; ++i) {
          const unsigned char* p = c.p + row * i;
          if (visit != nullptr) visit->on_point(get<std::int64_t>(p), p + 8);
        }
        c.left = 0;
        points_left -= n;
        points += n;
        break;
      }
      case snapshot_record::end: {
        if (points_left != 0) return fail(at, "a series with points missing before the end");
        const auto ns = c.take<std::uint64_t>();
        const auto np = c.take<std::uint64_t>();
        if (!c.ok || ns != series || np != points) return fail(at, "end totals that do not match");
        ended = true;
        break;
      }
      default:
        return fail(at, "a record of unknown type");
    }
    if (!c.ok || c.left != 0) return fail(at, "a record of the wrong size for its type");
    at += kFrameBytes + len;
  }
  if (!ended) return fail(at, "no end record (torn file)");
  r.ok = true;
  r.series = series;
  r.points = points;
  return r;
}

}  // namespace tickring::server::journal
