#include "certificate.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

namespace echo {

std::string fingerprintText(const unsigned char* digest, size_t size) {
  static const char digits[] = "0123456789ABCDEF";
  std::string text;
  text.reserve(size * 3);
  for (size_t i = 0; i < size; i++) {
    if (i > 0) text += ':';
    text += digits[digest[i] >> 4];
    text += digits[digest[i] & 15];
  }
  return text;
}

Certificate::~Certificate() {
  X509_free(x509_);
  EVP_PKEY_free(key_);
}

std::unique_ptr<Certificate> Certificate::generate(std::string& error) {
  std::unique_ptr<Certificate> certificate(new Certificate());
  certificate->key_ = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  certificate->x509_ = X509_new();
  X509* x509 = certificate->x509_;
  if (!certificate->key_ || !x509) {
    error = "cannot generate an ECDSA P-256 key";
    return nullptr;
  }
  uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof(serial));
  X509_NAME* name = X509_get_subject_name(x509);
  bool ok = X509_set_version(x509, 2) == 1 &&
            ASN1_INTEGER_set_uint64(X509_get_serialNumber(x509), serial >> 1) == 1 &&
            // A day back for clocks that lag; a year ahead: a plane lives as long as its process.
            X509_gmtime_adj(X509_getm_notBefore(x509), -24 * 3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(x509), 365L * 24 * 3600) != nullptr &&
            X509_set_pubkey(x509, certificate->key_) == 1 &&
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>("webrtc-echo"), -1, -1, 0) == 1 &&
            X509_set_issuer_name(x509, name) == 1 && X509_sign(x509, certificate->key_, EVP_sha256()) > 0;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  ok = ok && X509_digest(x509, EVP_sha256(), digest, &size) == 1;
  if (!ok) {
    error = "cannot sign the DTLS certificate";
    return nullptr;
  }
  certificate->fingerprint_ = fingerprintText(digest, size);
  return certificate;
}

}  // namespace echo
