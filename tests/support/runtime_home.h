// An EDGE_HOME for a test that runs the whole runtime (`edgectl up`, `make demo`): a new short
// directory under /tmp (the store's unix socket goes under it, and such paths are limited to 107
// bytes) whose config.toml keeps the hub's TLS listeners on loopback ports of their own — they
// default to 8883 and 8884 on every interface — so that tests run side by side. The caller removes
// it.
//
// Example:
//   RuntimeHome home = MakeRuntimeHome("edgectl");
//   ASSERT_FALSE(home.path.empty());
//   Run({"edgectl", "--edge-home", home.path.string(), "up"});
#ifndef EDGE_TESTS_SUPPORT_RUNTIME_HOME_H_
#define EDGE_TESTS_SUPPORT_RUNTIME_HOME_H_

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/free_port.h"

namespace edge::testing {

struct RuntimeHome {
  std::filesystem::path path;  // empty when it could not be made
  int sas_port = 0;
  int x509_port = 0;  // 0: the X.509 listener is off
};

// /tmp/<prefix>-XXXXXX with its config.toml; `x509` false turns the X.509 listener off.
inline RuntimeHome MakeRuntimeHome(const std::string& prefix, bool x509 = true) {
  std::string pattern = "/tmp/" + prefix + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) return {};
  RuntimeHome home{
      .path = pattern, .sas_port = FreeLoopbackPort(), .x509_port = x509 ? FreeLoopbackPort() : 0};
  std::ofstream(home.path / "config.toml")
      << "[hub]\nbind_address = \"127.0.0.1\"\nsas_port = " << home.sas_port
      << "\nx509_port = " << home.x509_port << "\n";
  return home;
}

}  // namespace edge::testing

#endif  // EDGE_TESTS_SUPPORT_RUNTIME_HOME_H_
