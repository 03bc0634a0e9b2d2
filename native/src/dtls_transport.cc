#include "dtls_transport.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>

namespace echo {

namespace {

// Fits a datagram in the smallest path MTU WebRTC stacks assume (pion and libwebrtc use 1200).
constexpr long kDtlsMtu = 1200;
constexpr char kSrtpExporterLabel[] = "EXTRACTOR-dtls_srtp";
// ECDHE with AEAD first; CBC-SHA for old peers. ECDSA and RSA: our certificate is ECDSA, a
// server we connect to as client may hold RSA.
constexpr char kCipherList[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA";

int bioWrite(BIO* bio, const char* data, int size) {
  auto* transport = static_cast<DtlsTransport*>(BIO_get_data(bio));
  if (transport && size > 0) transport->write(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(size));
  return size;
}

long bioCtrl(BIO*, int command, long, void*) {
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;  // each record went out as it was written
    case BIO_CTRL_DGRAM_QUERY_MTU:
      return kDtlsMtu;
    default:
      return 0;
  }
}

int bioCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

int bioDestroy(BIO*) { return 1; }

int verifyCallback(int preverifyOk, X509_STORE_CTX* store) {
  SSL* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* transport = ssl ? static_cast<DtlsTransport*>(SSL_get_app_data(ssl)) : nullptr;
  return transport ? transport->verifyPeer(preverifyOk, store) : 0;
}

// `matrix --capture` sets SSLKEYLOGFILE for every peer it starts: each handshake's NSS key log
// line (OpenSSL formats it) is appended there, so tshark can decrypt the capture. Test evidence
// only: one open/write/close per handshake, on the data-plane thread, and a failed write is
// ignored. O_APPEND keeps each line whole beside other writers of the same file.
void appendKeyLogLine(const SSL* ssl, const char* line) {
  auto* context = static_cast<const DtlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (!context || context->keyLogPath().empty()) return;
  int fd = ::open(context->keyLogPath().c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  std::string text(line);
  text.push_back('\n');
  ssize_t written = ::write(fd, text.data(), text.size());
  (void)written;
  ::close(fd);
}

// The handshake's retransmission timer. OpenSSL starts at RFC 6347's 1 s; a WebRTC peer often
// drops our first flight without loss on the wire (pion's DTLS endpoint is attached to its ICE
// mux only after its ICE connected, a few goroutine hops later), and a second's wait is then the
// whole set-up. So: 100 ms first, doubled on each expiry, up to RFC 6347's 60 s ceiling.
unsigned int handshakeTimerUs(SSL*, unsigned int previousUs) {
  constexpr unsigned int kFirstUs = 100 * 1000;
  constexpr unsigned int kMaxUs = 60 * 1000 * 1000;
  if (previousUs == 0) return kFirstUs;
  return previousUs >= kMaxUs / 2 ? kMaxUs : previousUs * 2;
}

}  // namespace

// ---- DtlsContext -------------------------------------------------------------------------

DtlsContext::~DtlsContext() {
  SSL_CTX_free(ctx_);
  if (writeMethod_) BIO_meth_free(writeMethod_);
}

std::unique_ptr<DtlsContext> DtlsContext::create(std::string& error) {
  std::unique_ptr<DtlsContext> context(new DtlsContext());
  context->certificate_ = Certificate::generate(error);
  if (!context->certificate_) return nullptr;
  SSL_CTX* ctx = SSL_CTX_new(DTLS_method());
  context->ctx_ = ctx;
  if (!ctx) {
    error = "cannot create a DTLS context";
    return nullptr;
  }
  const Certificate& certificate = *context->certificate_;
  bool ok = SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) == 1 &&
            SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) == 1 &&
            SSL_CTX_use_certificate(ctx, certificate.x509()) == 1 &&
            SSL_CTX_use_PrivateKey(ctx, certificate.key()) == 1 && SSL_CTX_check_private_key(ctx) == 1 &&
            SSL_CTX_set_cipher_list(ctx, kCipherList) == 1 && SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") == 1;
  if (!ok) {
    error = "cannot configure the DTLS context";
    return nullptr;
  }
  // Our socket decides the MTU; no tickets or renegotiation on a DTLS-SRTP association.
  SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  // Both roles ask for the peer's certificate: self-signed, it is trusted by its fingerprint alone.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verifyCallback);
  const char* keyLog = std::getenv("SSLKEYLOGFILE");
  if (keyLog && *keyLog) {
    context->keyLogPath_ = keyLog;
    SSL_CTX_set_app_data(ctx, context.get());
    SSL_CTX_set_keylog_callback(ctx, appendKeyLogLine);
  }
  BIO_METHOD* method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "webrtc-echo DTLS out");
  context->writeMethod_ = method;
  if (!method || BIO_meth_set_write(method, bioWrite) != 1 || BIO_meth_set_ctrl(method, bioCtrl) != 1 ||
      BIO_meth_set_create(method, bioCreate) != 1 || BIO_meth_set_destroy(method, bioDestroy) != 1) {
    error = "cannot create the DTLS write BIO";
    return nullptr;
  }
  return context;
}

