#include "common/certs.h"

#include <arpa/inet.h>

#include <ctime>
#include <memory>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/edge_home.h"
#include "common/status_macros.h"
#include "openssl/bio.h"
#include "openssl/bn.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"

namespace edge {
namespace {

constexpr long kCaValidDays = 3650;     // 10 years
constexpr long kServerValidDays = 365;  // 1 year
constexpr int kSerialBits = 159;        // RFC 5280: at most 20 octets, positive
constexpr char kCaCommonName[] = "edge-device-ca";

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Deleter {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioDeleter {
  void operator()(BIO* p) const { BIO_free_all(p); }
};
struct BignumDeleter {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct GeneralNamesDeleter {
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};
struct ExtensionDeleter {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using BignumPtr = std::unique_ptr<BIGNUM, BignumDeleter>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, ExtensionDeleter>;

// INTERNAL naming what failed and OpenSSL's most recent error; clears OpenSSL's error queue so the
// next failure is not reported with this one's reason.
absl::Status OpenSslError(absl::string_view what) {
  const unsigned long code = ERR_peek_last_error();
  char reason[256] = "unknown OpenSSL error";
  if (code != 0) ERR_error_string_n(code, reason, sizeof(reason));
  ERR_clear_error();
  return absl::InternalError(absl::StrCat(what, ": ", reason));
}

bool IsIpAddress(absl::string_view host, unsigned char* buf = nullptr) {
  unsigned char scratch[16];
  if (buf == nullptr) buf = scratch;
  const std::string s(host);
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool IsDnsName(absl::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') {
      return false;
    }
  }
  return true;
}

absl::StatusOr<PkeyPtr> GenerateKey() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) return OpenSslError("generating an EC P-256 key");
  return key;
}

absl::Status SetRandomSerial(X509* cert) {
  BignumPtr serial(BN_new());
  if (serial == nullptr ||
      !BN_rand(serial.get(), kSerialBits, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
    return OpenSslError("choosing a random serial number");
  }
  return absl::OkStatus();
}

// Adds the extension `value` (OpenSSL config syntax) with `issuer` as the signer.
absl::Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (ext == nullptr || !X509_add_ext(cert, ext.get(), -1)) {
    return OpenSslError(absl::StrCat("adding the extension ", OBJ_nid2sn(nid), "=", value));
  }
  return absl::OkStatus();
}

absl::Status AddDnsName(GENERAL_NAMES* names, absl::string_view dns) {
  GENERAL_NAME* name = GENERAL_NAME_new();
  ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
  if (name == nullptr || ia5 == nullptr ||
      !ASN1_STRING_set(ia5, dns.data(), static_cast<int>(dns.size()))) {
    GENERAL_NAME_free(name);
    ASN1_IA5STRING_free(ia5);
    return OpenSslError("building a DNS subject alternative name");
  }
  GENERAL_NAME_set0_value(name, GEN_DNS, ia5);
  if (!sk_GENERAL_NAME_push(names, name)) {
    GENERAL_NAME_free(name);
    return OpenSslError("building the subject alternative names");
  }
  return absl::OkStatus();
}

absl::Status AddIpAddress(GENERAL_NAMES* names, absl::string_view ip) {
  GENERAL_NAME* name =
      a2i_GENERAL_NAME(nullptr, nullptr, nullptr, GEN_IPADD, std::string(ip).c_str(), 0);
  if (name == nullptr || !sk_GENERAL_NAME_push(names, name)) {
    GENERAL_NAME_free(name);
    return OpenSslError(absl::StrCat("building the IP subject alternative name ", ip));
  }
  return absl::OkStatus();
}

// DNS:localhost, IP:127.0.0.1 and `hostname` (as DNS or IP), without duplicates. Built as
// GENERAL_NAMEs rather than a config string so a hostname cannot smuggle in other names.
absl::Status AddSubjectAltNames(X509* cert, absl::string_view hostname) {
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (names == nullptr) return OpenSslError("building the subject alternative names");
  RETURN_IF_ERROR(AddDnsName(names.get(), "localhost"));
  RETURN_IF_ERROR(AddIpAddress(names.get(), "127.0.0.1"));
  if (IsIpAddress(hostname)) {
    if (hostname != "127.0.0.1") RETURN_IF_ERROR(AddIpAddress(names.get(), hostname));
  } else if (!absl::EqualsIgnoreCase(hostname, "localhost")) {
    RETURN_IF_ERROR(AddDnsName(names.get(), hostname));
  }
  if (!X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT)) {
    return OpenSslError("adding the subject alternative names");
  }
  return absl::OkStatus();
}

// A certificate for `key` named CN=`common_name`, valid from now for `days`, with the extensions
// still to add. `issuer` null means self-signed.
absl::StatusOr<X509Ptr> NewCertificate(EVP_PKEY* key, absl::string_view common_name, long days,
                                       X509* issuer) {
  X509Ptr cert(X509_new());
  if (cert == nullptr || !X509_set_version(cert.get(), X509_VERSION_3)) {
    return OpenSslError("creating a certificate");
  }
  RETURN_IF_ERROR(SetRandomSerial(cert.get()));
  X509_NAME* subject = X509_get_subject_name(cert.get());
  const std::string cn(common_name);
  if (!X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) ||
      !X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : subject) ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(days), 0, nullptr) ==
          nullptr ||
      !X509_set_pubkey(cert.get(), key)) {
    return OpenSslError(absl::StrCat("filling in the certificate for ", common_name));
  }
  return cert;
}

