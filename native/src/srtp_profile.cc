#include "srtp_profile.h"

namespace echo {

namespace {
const SrtpProfileInfo kProfiles[] = {
    {SrtpProfile::AesCm128HmacSha1_80, "SRTP_AES128_CM_SHA1_80", 16, 14, 10, 10, false},
    {SrtpProfile::AesCm128HmacSha1_32, "SRTP_AES128_CM_SHA1_32", 16, 14, 4, 10, false},
    {SrtpProfile::AeadAes128Gcm, "SRTP_AEAD_AES_128_GCM", 16, 12, 16, 16, true},
};
}  // namespace

const SrtpProfileInfo* srtpProfileInfo(SrtpProfile profile) {
  for (const auto& info : kProfiles) {
    if (info.profile == profile) return &info;
  }
  return nullptr;
}

const SrtpProfileInfo* srtpProfileByName(const std::string& name) {
  for (const auto& info : kProfiles) {
    if (name == info.name) return &info;
  }
  return nullptr;
}

}  // namespace echo
