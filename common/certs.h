// The device's own PKI: a device CA and the hub's TLS server certificate it signs, kept as PEM
// files under `$EDGE_HOME/certs/`. `edgectl certs init` (and `edgectl up`, when they are absent)
// creates them; `edgectl certs show` describes them.
//
//   certs/ (0750)  ca.pem  ca.key.pem (0600)  server.pem  server.key.pem (0600)
//
// Keys are EC P-256; the CA is valid 10 years, the server certificate 1 year; serials are random.
// The server certificate names DNS:localhost, IP:127.0.0.1 and the configured [device] hostname
// (as an IP SAN when it is an IP address).
//
// Example:
//   RETURN_IF_ERROR(CreateEdgeCertificates(CertsDir(home), device.hostname, /*force=*/false));
//   ASSIGN_OR_RETURN(std::vector<CertificateInfo> certs, DescribeCertificates(CertsDir(home)));
#ifndef EDGE_COMMON_CERTS_H_
#define EDGE_COMMON_CERTS_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace edge {

inline std::filesystem::path CertsDir(const std::filesystem::path& home) { return home / "certs"; }
inline std::filesystem::path CaCertPath(const std::filesystem::path& dir) { return dir / "ca.pem"; }
inline std::filesystem::path CaKeyPath(const std::filesystem::path& dir) {
  return dir / "ca.key.pem";
}
inline std::filesystem::path ServerCertPath(const std::filesystem::path& dir) {
  return dir / "server.pem";
}
inline std::filesystem::path ServerKeyPath(const std::filesystem::path& dir) {
  return dir / "server.key.pem";
}

// True when all four files exist in `dir`.
bool EdgeCertificatesPresent(const std::filesystem::path& dir);

// Creates `dir` (mode 0750) and writes a new device CA and a server certificate signed by it.
// Each file is written atomically; keys get mode 0600.
//   INVALID_ARGUMENT  `hostname` is empty or neither a DNS name nor an IP address
//   ALREADY_EXISTS    one of the files exists and `force` is false (nothing is written)
//   INTERNAL          OpenSSL or the file system failed (the message has OpenSSL's error string)
absl::Status CreateEdgeCertificates(const std::filesystem::path& dir, absl::string_view hostname,
                                    bool force);

// Issues a client certificate for an X.509 device (CN = `common_name`, the device id), signed by
// the CA in `ca_dir`, EC P-256, valid `days`, extended key usage clientAuth; writes the key (0600)
// and the certificate as PEM.
//   INVALID_ARGUMENT  `common_name` empty or longer than 64 characters, `days` < 1
//   NOT_FOUND         the CA certificate or key is missing
//   INTERNAL          OpenSSL or the file system failed
absl::Status CreateClientCertificate(const std::filesystem::path& ca_dir,
                                     absl::string_view common_name,
                                     const std::filesystem::path& cert_path,
                                     const std::filesystem::path& key_path, int days = 365);

// What `edgectl certs show` prints about one certificate.
struct CertificateInfo {
  std::string name;  // "ca" or "server"
  std::filesystem::path path;
  std::filesystem::path key_path;
  std::string subject;            // RFC 2253, e.g. "CN=edge-device-ca"
  std::string issuer;             // RFC 2253
  std::vector<std::string> sans;  // "DNS:localhost", "IP:127.0.0.1"
  bool is_ca = false;
  absl::Time not_before;
  absl::Time not_after;
};

// The CA and server certificates in `dir`, in that order.
//   NOT_FOUND  a certificate file is missing (the message names it)
//   INTERNAL   a file is not a PEM certificate OpenSSL can read
absl::StatusOr<std::vector<CertificateInfo>> DescribeCertificates(const std::filesystem::path& dir);

}  // namespace edge

#endif  // EDGE_COMMON_CERTS_H_
