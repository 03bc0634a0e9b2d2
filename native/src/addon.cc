// The N-API face of the data plane (src/engines/native/plane.ts is its contract). Nothing
// throws across this boundary: bad arguments give an error string or false. Events reach
// JavaScript in batches through one thread-safe function per plane.
#include <napi.h>
#include <openssl/crypto.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "crc32c.h"
#include "io_config.h"
#include "plane.h"

namespace {

using echo::Endpoint;
using echo::Plane;
using echo::PlaneEvent;

constexpr char kAddonVersion[] = "0.1.0";

// ---- argument helpers ------------------------------------------------------------------------

bool readInt(const Napi::Value& value, int64_t min, int64_t max, int64_t& out) {
  if (!value.IsNumber()) return false;
  const double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= static_cast<double>(min) && number <= static_cast<double>(max))) return false;
  if (number != static_cast<double>(static_cast<int64_t>(number))) return false;
  out = static_cast<int64_t>(number);
  return true;
}

bool readString(const Napi::Value& value, size_t maxSize, std::string& out) {
  if (!value.IsString()) return false;
  out = value.As<Napi::String>().Utf8Value();
  return out.size() <= maxSize;
}

bool readEndpoint(const Napi::Value& value, Endpoint& out) {
  if (!value.IsObject()) return false;
  const Napi::Object object = value.As<Napi::Object>();
  std::string address;
  int64_t port = 0;
  return readString(object.Get("address"), 255, address) && readInt(object.Get("port"), 0, 65535, port) &&
         echo::endpointFromText(address, static_cast<int>(port), out);
}

/** An optional local address (text, no port): absent, undefined or '' leave `out` invalid. */
bool readOptionalAddress(const Napi::CallbackInfo& info, size_t index, Endpoint& out) {
  out = Endpoint();
  if (info.Length() <= index || info[index].IsUndefined()) return true;
  std::string address;
  if (!readString(info[index], 255, address)) return false;
  return address.empty() || echo::endpointFromText(address, 0, out);
}

bool readBytes(const Napi::Value& value, std::vector<uint8_t>& out) {
  if (!value.IsTypedArray()) return false;
  const Napi::TypedArray array = value.As<Napi::TypedArray>();
  if (array.TypedArrayType() != napi_uint8_array) return false;
  const Napi::Uint8Array bytes = value.As<Napi::Uint8Array>();
  out.assign(bytes.Data(), bytes.Data() + bytes.ByteLength());
  return true;
}

Napi::Object endpointObject(Napi::Env env, const Endpoint& endpoint) {  // for return values
  Napi::Object object = Napi::Object::New(env);
  object.Set("address", echo::endpointAddressText(endpoint));
  object.Set("port", endpoint.port);
  return object;
}

/** PlaneIceCredentials' optional `remotePwd`, `tieBreaker` and `checkPriorities`. */
bool readTriggeredChecks(const Napi::Object& ice, echo::TriggeredCheckConfig& out, std::string& error) {
  const Napi::Value password = ice.Get("remotePwd");
  if (password.IsUndefined()) return true;
  const Napi::Value tieBreaker = ice.Get("tieBreaker");
  const Napi::Value priorities = ice.Get("checkPriorities");
  bool lossless = false;
  if (!readString(password, 256, out.remotePwd) || out.remotePwd.empty() || !tieBreaker.IsBigInt() ||
      !priorities.IsArray() || priorities.As<Napi::Array>().Length() > 64) {
    error = "ice.remotePwd needs ice.tieBreaker (a bigint) and ice.checkPriorities (at most 64)";
    return false;
  }
  out.tieBreaker = tieBreaker.As<Napi::BigInt>().Uint64Value(&lossless);
  const Napi::Array list = priorities.As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); i++) {
    const Napi::Value item = list.Get(i);
    echo::CheckPriority priority;
    std::string address;
    int64_t value = 0;
    if (!lossless || !item.IsObject() || !readString(item.As<Napi::Object>().Get("address"), 255, address) ||
        !echo::endpointFromText(address, 0, priority.address) ||
        !readInt(item.As<Napi::Object>().Get("priority"), 0, UINT32_MAX, value)) {
      error = "ice.tieBreaker must fit 64 bits, ice.checkPriorities be { address, priority }";
      return false;
    }
    priority.priority = static_cast<uint32_t>(value);
    out.priorities.push_back(priority);
  }
  return true;
}

