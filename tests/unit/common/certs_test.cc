// The device CA and hub server certificate: what is written, with which modes, and that OpenSSL
// (the library and the `openssl` CLI) accepts the chain.
#include "common/certs.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "openssl/pem.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"

namespace edge {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct X509Deleter {
  void operator()(X509* p) const { X509_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

X509Ptr ReadCertificate(const std::filesystem::path& path) {
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return nullptr;
  X509Ptr cert(PEM_read_X509(file, nullptr, nullptr, nullptr));
  std::fclose(file);
  return cert;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

mode_t Mode(const std::filesystem::path& path) {
  struct stat st = {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Result of X509_verify_cert of `server` against `ca` only, for `purpose` (TLS server by default).
int VerifyAgainst(X509* ca, X509* server, std::string* error,
                  int purpose = X509_PURPOSE_SSL_SERVER) {
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), &X509_STORE_free);
  X509_STORE_add_cert(store.get(), ca);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      &X509_STORE_CTX_free);
  X509_STORE_CTX_init(ctx.get(), store.get(), server, nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  const int ok = X509_verify_cert(ctx.get());
  *error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
  return ok;
}

class CertsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "certs-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    dir_ = root_ / "certs";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  std::filesystem::path root_;
  std::filesystem::path dir_;
};

TEST_F(CertsTest, WritesFourFilesWithPrivateModes) {
  ASSERT_TRUE(CreateEdgeCertificates(dir_, "edge-gw.example", false).ok());
  EXPECT_TRUE(EdgeCertificatesPresent(dir_));
  EXPECT_EQ(Mode(dir_), 0750);
  EXPECT_EQ(Mode(CaKeyPath(dir_)), 0600);
  EXPECT_EQ(Mode(ServerKeyPath(dir_)), 0600);
  EXPECT_THAT(ReadFile(CaCertPath(dir_)), HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(ReadFile(ServerCertPath(dir_)), HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(ReadFile(CaKeyPath(dir_)), HasSubstr("BEGIN PRIVATE KEY"));
  EXPECT_FALSE(std::filesystem::exists(CaKeyPath(dir_).string() + ".tmp"));
}

TEST_F(CertsTest, ServerCertificateVerifiesAgainstTheCa) {
  ASSERT_TRUE(CreateEdgeCertificates(dir_, "edge-gw.example", false).ok());
  X509Ptr ca = ReadCertificate(CaCertPath(dir_));
  X509Ptr server = ReadCertificate(ServerCertPath(dir_));
  ASSERT_NE(ca, nullptr);
  ASSERT_NE(server, nullptr);
  std::string error;
  EXPECT_EQ(VerifyAgainst(ca.get(), server.get(), &error), 1) << error;
}

TEST_F(CertsTest, ServerCertificateDoesNotVerifyAgainstAnotherCa) {
  ASSERT_TRUE(CreateEdgeCertificates(dir_, "edge-gw.example", false).ok());
  const std::filesystem::path other = root_ / "other";
  ASSERT_TRUE(CreateEdgeCertificates(other, "edge-gw.example", false).ok());
  X509Ptr other_ca = ReadCertificate(CaCertPath(other));
  X509Ptr server = ReadCertificate(ServerCertPath(dir_));
  std::string error;
  EXPECT_NE(VerifyAgainst(other_ca.get(), server.get(), &error), 1);
}

TEST_F(CertsTest, ServerCertificateHasTheThreeSansAndIsNoCa) {
  ASSERT_TRUE(CreateEdgeCertificates(dir_, "edge-gw.example", false).ok());
  absl::StatusOr<std::vector<CertificateInfo>> certs = DescribeCertificates(dir_);
  ASSERT_TRUE(certs.ok()) << certs.status();
  ASSERT_EQ(certs->size(), 2u);
  const CertificateInfo& server = (*certs)[1];
  EXPECT_EQ(server.name, "server");
  EXPECT_THAT(server.sans, ElementsAre("DNS:localhost", "IP:127.0.0.1", "DNS:edge-gw.example"));
  EXPECT_EQ(server.subject, "CN=edge-gw.example");
  EXPECT_EQ(server.issuer, (*certs)[0].subject);
  EXPECT_FALSE(server.is_ca);

  X509Ptr cert = ReadCertificate(ServerCertPath(dir_));
  std::unique_ptr<BASIC_CONSTRAINTS, decltype(&BASIC_CONSTRAINTS_free)> bc(
      static_cast<BASIC_CONSTRAINTS*>(
          X509_get_ext_d2i(cert.get(), NID_basic_constraints, nullptr, nullptr)),
      &BASIC_CONSTRAINTS_free);
  ASSERT_NE(bc, nullptr);
  EXPECT_EQ(bc->ca, 0);
  EXPECT_EQ(X509_check_host(cert.get(), "edge-gw.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
}

TEST_F(CertsTest, CaIsACaThatMaySignCertificates) {
  ASSERT_TRUE(CreateEdgeCertificates(dir_, "localhost", false).ok());
  X509Ptr ca = ReadCertificate(CaCertPath(dir_));
  ASSERT_NE(ca, nullptr);
  std::unique_ptr<BASIC_CONSTRAINTS, decltype(&BASIC_CONSTRAINTS_free)> bc(
      static_cast<BASIC_CONSTRAINTS*>(
          X509_get_ext_d2i(ca.get(), NID_basic_constraints, nullptr, nullptr)),
      &BASIC_CONSTRAINTS_free);
  ASSERT_NE(bc, nullptr);
  EXPECT_NE(bc->ca, 0);
  EXPECT_NE(X509_get_key_usage(ca.get()) & KU_KEY_CERT_SIGN, 0u);
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
}

TEST_F(CertsTest, ValidityIsTenYearsForTheCaAndOneYearForTheServer) {
  ASSERT_TRUE(CreateEdgeCertificates(dir_, "localhost", false).ok());
  absl::StatusOr<std::vector<CertificateInfo>> certs = DescribeCertificates(dir_);
  ASSERT_TRUE(certs.ok()) << certs.status();
  EXPECT_EQ((*certs)[0].not_after - (*certs)[0].not_before, absl::Hours(24 * 3650));
  EXPECT_EQ((*certs)[1].not_after - (*certs)[1].not_before, absl::Hours(24 * 365));
}

TEST_F(CertsTest, SerialNumbersAreRandom) {
  ASSERT_TRUE(CreateEdgeCertificates(dir_, "localhost", false).ok());
  X509Ptr first = ReadCertificate(CaCertPath(dir_));
  ASSERT_TRUE(CreateEdgeCertificates(dir_, "localhost", true).ok());
  X509Ptr second = ReadCertificate(CaCertPath(dir_));
  EXPECT_NE(
      ASN1_INTEGER_cmp(X509_get0_serialNumber(first.get()), X509_get0_serialNumber(second.get())),
      0);
}

TEST_F(CertsTest, RefusesToOverwriteWithoutForce) {
  ASSERT_TRUE(CreateEdgeCertificates(dir_, "localhost", false).ok());
  const std::string before = ReadFile(CaCertPath(dir_));
  absl::Status again = CreateEdgeCertificates(dir_, "localhost", false);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(again.message()), HasSubstr("--force"));
  EXPECT_EQ(ReadFile(CaCertPath(dir_)), before);
}

TEST_F(CertsTest, RefusesWhenOnlyOneFileExists) {
  std::filesystem::create_directories(dir_);
  std::ofstream(ServerKeyPath(dir_)) << "mine";
  EXPECT_EQ(CreateEdgeCertificates(dir_, "localhost", false).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadFile(ServerKeyPath(dir_)), "mine");
  EXPECT_FALSE(std::filesystem::exists(CaCertPath(dir_)));
}

TEST_F(CertsTest, ForceReplacesTheCertificates) {
  ASSERT_TRUE(CreateEdgeCertificates(dir_, "localhost", false).ok());
  const std::string before = ReadFile(CaCertPath(dir_));
  ASSERT_TRUE(CreateEdgeCertificates(dir_, "localhost", true).ok());
  EXPECT_NE(ReadFile(CaCertPath(dir_)), before);
  EXPECT_EQ(Mode(CaKeyPath(dir_)), 0600);
}

TEST_F(CertsTest, AnIpHostnameIsAnIpSan) {
  ASSERT_TRUE(CreateEdgeCertificates(dir_, "192.168.1.20", false).ok());
  absl::StatusOr<std::vector<CertificateInfo>> certs = DescribeCertificates(dir_);
  ASSERT_TRUE(certs.ok()) << certs.status();
  EXPECT_THAT((*certs)[1].sans, ElementsAre("DNS:localhost", "IP:127.0.0.1", "IP:192.168.1.20"));
}

TEST_F(CertsTest, LocalhostIsNotListedTwice) {
  ASSERT_TRUE(CreateEdgeCertificates(dir_, "localhost", false).ok());
  absl::StatusOr<std::vector<CertificateInfo>> certs = DescribeCertificates(dir_);
  ASSERT_TRUE(certs.ok()) << certs.status();
  EXPECT_THAT((*certs)[1].sans, ElementsAre("DNS:localhost", "IP:127.0.0.1"));
}

TEST_F(CertsTest, RejectsAHostnameThatIsNeitherDnsNorIp) {
  EXPECT_EQ(CreateEdgeCertificates(dir_, "bad host,DNS:evil", false).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateEdgeCertificates(dir_, "", false).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir_));
}

TEST_F(CertsTest, DescribeSaysWhichFileIsMissing) {
  absl::StatusOr<std::vector<CertificateInfo>> certs = DescribeCertificates(dir_);
  EXPECT_EQ(certs.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(certs.status().message()), HasSubstr("ca.pem"));
}

TEST_F(CertsTest, DescribeRejectsAFileThatIsNoCertificate) {
  ASSERT_TRUE(CreateEdgeCertificates(dir_, "localhost", false).ok());
  std::ofstream(CaCertPath(dir_), std::ios::trunc) << "not a certificate";
  EXPECT_EQ(DescribeCertificates(dir_).status().code(), absl::StatusCode::kInternal);
}

TEST_F(CertsTest, ClientCertificateNamesTheDeviceAndVerifiesForClientAuthOnlyAgainstItsCa) {
  ASSERT_TRUE(CreateEdgeCertificates(dir_, "edge-gw.example", false).ok());
  const std::filesystem::path cert = root_ / "leaf.pem";
  const std::filesystem::path key = root_ / "leaf.key.pem";
  ASSERT_TRUE(CreateClientCertificate(dir_, "leaf-1", cert, key).ok());

  EXPECT_EQ(Mode(key), 0600);
  X509Ptr ca = ReadCertificate(CaCertPath(dir_));
  X509Ptr client = ReadCertificate(cert);
  ASSERT_NE(client, nullptr);
  char cn[128] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(client.get()), NID_commonName, cn, sizeof(cn));
  EXPECT_STREQ(cn, "leaf-1");
  std::string error;
  EXPECT_EQ(VerifyAgainst(ca.get(), client.get(), &error, X509_PURPOSE_SSL_CLIENT), 1) << error;
  EXPECT_NE(VerifyAgainst(ca.get(), client.get(), &error, X509_PURPOSE_SSL_SERVER), 1);
  const std::filesystem::path other = root_ / "other";
  ASSERT_TRUE(CreateEdgeCertificates(other, "edge-gw.example", false).ok());
  X509Ptr other_ca = ReadCertificate(CaCertPath(other));
  EXPECT_NE(VerifyAgainst(other_ca.get(), client.get(), &error, X509_PURPOSE_SSL_CLIENT), 1);
}

TEST_F(CertsTest, ClientCertificateNeedsTheCaAndASensibleName) {
  const std::filesystem::path cert = root_ / "leaf.pem";
  const std::filesystem::path key = root_ / "leaf.key.pem";
  EXPECT_EQ(CreateClientCertificate(dir_, "leaf-1", cert, key).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(CreateEdgeCertificates(dir_, "edge-gw.example", false).ok());
  EXPECT_EQ(CreateClientCertificate(dir_, "", cert, key).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateClientCertificate(dir_, std::string(65, 'x'), cert, key).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(cert));
}

TEST_F(CertsTest, TheOpensslCliVerifiesTheServerCertificate) {
  constexpr char kOpenssl[] = "/usr/bin/openssl";
  if (::access(kOpenssl, X_OK) != 0) GTEST_SKIP() << "no " << kOpenssl;
  ASSERT_TRUE(CreateEdgeCertificates(dir_, "edge-gw.example", false).ok());
  const std::string command = std::string(kOpenssl) + " verify -purpose sslserver -CAfile '" +
                              CaCertPath(dir_).string() + "' '" + ServerCertPath(dir_).string() +
                              "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[256];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  const int status = ::pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_THAT(output, HasSubstr(": OK"));
}

}  // namespace
}  // namespace edge