absl::StatusOr<std::string> BioContents(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size < 0) return OpenSslError("reading a memory buffer");
  return std::string(data, static_cast<size_t>(size));
}

absl::StatusOr<std::string> CertificatePem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || !PEM_write_bio_X509(bio.get(), cert)) {
    return OpenSslError("encoding a certificate as PEM");
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> PrivateKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      !PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) {
    return OpenSslError("encoding a private key as PEM");
  }
  return BioContents(bio.get());
}

std::string NameText(X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "";
  absl::StatusOr<std::string> text = BioContents(bio.get());
  return text.ok() ? *text : "";
}

std::vector<std::string> SubjectAltNames(X509* cert) {
  std::vector<std::string> sans;
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (names == nullptr) return sans;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      const ASN1_IA5STRING* dns = name->d.dNSName;
      sans.push_back(absl::StrCat(
          "DNS:", absl::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                    static_cast<size_t>(ASN1_STRING_length(dns)))));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = "";
      const int length = ASN1_STRING_length(ip);
      const int family = length == 4 ? AF_INET : length == 16 ? AF_INET6 : AF_UNSPEC;
      if (family != AF_UNSPEC &&
          ::inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof(text)) != nullptr) {
        sans.push_back(absl::StrCat("IP:", text));
      }
    }
  }
  return sans;
}

absl::StatusOr<absl::Time> ToTime(const ASN1_TIME* time) {
  struct tm tm = {};
  if (!ASN1_TIME_to_tm(time, &tm)) return OpenSslError("reading a certificate's validity");
  return absl::FromTimeT(::timegm(&tm));
}

// NOT_FOUND when `path` does not exist; INTERNAL when OpenSSL cannot read it.
absl::StatusOr<BioPtr> OpenPem(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(
        absl::StrCat(path.string(), " does not exist (create it with `edgectl certs init`)"));
  }
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (bio == nullptr) return OpenSslError(absl::StrCat("cannot open ", path.string()));
  return bio;
}

absl::StatusOr<X509Ptr> ReadCertificate(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(BioPtr bio, OpenPem(path));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return OpenSslError(absl::StrCat(path.string(), " is not a PEM certificate"));
  }
  return cert;
}

absl::StatusOr<PkeyPtr> ReadPrivateKey(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(BioPtr bio, OpenPem(path));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) return OpenSslError(absl::StrCat(path.string(), " is not a PEM private key"));
  return key;
}

absl::StatusOr<CertificateInfo> Describe(absl::string_view name, const std::filesystem::path& path,
                                         const std::filesystem::path& key_path) {
  ASSIGN_OR_RETURN(X509Ptr cert, ReadCertificate(path));
  CertificateInfo info;
  info.name = std::string(name);
  info.path = path;
  info.key_path = key_path;
  info.subject = NameText(X509_get_subject_name(cert.get()));
  info.issuer = NameText(X509_get_issuer_name(cert.get()));
  info.sans = SubjectAltNames(cert.get());
  info.is_ca = X509_check_ca(cert.get()) == 1;
  ASSIGN_OR_RETURN(info.not_before, ToTime(X509_get0_notBefore(cert.get())));
  ASSIGN_OR_RETURN(info.not_after, ToTime(X509_get0_notAfter(cert.get())));
  return info;
}

}  // namespace

bool EdgeCertificatesPresent(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const std::filesystem::path& p :
       {CaCertPath(dir), CaKeyPath(dir), ServerCertPath(dir), ServerKeyPath(dir)}) {
    if (!std::filesystem::exists(p, ec)) return false;
  }
  return true;
}