/** Parses CreateSessionOptions; false with `error` for anything out of shape. */
bool readSessionOptions(const Napi::Value& value, echo::SessionOptions& options, std::string& error) {
  if (!value.IsObject()) {
    error = "options must be an object";
    return false;
  }
  const Napi::Object object = value.As<Napi::Object>();
  int64_t number = 0;
  if (!readInt(object.Get("socket"), 1, INT32_MAX, number)) {
    error = "socket must be a socket id";
    return false;
  }
  options.socket = static_cast<int>(number);
  std::string text;
  if (!readString(object.Get("dtlsRole"), 16, text) || (text != "client" && text != "server")) {
    error = "dtlsRole must be 'client' or 'server'";
    return false;
  }
  options.role = text == "client" ? echo::DtlsRole::Client : echo::DtlsRole::Server;
  const Napi::Value ice = object.Get("ice");
  if (!ice.IsUndefined()) {
    // RFC 8445 §5.3: ufrag 4-256 characters, pwd 22-256 (of ice-char; we only need bytes).
    const Napi::Object credentials = ice.IsObject() ? ice.As<Napi::Object>() : Napi::Object();
    if (!ice.IsObject() || !readString(credentials.Get("localUfrag"), 256, options.ice.localUfrag) ||
        !readString(credentials.Get("localPwd"), 256, options.ice.localPwd) ||
        !readString(credentials.Get("remoteUfrag"), 256, options.ice.remoteUfrag) || options.ice.empty() ||
        options.ice.localUfrag.find(':') != std::string::npos) {
      error = "ice must be { localUfrag, localPwd, remoteUfrag }, non-empty strings of at most 256 bytes";
      return false;
    }
    if (!readTriggeredChecks(credentials, options.checks, error)) return false;
  }
  const Napi::Value fingerprint = object.Get("remoteFingerprint");
  std::string algorithm, digest;
  if (!fingerprint.IsObject() || !readString(fingerprint.As<Napi::Object>().Get("algorithm"), 32, algorithm) ||
      !readString(fingerprint.As<Napi::Object>().Get("value"), 256, digest)) {
    error = "remoteFingerprint must be { algorithm, value }";
    return false;
  }
  if (!echo::Fingerprint::parse(algorithm, digest, options.remoteFingerprint, error)) return false;
  const Napi::Value profiles = object.Get("srtpProfiles");
  if (!profiles.IsArray()) {
    error = "srtpProfiles must be an array";
    return false;
  }
  const Napi::Array profileArray = profiles.As<Napi::Array>();
  for (uint32_t i = 0; i < profileArray.Length() && i < 8; i++) {
    const echo::SrtpProfileInfo* info = nullptr;
    if (readString(profileArray.Get(i), 64, text)) info = echo::srtpProfileByName(text);
    if (!info) {
      error = "unknown SRTP profile";
      return false;
    }
    options.profiles.push_back(info->profile);
  }
  const Napi::Value sections = object.Get("sections");
  if (!sections.IsArray() || sections.As<Napi::Array>().Length() > 64) {
    error = "sections must be an array of at most 64";
    return false;
  }
  const Napi::Array sectionArray = sections.As<Napi::Array>();
  for (uint32_t i = 0; i < sectionArray.Length(); i++) {
    const Napi::Value entry = sectionArray.Get(i);
    if (!entry.IsObject()) {
      error = "a section must be an object";
      return false;
    }
    const Napi::Object section = entry.As<Napi::Object>();
    echo::EchoSectionConfig config;
    if (!readString(section.Get("mid"), 255, config.mid) || config.mid.empty()) {
      error = "a section needs a mid of 1-255 bytes";
      return false;
    }
    if (!readInt(section.Get("echoSsrc"), 0, UINT32_MAX, number)) {
      error = "echoSsrc must be a 32-bit unsigned integer";
      return false;
    }
    config.echoSsrc = static_cast<uint32_t>(number);
    if (!readInt(section.Get("midExtensionId"), 0, 255, number)) {
      error = "a section's midExtensionId must be 0-255";
      return false;
    }
    config.midExtensionId = static_cast<uint8_t>(number);
    const Napi::Value echoes = section.Get("echo");
    if (!echoes.IsUndefined() && !echoes.IsBoolean()) {
      error = "a section's echo must be a boolean";
      return false;
    }
    config.echo = echoes.IsUndefined() || echoes.As<Napi::Boolean>().Value();
    const Napi::Value types = section.Get("payloadTypes");
    const Napi::Value ssrcs = section.Get("offeredSsrcs");
    if (!types.IsArray() || !ssrcs.IsArray() || ssrcs.As<Napi::Array>().Length() > 64) {
      error = "payloadTypes and offeredSsrcs must be arrays";
      return false;
    }
    const Napi::Array typeArray = types.As<Napi::Array>();
    for (uint32_t t = 0; t < typeArray.Length() && t < 128; t++) {
      if (!readInt(typeArray.Get(t), 0, 127, number)) {
        error = "payload types are 0-127";
        return false;
      }
      config.payloadTypes.set(static_cast<size_t>(number));
    }
    const Napi::Array ssrcArray = ssrcs.As<Napi::Array>();
    for (uint32_t s = 0; s < ssrcArray.Length(); s++) {
      if (!readInt(ssrcArray.Get(s), 0, UINT32_MAX, number)) {
        error = "offeredSsrcs are 32-bit unsigned integers";
        return false;
      }
      config.offeredSsrcs.push_back(static_cast<uint32_t>(number));
    }
    options.media.sections.push_back(std::move(config));
  }
  return true;
}

