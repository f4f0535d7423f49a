#include "server/journal/journal_format.h"

#include <array>
#include <cstring>

#include "server/journal/byte_io.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace tickring::server::journal {
namespace {

// CRC32C (Castagnoli), reflected polynomial 0x82F63B78, as in iSCSI, ext4 and LevelDB.
constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1U) != 0 ? (c >> 1) ^ 0x82F63B78U : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_table();

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(const unsigned char* p, std::size_t n,
                                                             std::uint32_t crc) {
  std::uint64_t c = ~crc;
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    c = _mm_crc32_u64(c, w);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (n-- != 0)
    c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}
const bool kHaveSse42 = __builtin_cpu_supports("sse4.2") != 0;
#endif

// Starts a frame: reserves length and CRC, returns where the body starts.
std::size_t open_frame(std::string& out, record_type type, std::uint64_t jseq) {
  const std::size_t at = out.size();
  out.append(kFrameBytes, '\0');
  out.push_back(static_cast<char>(type));
  put(out, jseq);
  return at;
}
std::size_t close_frame(std::string& out, std::size_t at) {
  const auto body = static_cast<std::uint32_t>(out.size() - at - kFrameBytes);
  std::memcpy(out.data() + at, &body, 4);
  std::uint32_t crc = crc32c(out.data() + at, 4);
  crc = crc32c(out.data() + at + kFrameBytes, body, crc);
  std::memcpy(out.data() + at + 4, &crc, 4);
  return out.size() - at;
}

constexpr std::size_t kHead = 1 + 8;                    // type + jseq
constexpr std::size_t kPointFixed = kHead + 4 + 8 + 8;  // + id, time, seq

}  // namespace

std::uint32_t crc32c_portable(const void* data, std::size_t n, std::uint32_t crc) {
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  while (n-- != 0)
    crc = kCrcTable[(crc ^ *p++) & 0xFFU] ^ (crc >> 8);
  return ~crc;
}

std::uint32_t crc32c(const void* data, std::size_t n, std::uint32_t crc) {
#if defined(__x86_64__)
  if (kHaveSse42) return crc32c_sse42(static_cast<const unsigned char*>(data), n, crc);
#endif
  return crc32c_portable(data, n, crc);
}

void append_segment_header(std::string& out) {
  out.append(kSegmentMagic);
  put(out, kFormatVersion);
  put(out, std::uint32_t{0});
}

std::size_t append_series(std::string& out, std::uint64_t jseq, std::uint32_t id,
                          std::string_view measurement, std::string_view symbol,
                          std::span<const field_def> fields) {
  const std::size_t at = open_frame(out, record_type::series, jseq);
  put(out, id);
  out.push_back(static_cast<char>(fields.size()));
  put(out, static_cast<std::uint16_t>(measurement.size()));
  put(out, static_cast<std::uint16_t>(symbol.size()));
  out.append(measurement);
  out.append(symbol);
  for (const auto& f : fields) {
    out.push_back(static_cast<char>(f.kind));
    put(out, static_cast<std::uint16_t>(f.name.size()));
    out.append(f.name);
  }
  return close_frame(out, at);
}

std::size_t append_point(std::string& out, record_type type, std::uint64_t jseq, std::uint32_t id,
                         std::int64_t time, std::uint64_t seq, const std::uint64_t* words,
                         std::size_t field_count) {
  const std::size_t at = open_frame(out, type, jseq);
  put(out, id);
  put(out, time);
  put(out, seq);
  out.append(reinterpret_cast<const char*>(words), field_count * 8);
  return close_frame(out, at);
}

std::size_t append_remove(std::string& out, std::uint64_t jseq, std::uint32_t id, std::int64_t time,
                          std::uint64_t seq) {
  const std::size_t at = open_frame(out, record_type::remove, jseq);
  put(out, id);
  put(out, time);
  put(out, seq);
  return close_frame(out, at);
}

std::size_t append_log_position(std::string& out, std::uint64_t jseq, std::uint32_t partition,
                                std::uint64_t stream_seq) {
  const std::size_t at = open_frame(out, record_type::log_position, jseq);
  put(out, partition);
  put(out, stream_seq);
  return close_frame(out, at);
}

std::size_t append_log_batch(std::string& out, std::uint64_t jseq) {
  return close_frame(out, open_frame(out, record_type::log_batch, jseq));
}