absl::Status CreateEdgeCertificates(const std::filesystem::path& dir, absl::string_view hostname,
                                    bool force) {
  if (!IsIpAddress(hostname) && !IsDnsName(hostname)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the hostname \"", hostname,
                     "\" is neither a DNS name nor an IP address ([device] hostname)"));
  }
  if (!force) {
    std::error_code ec;
    for (const std::filesystem::path& p :
         {CaCertPath(dir), CaKeyPath(dir), ServerCertPath(dir), ServerKeyPath(dir)}) {
      if (std::filesystem::exists(p, ec)) {
        return absl::AlreadyExistsError(
            absl::StrCat(p.string(), " already exists; pass --force to replace the certificates"));
      }
    }
  }
  ERR_clear_error();

  ASSIGN_OR_RETURN(PkeyPtr ca_key, GenerateKey());
  ASSIGN_OR_RETURN(X509Ptr ca, NewCertificate(ca_key.get(), kCaCommonName, kCaValidDays, nullptr));
  RETURN_IF_ERROR(AddExtension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE"));
  RETURN_IF_ERROR(AddExtension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  RETURN_IF_ERROR(AddExtension(ca.get(), ca.get(), NID_subject_key_identifier, "hash"));
  if (!X509_sign(ca.get(), ca_key.get(), EVP_sha256())) return OpenSslError("signing the CA");

  ASSIGN_OR_RETURN(PkeyPtr server_key, GenerateKey());
  ASSIGN_OR_RETURN(X509Ptr server,
                   NewCertificate(server_key.get(), hostname, kServerValidDays, ca.get()));
  RETURN_IF_ERROR(AddExtension(server.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE"));
  RETURN_IF_ERROR(AddExtension(server.get(), ca.get(), NID_key_usage, "critical,digitalSignature"));
  RETURN_IF_ERROR(AddExtension(server.get(), ca.get(), NID_ext_key_usage, "serverAuth"));
  RETURN_IF_ERROR(AddExtension(server.get(), ca.get(), NID_subject_key_identifier, "hash"));
  RETURN_IF_ERROR(
      AddExtension(server.get(), ca.get(), NID_authority_key_identifier, "keyid:always"));
  RETURN_IF_ERROR(AddSubjectAltNames(server.get(), hostname));
  if (!X509_sign(server.get(), ca_key.get(), EVP_sha256())) {
    return OpenSslError("signing the server certificate");
  }

  ASSIGN_OR_RETURN(std::string ca_pem, CertificatePem(ca.get()));
  ASSIGN_OR_RETURN(std::string ca_key_pem, PrivateKeyPem(ca_key.get()));
  ASSIGN_OR_RETURN(std::string server_pem, CertificatePem(server.get()));
  ASSIGN_OR_RETURN(std::string server_key_pem, PrivateKeyPem(server_key.get()));

  RETURN_IF_ERROR(EnsureDirectory(dir, 0750));
  // Keys first: a certificate on disk always has its key next to it.
  RETURN_IF_ERROR(WriteFileAtomically(CaKeyPath(dir), ca_key_pem, 0600));
  RETURN_IF_ERROR(WriteFileAtomically(CaCertPath(dir), ca_pem, 0644));
  RETURN_IF_ERROR(WriteFileAtomically(ServerKeyPath(dir), server_key_pem, 0600));
  RETURN_IF_ERROR(WriteFileAtomically(ServerCertPath(dir), server_pem, 0644));
  return absl::OkStatus();
}

absl::Status CreateClientCertificate(const std::filesystem::path& ca_dir,
                                     absl::string_view common_name,
                                     const std::filesystem::path& cert_path,
                                     const std::filesystem::path& key_path, int days) {
  if (common_name.empty() || common_name.size() > 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a certificate's common name must be 1-64 characters, not \"", common_name, "\""));
  }
  if (days < 1) return absl::InvalidArgumentError("a certificate must be valid for at least a day");
  ERR_clear_error();
  ASSIGN_OR_RETURN(X509Ptr ca, ReadCertificate(CaCertPath(ca_dir)));
  ASSIGN_OR_RETURN(PkeyPtr ca_key, ReadPrivateKey(CaKeyPath(ca_dir)));
  ASSIGN_OR_RETURN(PkeyPtr key, GenerateKey());
  ASSIGN_OR_RETURN(X509Ptr cert, NewCertificate(key.get(), common_name, days, ca.get()));
  RETURN_IF_ERROR(AddExtension(cert.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE"));
  RETURN_IF_ERROR(AddExtension(cert.get(), ca.get(), NID_key_usage, "critical,digitalSignature"));
  RETURN_IF_ERROR(AddExtension(cert.get(), ca.get(), NID_ext_key_usage, "clientAuth"));
  RETURN_IF_ERROR(AddExtension(cert.get(), ca.get(), NID_authority_key_identifier, "keyid:always"));
  if (!X509_sign(cert.get(), ca_key.get(), EVP_sha256())) {
    return OpenSslError(absl::StrCat("signing the certificate for ", common_name));
  }
  ASSIGN_OR_RETURN(std::string cert_pem, CertificatePem(cert.get()));
  ASSIGN_OR_RETURN(std::string key_pem, PrivateKeyPem(key.get()));
  RETURN_IF_ERROR(WriteFileAtomically(key_path, key_pem, 0600));
  return WriteFileAtomically(cert_path, cert_pem, 0644);
}

absl::StatusOr<std::vector<CertificateInfo>> DescribeCertificates(
    const std::filesystem::path& dir) {
  std::vector<CertificateInfo> all;
  ASSIGN_OR_RETURN(CertificateInfo ca, Describe("ca", CaCertPath(dir), CaKeyPath(dir)));
  all.push_back(std::move(ca));
  ASSIGN_OR_RETURN(CertificateInfo server,
                   Describe("server", ServerCertPath(dir), ServerKeyPath(dir)));
  all.push_back(std::move(server));
  return all;
}

}  // namespace edge
