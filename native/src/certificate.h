// The plane's DTLS identity: one ECDSA P-256 key and self-signed certificate, and its SHA-256
// fingerprint for the answer's a=fingerprint (RFC 8122).
#pragma once

#include <memory>
#include <string>

typedef struct x509_st X509;
typedef struct evp_pkey_st EVP_PKEY;

namespace echo {

class Certificate {
 public:
  static std::unique_ptr<Certificate> generate(std::string& error);
  ~Certificate();
  Certificate(const Certificate&) = delete;
  Certificate& operator=(const Certificate&) = delete;

  X509* x509() const { return x509_; }
  EVP_PKEY* key() const { return key_; }
  /** Upper-case hex pairs joined by colons, as SDP writes it. */
  const std::string& sha256Fingerprint() const { return fingerprint_; }

 private:
  Certificate() = default;
  X509* x509_ = nullptr;
  EVP_PKEY* key_ = nullptr;
  std::string fingerprint_;
};

/** Upper-case hex pairs joined by colons. */
std::string fingerprintText(const unsigned char* digest, size_t size);

}  // namespace echo