// ---- Fingerprint -------------------------------------------------------------------------

bool Fingerprint::parse(const std::string& algorithm, const std::string& value, Fingerprint& out, std::string& error) {
  std::string name;
  for (char c : algorithm) name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name == "sha-1") {
    out.digest = EVP_sha1();
  } else if (name == "sha-224") {
    out.digest = EVP_sha224();
  } else if (name == "sha-256") {
    out.digest = EVP_sha256();
  } else if (name == "sha-384") {
    out.digest = EVP_sha384();
  } else if (name == "sha-512") {
    out.digest = EVP_sha512();
  } else {
    error = "unsupported fingerprint algorithm: " + algorithm.substr(0, 32);
    return false;
  }
  out.value.clear();
  size_t i = 0;
  while (i < value.size()) {
    if (i + 2 > value.size() || !std::isxdigit(static_cast<unsigned char>(value[i])) ||
        !std::isxdigit(static_cast<unsigned char>(value[i + 1]))) {
      error = "malformed fingerprint";
      return false;
    }
    out.value.push_back(static_cast<uint8_t>(std::stoul(value.substr(i, 2), nullptr, 16)));
    i += 2;
    if (i < value.size()) {
      if (value[i] != ':') {
        error = "malformed fingerprint";
        return false;
      }
      i++;
      if (i == value.size()) {
        error = "malformed fingerprint";
        return false;
      }
    }
  }
  if (out.value.size() != static_cast<size_t>(EVP_MD_get_size(out.digest))) {
    error = "fingerprint length does not match " + name;
    return false;
  }
  return true;
}

// ---- DtlsTransport -----------------------------------------------------------------------

DtlsTransport::DtlsTransport(DtlsContext& context, DtlsListener& listener, DtlsRole role)
    : context_(context), listener_(listener), role_(role) {}

DtlsTransport::~DtlsTransport() {
  if (ssl_) SSL_free(ssl_);  // frees both BIOs
}