/** Parses ViewerTrack[] (plane.ts addViewer); false with `error` for anything out of shape. */
bool readPlayedTracks(const Napi::Value& value, std::vector<echo::PlayedTrack>& out, std::string& error) {
  if (!value.IsArray() || value.As<Napi::Array>().Length() > 64) {
    error = "tracks must be an array of at most 64";
    return false;
  }
  const Napi::Array tracks = value.As<Napi::Array>();
  for (uint32_t i = 0; i < tracks.Length(); i++) {
    const Napi::Value entry = tracks.Get(i);
    if (!entry.IsObject()) {
      error = "a track must be an object";
      return false;
    }
    const Napi::Object object = entry.As<Napi::Object>();
    echo::PlayedTrack track;
    int64_t number = 0;
    if (!readString(object.Get("publisherMid"), 255, track.publisherMid) || !readString(object.Get("viewerMid"), 255, track.viewerMid)) {
      error = "a track needs publisherMid and viewerMid";
      return false;
    }
    if (!readInt(object.Get("ssrc"), 0, UINT32_MAX, number)) {
      error = "a track's ssrc must be a 32-bit unsigned integer";
      return false;
    }
    track.ssrc = static_cast<uint32_t>(number);
    const Napi::Value extension = object.Get("midExtensionId");
    if (!extension.IsUndefined()) {
      if (!readInt(extension, 0, 255, number)) {
        error = "a track's midExtensionId must be 0-255";
        return false;
      }
      track.midExtensionId = static_cast<uint8_t>(number);
    }
    const Napi::Value pairs = object.Get("payloadTypes");
    if (!pairs.IsArray() || pairs.As<Napi::Array>().Length() > 128) {
      error = "a track's payloadTypes must be an array of [publisher, viewer] pairs";
      return false;
    }
    const Napi::Array pairArray = pairs.As<Napi::Array>();
    for (uint32_t p = 0; p < pairArray.Length(); p++) {
      const Napi::Value pair = pairArray.Get(p);
      int64_t from = 0, to = 0;
      if (!pair.IsArray() || !readInt(pair.As<Napi::Array>().Get(0u), 0, 127, from) ||
          !readInt(pair.As<Napi::Array>().Get(1u), 0, 127, to)) {
        error = "payload type pairs are [0-127, 0-127]";
        return false;
      }
      track.payloadTypes[static_cast<size_t>(from)] = static_cast<int16_t>(to);
    }
    out.push_back(std::move(track));
  }
  return true;
}

// ---- events ----------------------------------------------------------------------------------

/** What the thread-safe function's calls need; freed by its finalizer, so it outlives the wrap. */
struct Delivery {
  std::shared_ptr<Plane> plane;
  bool closed = false;
  std::vector<PlaneEvent> batch;
};

/**
 * Builds event objects with plain Node-API calls: while a Worker terminates, JavaScript can no
 * longer run, calls fail, and node-addon-api would turn the failure into a fatal error. Here a
 * failure only drops the batch.
 */
class EventBuilder {
 public:
  explicit EventBuilder(napi_env env) : env_(env) {}
  bool ok() const { return ok_; }

