// Unicode helpers of the route language: the string built-ins count code points (length,
// substring, index_of), string literals encode \uXXXX escapes as UTF-8, and message bodies declared
// utf-16 or utf-32 are decoded to UTF-8 before they are parsed as JSON.
//
// Invalid UTF-8 never fails here: a byte that does not continue a sequence counts as one code
// point, so a malformed property value still gets a well-defined length.
//
// Example:
//   CodePointCount("h\xc3\xa9llo");        // 5
//   CodePointOffset("h\xc3\xa9llo", 2);    // 3 (the byte where the third code point starts)
//   absl::StatusOr<std::string> s = Utf16ToUtf8(bytes, Endian::kLittle);
#ifndef EDGE_COMMON_ROUTE_UNICODE_H_
#define EDGE_COMMON_ROUTE_UNICODE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace edge::route {

// Code points in `s`: every byte that is not a UTF-8 continuation byte starts one.
size_t CodePointCount(absl::string_view s);

// The byte offset where code point `n` of `s` starts; `s.size()` when n equals the count and
// absl::string_view::npos when n is past it.
size_t CodePointOffset(absl::string_view s, size_t n);

// Appends the UTF-8 encoding of `code_point`, which must be a Unicode scalar value (not a
// surrogate, at most U+10FFFF).
void AppendUtf8(char32_t code_point, std::string* out);

enum class Endian { kLittle, kBig };

// Decodes UTF-16 (or UTF-32) `bytes` to UTF-8. A leading byte-order mark decides the byte order
// and is dropped; without one `default_endian` applies. kInvalidArgument for a length that is not a
// multiple of the code unit, an unpaired surrogate, or a value above U+10FFFF.
absl::StatusOr<std::string> Utf16ToUtf8(absl::string_view bytes, Endian default_endian);
absl::StatusOr<std::string> Utf32ToUtf8(absl::string_view bytes, Endian default_endian);

}  // namespace edge::route

#endif  // EDGE_COMMON_ROUTE_UNICODE_H_