bool DtlsTransport::init(const Fingerprint& remote, const std::vector<SrtpProfile>& profiles, std::string& error) {
  remote_ = remote;
  ssl_ = SSL_new(context_.ctx());
  if (!ssl_) {
    error = "cannot create a DTLS session";
    return false;
  }
  SSL_set_app_data(ssl_, this);
  DTLS_set_timer_cb(ssl_, handshakeTimerUs);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(context_.writeMethod());
  if (!in || !out) {
    BIO_free(in);
    BIO_free(out);
    error = "cannot create DTLS BIOs";
    return false;
  }
  // An empty memory BIO means "no datagram yet" (retry), not end of file.
  BIO_set_mem_eof_return(in, -1);
  BIO_set_data(out, this);
  SSL_set_bio(ssl_, in, out);
  SSL_set_options(ssl_, SSL_OP_NO_QUERY_MTU);
  SSL_set_mtu(ssl_, kDtlsMtu);
  std::string list;
  for (SrtpProfile profile : profiles) {
    const SrtpProfileInfo* info = srtpProfileInfo(profile);
    if (!info) continue;
    if (!list.empty()) list += ':';
    list += info->name;
  }
  // Returns 0 on success (sic).
  if (!list.empty() && SSL_set_tlsext_use_srtp(ssl_, list.c_str()) != 0) {
    error = "cannot offer SRTP profiles " + list;
    return false;
  }
  if (role_ == DtlsRole::Client) {
    SSL_set_connect_state(ssl_);
  } else {
    SSL_set_accept_state(ssl_);
  }
  return true;
}

void DtlsTransport::start() {
  if (state_ != DtlsState::New) return;
  state_ = DtlsState::Connecting;
  if (role_ == DtlsRole::Client) handshake();
}

void DtlsTransport::receive(const uint8_t* data, size_t size) {
  if (!ssl_ || state_ == DtlsState::Failed || state_ == DtlsState::Closed || size == 0) return;
  // A server learns of its client from its first ClientHello, whether or not ICE selected yet.
  if (state_ == DtlsState::New) {
    if (role_ == DtlsRole::Client) return;  // nothing to read before our own ClientHello
    state_ = DtlsState::Connecting;
  }
  if (BIO_write(SSL_get_rbio(ssl_), data, static_cast<int>(size)) != static_cast<int>(size)) return;
  acquireBuffers();
  if (state_ == DtlsState::Connecting) {
    handshake();
  } else {
    readApplicationData();
  }
  // Whatever OpenSSL did not consume (a record it dropped) must not be read as the next datagram.
  (void)BIO_reset(SSL_get_rbio(ssl_));
  releaseBuffers();
}

// DTLS keeps a read and a write buffer (~33 KiB together) for the session's life: OpenSSL's
// SSL_MODE_RELEASE_BUFFERS does not apply to DTLS. Once connected a media session hardly uses
// them, so they are freed after each call into OpenSSL and allocated again before the next
// (before every call that may write: OpenSSL writes an alert or a retransmission into the write
// buffer without allocating it first).
void DtlsTransport::acquireBuffers() {
  if (!buffersReleased_) return;
  SSL_alloc_buffers(ssl_);
  buffersReleased_ = false;
}

void DtlsTransport::releaseBuffers() {
  if (state_ == DtlsState::Connected && SSL_free_buffers(ssl_) == 1) buffersReleased_ = true;
}

void DtlsTransport::handshake() {
  ERR_clear_error();
  const int result = SSL_do_handshake(ssl_);
  if (result == 1) {
    if (!peerMatched_) {
      fail("the peer certificate was not checked against the fingerprint");
      return;
    }
    const SRTP_PROTECTION_PROFILE* selected = SSL_get_selected_srtp_profile(ssl_);
    const SrtpProfileInfo* info = selected ? srtpProfileInfo(static_cast<SrtpProfile>(selected->id)) : nullptr;
    uint8_t material[2 * (16 + 14)] = {};
    size_t size = 0;
    if (info) {
      size = 2 * (info->keySize + info->saltSize);
      if (SSL_export_keying_material(ssl_, material, size, kSrtpExporterLabel, sizeof(kSrtpExporterLabel) - 1,
                                     nullptr, 0, 0) != 1) {
        fail("cannot export the SRTP keying material");
        return;
      }
    }
    state_ = DtlsState::Connected;
    listener_.onDtlsConnected(info ? info->profile : SrtpProfile::None, material, size);
    OPENSSL_cleanse(material, sizeof(material));
    // Application data may have come in the same flight.
    if (state_ == DtlsState::Connected) readApplicationData();
    return;
  }
  const int error = SSL_get_error(ssl_, result);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return;
  if (!verifyError_.empty()) {
    fail(verifyError_);
  } else if (error == SSL_ERROR_ZERO_RETURN) {
    fail("the peer closed during the handshake");
  } else {
    fail(sslError("handshake failed"));
  }
}