  napi_value object() {
    napi_value value = nullptr;
    ok_ = ok_ && napi_create_object(env_, &value) == napi_ok;
    return value;
  }
  napi_value string(const std::string& text) {
    napi_value value = nullptr;
    ok_ = ok_ && napi_create_string_utf8(env_, text.data(), text.size(), &value) == napi_ok;
    return value;
  }
  napi_value number(double number) {
    napi_value value = nullptr;
    ok_ = ok_ && napi_create_double(env_, number, &value) == napi_ok;
    return value;
  }
  napi_value boolean(bool flag) {
    napi_value value = nullptr;
    ok_ = ok_ && napi_get_boolean(env_, flag, &value) == napi_ok;
    return value;
  }
  napi_value buffer(const std::vector<uint8_t>& data) {
    napi_value value = nullptr;
    void* copy = nullptr;
    ok_ = ok_ && napi_create_buffer_copy(env_, data.size(), data.data(), &copy, &value) == napi_ok;
    return value;
  }
  /**
   * `name` must be a string literal: its key is made once per batch and reused by address (an
   * app-data event is three properties, and each napi_set_named_property made and internalized
   * its key anew: ~4% of the JavaScript thread in a data channel echo).
   */
  void set(napi_value object, const char* name, napi_value value) {
    ok_ = ok_ && object && value && napi_set_property(env_, object, cached(name), value) == napi_ok;
  }
  /** A string literal's value, made once per batch (the event type names). */
  napi_value literal(const char* text) { return cached(text); }
  napi_value endpoint(const Endpoint& endpoint) {
    napi_value value = object();
    set(value, "address", string(echo::endpointAddressText(endpoint)));
    set(value, "port", number(endpoint.port));
    return value;
  }

  napi_value event(const PlaneEvent& event) {
    napi_value value = object();
    switch (event.type) {
      case PlaneEvent::Type::Stun:
        set(value, "type", literal("stun"));
        set(value, "socket", number(event.socket));
        set(value, "from", endpoint(event.from));
        set(value, "local", string(event.local.valid() ? echo::endpointAddressText(event.local) : ""));
        if (event.answered) set(value, "answered", boolean(true));
        if (event.checked) set(value, "check", buffer(std::vector<uint8_t>(event.checkId, event.checkId + 12)));
        set(value, "data", buffer(event.data));
        break;
      case PlaneEvent::Type::DtlsConnected: {
        const echo::SrtpProfileInfo* info = echo::srtpProfileInfo(event.profile);
        set(value, "type", literal("dtls-connected"));
        set(value, "session", number(event.session));
        set(value, "role", literal(event.clientRole ? "client" : "server"));
        set(value, "srtpProfile", string(info ? info->name : "none"));
        break;
      }
      case PlaneEvent::Type::DtlsFailed:
        set(value, "type", literal("dtls-failed"));
        set(value, "session", number(event.session));
        set(value, "reason", string(event.text));
        break;
      case PlaneEvent::Type::DtlsClosed:
        set(value, "type", literal("dtls-closed"));
        set(value, "session", number(event.session));
        break;
      case PlaneEvent::Type::AppData:
        set(value, "type", literal("app-data"));
        set(value, "session", number(event.session));
        set(value, "data", buffer(event.data));
        set(value, "sctpChecksumValid", boolean(event.sctpChecksumValid));
        break;
      case PlaneEvent::Type::RtcpBye:
        set(value, "type", literal("rtcp-bye"));
        set(value, "session", number(event.session));
        set(value, "mid", string(event.text));
        set(value, "ssrc", number(event.ssrc));
        break;
      case PlaneEvent::Type::RtcpFeedback: {
        set(value, "type", literal("rtcp-feedback"));
        set(value, "session", number(event.session));
        set(value, "mid", string(event.text));
        napi_value pli = nullptr;
        ok_ = ok_ && napi_get_boolean(env_, event.keyframe, &pli) == napi_ok;
        set(value, "pli", pli);
        napi_value nack = nullptr;
        ok_ = ok_ && napi_create_array_with_length(env_, event.sequences.size(), &nack) == napi_ok;
        for (size_t i = 0; ok_ && i < event.sequences.size(); i++) {
          ok_ = napi_set_element(env_, nack, static_cast<uint32_t>(i), number(event.sequences[i])) == napi_ok;
        }
        set(value, "nack", nack);
        break;
      }
    }
    return value;
  }

 private:
  napi_value cached(const char* literal) {
    for (const auto& entry : strings_) {
      if (entry.first == literal) return entry.second;
    }
    napi_value value = nullptr;
    ok_ = ok_ && napi_create_string_utf8(env_, literal, NAPI_AUTO_LENGTH, &value) == napi_ok;
    if (ok_) strings_.emplace_back(literal, value);
    return value;
  }

  napi_env env_;
  bool ok_ = true;
  /** Keys and type names of this batch, by the literal's address (a few dozen at most). */
  std::vector<std::pair<const char*, napi_value>> strings_;
};

