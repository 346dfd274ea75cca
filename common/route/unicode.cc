#include "common/route/unicode.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace edge::route {
namespace {

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

uint32_t ReadUnit(absl::string_view bytes, size_t at, size_t width, Endian endian) {
  uint32_t value = 0;
  for (size_t i = 0; i < width; ++i) {
    const size_t index = endian == Endian::kLittle ? at + width - 1 - i : at + i;
    value = (value << 8) | static_cast<unsigned char>(bytes[index]);
  }
  return value;
}

}  // namespace

size_t CodePointCount(absl::string_view s) {
  size_t count = 0;
  for (char c : s) count += IsContinuation(c) ? 0 : 1;
  return count;
}

size_t CodePointOffset(absl::string_view s, size_t n) {
  size_t seen = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (IsContinuation(s[i])) continue;
    if (seen == n) return i;
    ++seen;
  }
  return seen == n ? s.size() : absl::string_view::npos;
}

void AppendUtf8(char32_t code_point, std::string* out) {
  const uint32_t cp = code_point;
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

absl::StatusOr<std::string> Utf16ToUtf8(absl::string_view bytes, Endian default_endian) {
  if (bytes.size() % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("a UTF-16 body has an even number of bytes, this one has ", bytes.size()));
  }
  Endian endian = default_endian;
  size_t at = 0;
  if (bytes.size() >= 2) {
    const uint32_t first = ReadUnit(bytes, 0, 2, Endian::kBig);
    if (first == 0xFEFF || first == 0xFFFE) {
      endian = first == 0xFEFF ? Endian::kBig : Endian::kLittle;
      at = 2;
    }
  }
  std::string out;
  out.reserve(bytes.size() / 2);
  while (at < bytes.size()) {
    uint32_t unit = ReadUnit(bytes, at, 2, endian);
    at += 2;
    if (unit >= 0xDC00 && unit <= 0xDFFF) {
      return absl::InvalidArgumentError(
          absl::StrCat("unpaired UTF-16 low surrogate at byte ", at - 2));
    }
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      const uint32_t low = at < bytes.size() ? ReadUnit(bytes, at, 2, endian) : 0;
      if (low < 0xDC00 || low > 0xDFFF) {
        return absl::InvalidArgumentError(
            absl::StrCat("unpaired UTF-16 high surrogate at byte ", at - 2));
      }
      at += 2;
      unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    }
    AppendUtf8(static_cast<char32_t>(unit), &out);
  }
  return out;
}

absl::StatusOr<std::string> Utf32ToUtf8(absl::string_view bytes, Endian default_endian) {
  if (bytes.size() % 4 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("a UTF-32 body has a multiple of 4 bytes, this one has ", bytes.size()));
  }
  Endian endian = default_endian;
  size_t at = 0;
  if (bytes.size() >= 4) {
    if (ReadUnit(bytes, 0, 4, Endian::kBig) == 0x0000FEFF) {
      endian = Endian::kBig;
      at = 4;
    } else if (ReadUnit(bytes, 0, 4, Endian::kLittle) == 0x0000FEFF) {
      endian = Endian::kLittle;
      at = 4;
    }
  }
  std::string out;
  out.reserve(bytes.size() / 4);
  for (; at < bytes.size(); at += 4) {
    const uint32_t cp = ReadUnit(bytes, at, 4, endian);
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid UTF-32 code point ", cp, " at byte ", at));
    }
    AppendUtf8(static_cast<char32_t>(cp), &out);
  }
  return out;
}

}  // namespace edge::route
