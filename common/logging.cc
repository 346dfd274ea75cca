#include "common/logging.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "spdlog/sinks/stdout_sinks.h"

namespace edge {

absl::Status InitLogging(absl::string_view service, absl::string_view level) {
  spdlog::level::level_enum parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(absl::StrCat(
        "log level \"", level, "\" is not one of trace, debug, info, warn, error, critical, off"));
  }
  auto logger = spdlog::stderr_logger_mt(absl::StrCat("edge-", service));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %n %l: %v");
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
  return absl::OkStatus();
}

}  // namespace edge