void deliverEvents(Napi::Env env, Napi::Function callback, Delivery* delivery, std::nullptr_t*) {
  if (!env || !delivery || delivery->closed || !delivery->plane) return;
  delivery->batch.clear();
  delivery->plane->takeEvents(delivery->batch);
  if (delivery->batch.empty()) return;
  EventBuilder build(env);
  napi_value events = nullptr;
  bool ok = napi_create_array_with_length(env, delivery->batch.size(), &events) == napi_ok;
  for (size_t i = 0; ok && i < delivery->batch.size(); i++) {
    napi_value event = build.event(delivery->batch[i]);
    ok = build.ok() && napi_set_element(env, events, static_cast<uint32_t>(i), event) == napi_ok;
  }
  delivery->batch.clear();
  napi_value receiver = nullptr;
  if (!ok || napi_get_undefined(env, &receiver) != napi_ok) return;
  napi_value result = nullptr;
  if (napi_call_function(env, receiver, callback, 1, &events, &result) == napi_pending_exception) {
    // A throwing handler is the handler's bug: it goes to 'uncaughtException', and the next
    // batches still come.
    napi_value error = nullptr;
    if (napi_get_and_clear_last_exception(env, &error) == napi_ok && error) napi_fatal_exception(env, error);
  }
}

using EventFunction = Napi::TypedThreadSafeFunction<Delivery, std::nullptr_t, deliverEvents>;

// ---- the plane object --------------------------------------------------------------------------