decode_result decode_record(std::span<const unsigned char> bytes, record_view& out) {
  if (bytes.size() < kFrameBytes) return {decode_status::need_more};
  const auto len = get<std::uint32_t>(bytes.data());
  if (len < kHead || len > kMaxBodyBytes) return {decode_status::corrupt, 0, "bad record length"};
  if (bytes.size() - kFrameBytes < len) return {decode_status::need_more};
  const unsigned char* b = bytes.data() + kFrameBytes;
  std::uint32_t crc = crc32c(bytes.data(), 4);
  crc = crc32c(b, len, crc);
  if (crc != get<std::uint32_t>(bytes.data() + 4))
    return {decode_status::corrupt, 0, "checksum mismatch"};
  const decode_result ok{decode_status::ok, kFrameBytes + len};
  out.type = static_cast<record_type>(b[0]);
  out.jseq = get<std::uint64_t>(b + 1);
  const unsigned char* p = b + kHead;
  const std::size_t rest = len - kHead;
  switch (out.type) {
    case record_type::series: {
      constexpr std::size_t kFixed = 4 + 1 + 2 + 2;
      if (rest < kFixed) return {decode_status::corrupt, 0, "series record too short"};
      out.id = get<std::uint32_t>(p);
      out.field_count = p[4];
      const std::size_t ml = get<std::uint16_t>(p + 5);
      const std::size_t sl = get<std::uint16_t>(p + 7);
      if (out.id >= kMaxSeriesId || out.field_count == 0 || out.field_count > kMaxFields)
        return {decode_status::corrupt, 0, "bad series record"};
      std::size_t at = kFixed;
      if (rest - at < ml + sl) return {decode_status::corrupt, 0, "series record too short"};
      out.measurement = {reinterpret_cast<const char*>(p + at), ml};
      out.symbol = {reinterpret_cast<const char*>(p + at + ml), sl};
      at += ml + sl;
      for (std::size_t i = 0; i < out.field_count; ++i) {
        if (rest - at < 3) return {decode_status::corrupt, 0, "series record too short"};
        const std::uint8_t kind = p[at];
        const std::size_t nl = get<std::uint16_t>(p + at + 1);
        at += 3;
        if (kind > 3 || nl == 0 || rest - at < nl)
          return {decode_status::corrupt, 0, "bad field in series record"};
        out.fields[i] = {kind, {reinterpret_cast<const char*>(p + at), nl}};
        at += nl;
      }
      if (at != rest) return {decode_status::corrupt, 0, "series record has trailing bytes"};
      return ok;
    }
    case record_type::insert:
    case record_type::overwrite:
    case record_type::remove: {
      if (len < kPointFixed) return {decode_status::corrupt, 0, "point record too short"};
      out.id = get<std::uint32_t>(p);
      out.time = get<std::int64_t>(p + 4);
      out.seq = get<std::uint64_t>(p + 12);
      const std::size_t words = len - kPointFixed;
      if (out.type == record_type::remove) {
        if (words != 0) return {decode_status::corrupt, 0, "remove record has trailing bytes"};
        out.field_count = 0;
        out.words = nullptr;
        return ok;
      }
      if (words == 0 || words % 8 != 0 || words / 8 > kMaxFields)
        return {decode_status::corrupt, 0, "bad point record length"};
      out.field_count = words / 8;
      out.words = p + 20;
      return ok;
    }
    case record_type::log_position: {
      if (rest != 4 + 8) return {decode_status::corrupt, 0, "bad log position record length"};
      out.id = get<std::uint32_t>(p);
      out.seq = get<std::uint64_t>(p + 4);
      out.field_count = 0;
      out.words = nullptr;
      return ok;
    }
    case record_type::log_batch: {
      if (rest != 0) return {decode_status::corrupt, 0, "bad log batch record length"};
      out.id = 0;
      out.seq = 0;
      out.field_count = 0;
      out.words = nullptr;
      return ok;
    }
  }
  return {decode_status::corrupt, 0, "unknown record type"};
}

scan_result scan_segment(std::span<const unsigned char> file, const record_visitor& visit) {
  scan_result r;
  auto zeros_to_end = [&](std::size_t from) {
    for (std::size_t i = from; i < file.size(); ++i) {
      if (file[i] != 0) return false;
    }
    return true;
  };
  if (file.size() < kSegmentHeaderBytes) {
    r.end = scan_end::torn;
    r.reason = "segment header cut short";
    return r;
  }
  if (std::memcmp(file.data(), kSegmentMagic.data(), kSegmentMagic.size()) != 0) {
    r.end = scan_end::corrupt;
    r.reason = "not a tickring journal segment (bad magic)";
    return r;
  }
  const auto version = get<std::uint32_t>(file.data() + 8);
  if (version < kMinFormatVersion || version > kFormatVersion || version == kSkippedFormatVersion) {
    r.end = scan_end::corrupt;
    r.reason = "unsupported journal format version";
    return r;
  }
  if (get<std::uint32_t>(file.data() + 12) != 0) {
    r.end = scan_end::corrupt;
    r.reason = "bad segment header";
    return r;
  }
  std::size_t at = kSegmentHeaderBytes;
  r.valid_bytes = at;
  record_view rec;
  while (at < file.size()) {
    const auto d = decode_record(file.subspan(at), rec);
    if (d.status == decode_status::need_more ||
        (d.status == decode_status::corrupt && zeros_to_end(at))) {
      r.end = scan_end::torn;
      r.reason = d.status == decode_status::need_more ? "record cut short by the end of the file"
                                                      : "zero bytes to the end of the file";
      return r;
    }
    if (d.status == decode_status::corrupt) {
      r.end = scan_end::corrupt;
      r.reason = d.reason;
      return r;
    }
    if (rec.type == record_type::log_position && version < 2) {
      r.end = scan_end::corrupt;
      r.reason = "a log position record in a version 1 segment";
      return r;
    }
    if (rec.type == record_type::log_batch && version < 4) {
      r.end = scan_end::corrupt;
      r.reason = "a log batch record in a version 1 or 2 segment";
      return r;
    }
    if (const char* why = visit(rec, at); why != nullptr) {
      r.end = scan_end::corrupt;
      r.reason = why;
      return r;
    }
    at += d.size;
    r.valid_bytes = at;
    ++r.records;
  }
  return r;
}

}  // namespace tickring::server::journal
