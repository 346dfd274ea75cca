#include "common/route/message.h"

#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/route/unicode.h"
#include "nlohmann/json.hpp"

namespace edge::route {
namespace {

enum class Encoding { kUtf8, kUtf16Le, kUtf16Be, kUtf32Le, kUtf32Be };

std::optional<Encoding> ParseEncoding(absl::string_view name) {
  name = absl::StripAsciiWhitespace(name);
  if (absl::EqualsIgnoreCase(name, "utf-8")) return Encoding::kUtf8;
  if (absl::EqualsIgnoreCase(name, "utf-16") || absl::EqualsIgnoreCase(name, "utf-16le")) {
    return Encoding::kUtf16Le;
  }
  if (absl::EqualsIgnoreCase(name, "utf-16be")) return Encoding::kUtf16Be;
  if (absl::EqualsIgnoreCase(name, "utf-32") || absl::EqualsIgnoreCase(name, "utf-32le")) {
    return Encoding::kUtf32Le;
  }
  if (absl::EqualsIgnoreCase(name, "utf-32be")) return Encoding::kUtf32Be;
  return std::nullopt;
}

// `application/json`, optionally followed by media-type parameters.
bool IsJsonContentType(absl::string_view content_type) {
  absl::string_view media = content_type.substr(0, content_type.find(';'));
  return absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(media), "application/json");
}

}  // namespace

std::string SourcePath(const MessageView& message) {
  if (message.kind == SourceKind::kTwinChangeNotification) return "/twinChangeNotifications/";
  if (message.module_id.empty()) return "/messages/";
  if (message.output_name.empty())
    return absl::StrCat("/messages/modules/", message.module_id, "/");
  return absl::StrCat("/messages/modules/", message.module_id, "/outputs/", message.output_name,
                      "/");
}

const Property* FindProperty(absl::Span<const Property> properties, absl::string_view name) {
  const Property* found = nullptr;
  for (const Property& p : properties) {
    if (p.name.size() != name.size()) continue;
    // Senders mostly spell names as conditions do: the exact comparison is the cheap common case.
    if (p.name == name) return &p;
    if (found == nullptr && absl::EqualsIgnoreCase(p.name, name)) found = &p;
  }
  return found;
}

MessageContext::MessageContext(const MessageView& message) : message_(message) {}

MessageContext::~MessageContext() = default;

absl::string_view MessageContext::source_path() {
  if (!source_path_computed_) {
    source_path_ = SourcePath(message_);
    source_path_computed_ = true;
  }
  return source_path_;
}

const nlohmann::json* MessageContext::JsonBody() {
  if (!gate_checked_) {
    gate_checked_ = true;
    const Property* content_type = FindProperty(message_.system_properties, "contentType");
    const Property* encoding = FindProperty(message_.system_properties, "contentEncoding");
    if (content_type == nullptr) {
      gate_problem_ = "the message has no contentType; body queries need application/json";
    } else if (!IsJsonContentType(content_type->value)) {
      gate_problem_ = absl::StrCat("contentType '", content_type->value,
                                   "' is not application/json, so the body cannot be queried");
    } else if (encoding == nullptr) {
      gate_problem_ =
          "the message has no contentEncoding; body queries need utf-8, utf-16 or utf-32";
    } else if (!ParseEncoding(encoding->value).has_value()) {
      gate_problem_ =
          absl::StrCat("contentEncoding '", encoding->value,
                       "' is not utf-8, utf-16 or utf-32, so the body cannot be queried");
    }
  }
  if (!gate_problem_.empty()) {
    body_problem_ = gate_problem_;
    return nullptr;
  }
  return ParseOnce();
}

const nlohmann::json* MessageContext::JsonBodyIgnoringContentType() {
  const Property* encoding = FindProperty(message_.system_properties, "contentEncoding");
  if (encoding != nullptr && !ParseEncoding(encoding->value).has_value()) {
    if (encoding_problem_.empty()) {
      encoding_problem_ =
          absl::StrCat("contentEncoding '", encoding->value,
                       "' is not utf-8, utf-16 or utf-32, so the body cannot be read");
    }
    body_problem_ = encoding_problem_;
    return nullptr;
  }
  return ParseOnce();
}

const nlohmann::json* MessageContext::ParseOnce() {
  if (!parse_attempted_) {
    parse_attempted_ = true;
    ++body_parse_count_;
    const Property* encoding_property = FindProperty(message_.system_properties, "contentEncoding");
    const Encoding encoding =
        encoding_property == nullptr
            ? Encoding::kUtf8
            : ParseEncoding(encoding_property->value).value_or(Encoding::kUtf8);
    absl::StatusOr<std::string> decoded;
    absl::string_view text = message_.body;
    switch (encoding) {
      case Encoding::kUtf8:
        // A UTF-8 byte-order mark is legal in front of a UTF-8 body; JSON parsers reject it.
        if (absl::StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
        break;
      case Encoding::kUtf16Le:
      case Encoding::kUtf16Be:
        decoded =
            Utf16ToUtf8(text, encoding == Encoding::kUtf16Le ? Endian::kLittle : Endian::kBig);
        break;
      case Encoding::kUtf32Le:
      case Encoding::kUtf32Be:
        decoded =
            Utf32ToUtf8(text, encoding == Encoding::kUtf32Le ? Endian::kLittle : Endian::kBig);
        break;
    }
    if (encoding != Encoding::kUtf8) {
      if (!decoded.ok()) {
        parse_problem_ = absl::StrCat("the body is not valid ", encoding_property->value, ": ",
                                      decoded.status().message());
      } else {
        text = *decoded;
      }
    }
    if (parse_problem_.empty()) {
      // nlohmann::json reports malformed input by throwing; the exception stays inside this call.
      try {
        json_ = std::make_unique<nlohmann::json>(nlohmann::json::parse(text.begin(), text.end()));
      } catch (const nlohmann::json::exception& e) {
        parse_problem_ = absl::StrCat("the body is not valid JSON: ", e.what());
      }
    }
  }
  body_problem_ = json_ == nullptr ? absl::string_view(parse_problem_) : absl::string_view();
  return json_.get();
}

}  // namespace edge::route