void DtlsTransport::readApplicationData() {
  uint8_t buffer[16384];
  while (state_ == DtlsState::Connected) {
    ERR_clear_error();
    const int read = SSL_read(ssl_, buffer, sizeof(buffer));
    if (read > 0) {
      listener_.onDtlsData(buffer, static_cast<size_t>(read));
      continue;
    }
    const int error = SSL_get_error(ssl_, read);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return;
    if (error == SSL_ERROR_ZERO_RETURN) {
      state_ = DtlsState::Closed;
      listener_.onDtlsClosed();
      return;
    }
    fail(sslError("DTLS read failed"));
    return;
  }
}

size_t DtlsTransport::send(const std::vector<std::vector<uint8_t>>& records) {
  if (state_ != DtlsState::Connected) return 0;
  // The buffers once for the batch, not once per record (~33 KiB allocated and freed each time).
  acquireBuffers();
  size_t sent = 0;
  for (const std::vector<uint8_t>& record : records) {
    if (record.empty() || record.size() > 16384) break;
    ERR_clear_error();
    if (SSL_write(ssl_, record.data(), static_cast<int>(record.size())) != static_cast<int>(record.size())) break;
    sent++;
  }
  releaseBuffers();
  return sent;
}

void DtlsTransport::close() {
  if (state_ == DtlsState::Connected) {
    ERR_clear_error();
    acquireBuffers();
    SSL_shutdown(ssl_);
  }
  if (state_ != DtlsState::Failed) state_ = DtlsState::Closed;
}

int64_t DtlsTransport::timeoutMs() const {
  if (!ssl_ || state_ == DtlsState::Failed || state_ == DtlsState::Closed) return -1;
  timeval remaining{};
  if (DTLSv1_get_timeout(ssl_, &remaining) != 1) return -1;
  return static_cast<int64_t>(remaining.tv_sec) * 1000 + (remaining.tv_usec + 999) / 1000;
}

void DtlsTransport::onTimeout() {
  if (!ssl_ || state_ == DtlsState::Failed || state_ == DtlsState::Closed) return;
  ERR_clear_error();
  acquireBuffers();
  if (DTLSv1_handle_timeout(ssl_) < 0) {
    fail(state_ == DtlsState::Connecting ? "DTLS handshake timed out" : "DTLS retransmission failed");
  }
  releaseBuffers();
}

int DtlsTransport::verifyPeer(int, void* opaqueStore) {
  auto* store = static_cast<X509_STORE_CTX*>(opaqueStore);
  // Only the leaf is pinned by the fingerprint; a chain above it is neither trusted nor needed.
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  X509* certificate = X509_STORE_CTX_get_current_cert(store);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (!certificate || !remote_.digest || X509_digest(certificate, remote_.digest, digest, &size) != 1 ||
      size != remote_.value.size() || CRYPTO_memcmp(digest, remote_.value.data(), size) != 0) {
    verifyError_ = "the peer certificate does not match the fingerprint";
    peerMatched_ = false;
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  peerMatched_ = true;
  return 1;
}

void DtlsTransport::fail(const std::string& reason) {
  if (state_ == DtlsState::Failed || state_ == DtlsState::Closed) return;
  state_ = DtlsState::Failed;
  listener_.onDtlsFailed(reason);
}

std::string DtlsTransport::sslError(const char* fallback) const {
  const unsigned long code = ERR_peek_last_error();
  if (code == 0) return fallback;
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return std::string(fallback) + ": " + text;
}

}  // namespace echo