class PlaneWrap : public Napi::ObjectWrap<PlaneWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativePlane",
                       {
                           InstanceMethod<&PlaneWrap::openSocket>("openSocket"),
                           InstanceMethod<&PlaneWrap::closeSocket>("closeSocket"),
                           InstanceMethod<&PlaneWrap::send>("send"),
                           InstanceMethod<&PlaneWrap::createSession>("createSession"),
                           InstanceMethod<&PlaneWrap::allowRemote>("allowRemote"),
                           InstanceMethod<&PlaneWrap::selectRemote>("selectRemote"),
                           InstanceMethod<&PlaneWrap::stopIceAnswers>("stopIceAnswers"),
                           InstanceMethod<&PlaneWrap::sendApplicationData>("sendApplicationData"),
                           InstanceMethod<&PlaneWrap::addViewer>("addViewer"),
                           InstanceMethod<&PlaneWrap::removeViewer>("removeViewer"),
                           InstanceMethod<&PlaneWrap::requestKeyframe>("requestKeyframe"),
                           InstanceMethod<&PlaneWrap::nackForViewer>("nackForViewer"),
                           InstanceMethod<&PlaneWrap::stats>("stats"),
                           InstanceMethod<&PlaneWrap::closeSession>("closeSession"),
                           InstanceMethod<&PlaneWrap::close>("close"),
                       });
  }

  PlaneWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PlaneWrap>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    // createPlane checked these; a direct `new` from elsewhere gets a closed plane.
    if (info.Length() < 1 || !info[0].IsFunction()) return;
    auto* delivery = new Delivery();
    delivery_ = delivery;
    events_ = EventFunction::New(env, info[0].As<Napi::Function>(), "webrtc-echo native plane", 0, 1, delivery,
                                 [](Napi::Env, void*, Delivery* data) { delete data; });
    std::string error;
    echo::PlaneOptions options;
    if (info.Length() >= 2 && info[1].IsObject()) {
      const Napi::Value coalesce = info[1].As<Napi::Object>().Get("coalesceMicroseconds");
      int64_t micros = 0;
      if (!coalesce.IsUndefined()) {
        if (!readInt(coalesce, 0, 100000, micros)) {
          error_ = "coalesceMicroseconds must be 0-100000";
          events_.Release();
          delivery_ = nullptr;
          return;
        }
        options.coalesceMicroseconds = static_cast<int>(micros);
      }
      const Napi::Value answers = info[1].As<Napi::Object>().Get("answerIceChecks");
      if (!answers.IsUndefined()) {
        if (!answers.IsBoolean()) {
          error_ = "answerIceChecks must be a boolean";
          events_.Release();
          delivery_ = nullptr;
          return;
        }
        options.answerIceChecks = answers.As<Napi::Boolean>().Value();
      }
    }
    EventFunction* events = &events_;
    std::unique_ptr<Plane> plane = Plane::create([events] { events->NonBlockingCall(); }, options, error);
    if (!plane) {
      error_ = error.empty() ? "cannot start the data plane" : error;
      events_.Release();
      delivery_ = nullptr;
      return;
    }
    plane_ = std::shared_ptr<Plane>(plane.release());
    delivery->plane = plane_;
    // The thread must be joined before the environment goes (process.exit, Worker.terminate);
    // registered after the thread-safe function, so it runs before that one's own cleanup.
    napi_add_env_cleanup_hook(env, &PlaneWrap::cleanupHook, this);
    hooked_ = true;
    // An open plane is a handle, as a socket is: garbage collection must not close it behind
    // JavaScript's back (which would stop its events); close() lets it go.
    Ref();
    referenced_ = true;
    Napi::Object self = info.This().As<Napi::Object>();
    Napi::Object fingerprint = Napi::Object::New(env);
    fingerprint.Set("algorithm", "sha-256");
    fingerprint.Set("value", plane_->fingerprint());
    self.Set("fingerprint", fingerprint);
    const char* hooks = std::getenv("WEBRTC_ECHO_TEST_HOOKS");
    if (hooks && std::string(hooks) == "1") {
      self.Set("crashDataPlaneForTest", Napi::Function::New(env, [](const Napi::CallbackInfo& call) {
                 PlaneWrap* wrap = PlaneWrap::Unwrap(call.This().As<Napi::Object>());
                 if (wrap && wrap->plane_ && !wrap->closed_) wrap->plane_->crashForTest();
               }));
    }
  }

  ~PlaneWrap() override { shutDown(); }

  const std::string& error() const { return error_; }

 private:
  static void cleanupHook(void* self) {
    auto* wrap = static_cast<PlaneWrap*>(self);
    wrap->hooked_ = false;  // it runs once and is gone
    wrap->shutDown();
  }

  void shutDown() {
    if (closed_) return;
    closed_ = true;
    if (plane_) plane_->stop();  // joins: no event is posted after this
    if (delivery_) {
      delivery_->closed = true;
      delivery_ = nullptr;
      events_.Release();
    }
    if (hooked_) {
      napi_remove_env_cleanup_hook(env_, &PlaneWrap::cleanupHook, this);
      hooked_ = false;
    }
  }

  bool usable() const { return plane_ && !closed_; }

  Napi::Value openSocket(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!usable()) return Napi::String::New(env, "the plane is closed");
    if (info.Length() < 1 || !info[0].IsObject()) return Napi::String::New(env, "options must be an object");
    const Napi::Object options = info[0].As<Napi::Object>();
    std::string address = "::";
    const Napi::Value given = options.Get("address");
    if (!given.IsUndefined() && !readString(given, 255, address)) return Napi::String::New(env, "invalid address");
    int64_t portMin = 0, portMax = 0;
    if (!readInt(options.Get("portMin"), 0, 65535, portMin) || !readInt(options.Get("portMax"), 0, 65535, portMax)) {
      return Napi::String::New(env, "portMin and portMax must be 0-65535");
    }
    Endpoint local;
    std::string error;
    const int id = plane_->openSocket(address, static_cast<int>(portMin), static_cast<int>(portMax), local, error);
    if (id == 0) return Napi::String::New(env, error);
    Napi::Object result = Napi::Object::New(env);
    result.Set("socket", id);
    result.Set("local", endpointObject(env, local));
    return result;
  }

  Napi::Value closeSocket(const Napi::CallbackInfo& info) {
    int64_t id = 0;
    if (usable() && info.Length() >= 1 && readInt(info[0], 1, INT32_MAX, id)) plane_->closeSocket(static_cast<int>(id));
    return info.Env().Undefined();
  }

  Napi::Value send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t id = 0;
    Endpoint to;
    Endpoint from;
    std::vector<uint8_t> data;
    if (!usable() || info.Length() < 3 || !readInt(info[0], 1, INT32_MAX, id) || !readEndpoint(info[1], to) ||
        !readBytes(info[2], data) || data.empty() || data.size() > echo::kDatagramCapacity ||
        !readOptionalAddress(info, 3, from)) {
      return Napi::Boolean::New(env, false);
    }
    return Napi::Boolean::New(env, plane_->send(static_cast<int>(id), to, std::move(data), from));
  }

  Napi::Value createSession(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!usable()) return Napi::String::New(env, "the plane is closed");
    echo::SessionOptions options;
    std::string error;
    if (info.Length() < 1 || !readSessionOptions(info[0], options, error)) return Napi::String::New(env, error);
    const int id = plane_->createSession(std::move(options), error);
    if (id == 0) return Napi::String::New(env, error);
    return Napi::Number::New(env, id);
  }

  Napi::Value remoteCommand(const Napi::CallbackInfo& info, bool select) {
    Napi::Env env = info.Env();
    int64_t id = 0;
    Endpoint remote;
    Endpoint local;
    if (!usable() || info.Length() < 2 || !readInt(info[0], 1, INT32_MAX, id) || !readEndpoint(info[1], remote) ||
        !readOptionalAddress(info, 2, local) || !plane_->counters(static_cast<int>(id))) {
      return Napi::Boolean::New(env, false);
    }
    if (select) {
      plane_->selectRemote(static_cast<int>(id), remote, local);
    } else {
      plane_->allowRemote(static_cast<int>(id), remote, local);
    }
    return Napi::Boolean::New(env, true);
  }

  Napi::Value allowRemote(const Napi::CallbackInfo& info) { return remoteCommand(info, false); }
  Napi::Value selectRemote(const Napi::CallbackInfo& info) { return remoteCommand(info, true); }

  Napi::Value stopIceAnswers(const Napi::CallbackInfo& info) {
    int64_t id = 0;
    const bool ok = usable() && info.Length() >= 1 && readInt(info[0], 1, INT32_MAX, id) &&
                    plane_->stopIceAnswers(static_cast<int>(id));
    return Napi::Boolean::New(info.Env(), ok);
  }

  /**
   * sendApplicationData(session, record | records[], sctpChecksum?): every record 1 byte to 16 KiB
   * (with sctpChecksum, an SCTP packet of at least 12 whose CRC32c is written here), or nothing is sent.
   */
  Napi::Value sendApplicationData(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t id = 0;
    if (!usable() || info.Length() < 2 || !readInt(info[0], 1, INT32_MAX, id)) return Napi::Boolean::New(env, false);
    const bool seal = info.Length() >= 3 && info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
    std::vector<std::vector<uint8_t>> records;
    auto take = [&records, seal](const Napi::Value& value) {
      std::vector<uint8_t> data;
      if (!readBytes(value, data) || data.empty() || data.size() > 16384) return false;
      // In JavaScript (werift's table) this was ~4% of the thread in a data channel echo.
      if (seal && !echo::sealSctpPacket(data.data(), data.size())) return false;
      records.push_back(std::move(data));
      return true;
    };
    if (info[1].IsArray()) {
      const Napi::Array array = info[1].As<Napi::Array>();
      if (array.Length() == 0 || array.Length() > 1024) return Napi::Boolean::New(env, false);
      records.reserve(array.Length());
      for (uint32_t i = 0; i < array.Length(); i++) {
        if (!take(array.Get(i))) return Napi::Boolean::New(env, false);
      }
    } else if (!take(info[1])) {
      return Napi::Boolean::New(env, false);
    }
    return Napi::Boolean::New(env, plane_->sendApplicationData(static_cast<int>(id), std::move(records)));
  }

  /** addViewer(publisher, viewer, tracks): true, or an error string. */
  Napi::Value addViewer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!usable()) return Napi::String::New(env, "the plane is closed");
    int64_t publisher = 0, viewer = 0;
    if (info.Length() < 3 || !readInt(info[0], 1, INT32_MAX, publisher) || !readInt(info[1], 1, INT32_MAX, viewer)) {
      return Napi::String::New(env, "publisher and viewer must be session ids");
    }
    std::vector<echo::PlayedTrack> tracks;
    std::string error;
    if (!readPlayedTracks(info[2], tracks, error)) return Napi::String::New(env, error);
    if (!plane_->addViewer(static_cast<int>(publisher), static_cast<int>(viewer), std::move(tracks))) {
      return Napi::String::New(env, "unknown session");
    }
    return Napi::Boolean::New(env, true);
  }

  Napi::Value removeViewer(const Napi::CallbackInfo& info) {
    int64_t id = 0;
    const bool ok = usable() && info.Length() >= 1 && readInt(info[0], 1, INT32_MAX, id) && plane_->removeViewer(static_cast<int>(id));
    return Napi::Boolean::New(info.Env(), ok);
  }

  Napi::Value requestKeyframe(const Napi::CallbackInfo& info) {
    int64_t id = 0;
    std::string mid;
    const bool ok = usable() && info.Length() >= 2 && readInt(info[0], 1, INT32_MAX, id) && readString(info[1], 255, mid) &&
                    plane_->requestKeyframe(static_cast<int>(id), mid);
    return Napi::Boolean::New(info.Env(), ok);
  }

  Napi::Value nackForViewer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t id = 0;
    std::string mid;
    if (!usable() || info.Length() < 3 || !readInt(info[0], 1, INT32_MAX, id) || !readString(info[1], 255, mid) ||
        !info[2].IsArray()) {
      return Napi::Boolean::New(env, false);
    }
    const Napi::Array list = info[2].As<Napi::Array>();
    if (list.Length() == 0 || list.Length() > 64) return Napi::Boolean::New(env, false);
    std::vector<uint16_t> sequences;
    for (uint32_t i = 0; i < list.Length(); i++) {
      int64_t sequence = 0;
      if (!readInt(list.Get(i), 0, 65535, sequence)) return Napi::Boolean::New(env, false);
      sequences.push_back(static_cast<uint16_t>(sequence));
    }
    return Napi::Boolean::New(env, plane_->nackForViewer(static_cast<int>(id), mid, std::move(sequences)));
  }

  Napi::Value stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t id = 0;
    if (!usable() || info.Length() < 1 || !readInt(info[0], 1, INT32_MAX, id)) return env.Undefined();
    auto counters = plane_->counters(static_cast<int>(id));
    if (!counters) return env.Undefined();
    Napi::Object result = Napi::Object::New(env);
    auto set = [&](const char* name, const std::atomic<uint64_t>& value) {
      result.Set(name, static_cast<double>(value.load(std::memory_order_relaxed)));
    };
    set("packetsIn", counters->packetsIn);
    set("rtpEchoed", counters->rtpEchoed);
    set("rtpEchoedBytes", counters->rtpEchoedBytes);
    set("rtpDropped", counters->rtpDropped);
    set("rtcpIn", counters->rtcpIn);
    set("keyframeRequests", counters->keyframeRequests);
    set("nacksRelayed", counters->nacksRelayed);
    set("srtpAuthFailures", counters->srtpAuthFailures);
    set("stunAnswered", counters->stunAnswered);
    set("stunChecksSent", counters->stunChecksSent);
    set("datagramsSegmented", counters->datagramsSegmented);
    return result;
  }

  Napi::Value closeSession(const Napi::CallbackInfo& info) {
    int64_t id = 0;
    if (usable() && info.Length() >= 1 && readInt(info[0], 1, INT32_MAX, id)) plane_->closeSession(static_cast<int>(id));
    return info.Env().Undefined();
  }

  Napi::Value close(const Napi::CallbackInfo& info) {
    shutDown();
    if (referenced_) {
      referenced_ = false;
      Unref();
    }
    return info.Env().Undefined();
  }

  napi_env env_;
  std::shared_ptr<Plane> plane_;
  EventFunction events_;
  Delivery* delivery_ = nullptr;
  bool closed_ = false;
  bool hooked_ = false;
  bool referenced_ = false;
  std::string error_;
};

