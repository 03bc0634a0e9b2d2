// DTLS 1.2 over a socket we own (RFC 6347, RFC 5764 use_srtp, RFC 8842 roles): OpenSSL reads
// datagrams from a memory BIO and writes through a BIO of ours that hands each record to the
// session. The peer certificate must match the SDP's a=fingerprint, checked in the verify
// callback so that a mismatch fails the handshake with an alert.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "certificate.h"
#include "srtp_profile.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct bio_method_st BIO_METHOD;
typedef struct evp_md_st EVP_MD;

namespace echo {

/** What a plane's sessions share: the certificate, the SSL_CTX and our write BIO's method. */
class DtlsContext {
 public:
  static std::unique_ptr<DtlsContext> create(std::string& error);
  ~DtlsContext();
  DtlsContext(const DtlsContext&) = delete;
  DtlsContext& operator=(const DtlsContext&) = delete;

  SSL_CTX* ctx() const { return ctx_; }
  BIO_METHOD* writeMethod() const { return writeMethod_; }
  const Certificate& certificate() const { return *certificate_; }
  /** SSLKEYLOGFILE as it was when the context was made: where handshake keys go, or empty. */
  const std::string& keyLogPath() const { return keyLogPath_; }

 private:
  DtlsContext() = default;
  std::unique_ptr<Certificate> certificate_;
  std::string keyLogPath_;
  SSL_CTX* ctx_ = nullptr;
  BIO_METHOD* writeMethod_ = nullptr;
};

/** The SDP's a=fingerprint, parsed (RFC 8122 §5): a hash function and its digest. */
struct Fingerprint {
  const EVP_MD* digest = nullptr;
  std::vector<uint8_t> value;

  static bool parse(const std::string& algorithm, const std::string& value, Fingerprint& out, std::string& error);
};

class DtlsListener {
 public:
  virtual ~DtlsListener() = default;
  /** One datagram for the remote. */
  virtual void onDtlsSend(const uint8_t* data, size_t size) = 0;
  /** The keying material is RFC 5764 §4.2's: client key, server key, client salt, server salt. */
  virtual void onDtlsConnected(SrtpProfile profile, const uint8_t* material, size_t size) = 0;
  virtual void onDtlsFailed(const std::string& reason) = 0;
  virtual void onDtlsClosed() = 0;
  virtual void onDtlsData(const uint8_t* data, size_t size) = 0;
};

enum class DtlsRole : uint8_t { Client, Server };
enum class DtlsState : uint8_t { New, Connecting, Connected, Failed, Closed };

class DtlsTransport {
 public:
  DtlsTransport(DtlsContext& context, DtlsListener& listener, DtlsRole role);
  ~DtlsTransport();
  DtlsTransport(const DtlsTransport&) = delete;
  DtlsTransport& operator=(const DtlsTransport&) = delete;

  bool init(const Fingerprint& remote, const std::vector<SrtpProfile>& profiles, std::string& error);

  /** The client role sends its ClientHello; the server role waits for one. Once only. */
  void start();
  void receive(const uint8_t* data, size_t size);
  /** Records of application data (SCTP packets), in order: how many went out (stops at the first that did not). */
  size_t send(const std::vector<std::vector<uint8_t>>& records);
  /** Sends close_notify if connected; nothing more is sent or received after. */
  void close();

  /** Milliseconds until a retransmission is due, 0 if due now, -1 without a timer. */
  int64_t timeoutMs() const;
  void onTimeout();

  DtlsState state() const { return state_; }
  DtlsRole role() const { return role_; }

  // For OpenSSL's callbacks.
  int verifyPeer(int preverifyOk, void* store);
  void write(const uint8_t* data, size_t size) { listener_.onDtlsSend(data, size); }

 private:
  void handshake();
  void readApplicationData();
  void acquireBuffers();
  void releaseBuffers();
  void fail(const std::string& reason);
  std::string sslError(const char* fallback) const;

  DtlsContext& context_;
  DtlsListener& listener_;
  const DtlsRole role_;
  DtlsState state_ = DtlsState::New;
  SSL* ssl_ = nullptr;
  Fingerprint remote_;
  bool peerMatched_ = false;
  bool buffersReleased_ = false;
  std::string verifyError_;
};

}  // namespace echo