struct AddonData {
  Napi::FunctionReference planeClass;
};

Napi::Value createPlane(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) return Napi::String::New(env, "onEvents must be a function");
  if (info.Length() >= 2 && !info[1].IsUndefined() && !info[1].IsObject()) return Napi::String::New(env, "options must be an object");
  auto* data = env.GetInstanceData<AddonData>();
  Napi::Object plane = data->planeClass.New({info[0], info.Length() >= 2 ? info[1] : env.Undefined()});
  PlaneWrap* wrap = PlaneWrap::Unwrap(plane);
  if (!wrap || !wrap->error().empty()) return Napi::String::New(env, wrap ? wrap->error() : "cannot create the plane");
  return plane;
}

Napi::Value versions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("addon", kAddonVersion);
  result.Set("openssl", OpenSSL_version(OPENSSL_VERSION));
  result.Set("io", ECHO_HAVE_MMSG ? (ECHO_HAVE_UDP_SEGMENT ? "recvmmsg/sendmmsg, epoll, UDP_SEGMENT" : "recvmmsg/sendmmsg, epoll")
                                  : "recvfrom/sendto, poll");
#if defined(__SANITIZE_ADDRESS__)
  result.Set("sanitizers", "address,undefined");
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  result.Set("sanitizers", "address,undefined");
#endif
#endif
  return result;
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->planeClass = Napi::Persistent(PlaneWrap::define(env));
  env.SetInstanceData(data);
  exports.Set("createPlane", Napi::Function::New(env, createPlane));
  exports.Set("versions", Napi::Function::New(env, versions));
  return exports;
}

}  // namespace

NODE_API_MODULE(webrtc_echo_native, init)
