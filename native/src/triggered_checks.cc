#include "triggered_checks.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstring>

namespace echo {

namespace {

bool sameAddress(const Endpoint& a, const Endpoint& b) {
  return a.family == b.family && std::memcmp(a.address, b.address, a.family == 4 ? 4 : 16) == 0;
}

}  // namespace

TriggeredChecks::Check* TriggeredChecks::find(const Endpoint& remote) {
  for (Check& check : checks_) {
    if (check.remote == remote) return &check;
  }
  return nullptr;
}

uint32_t TriggeredChecks::priorityFor(const Endpoint& local, const Endpoint& remote) const {
  // As IceAgent #localFor picks the pair's local candidate: the one at the address the check
  // reached, else the first of the remote's family, else the first.
  const CheckPriority* sameFamily = nullptr;
  for (const CheckPriority& candidate : config_.priorities) {
    if (local.valid() && sameAddress(candidate.address, local)) return candidate.priority;
    if (!sameFamily && candidate.address.family == remote.family) sameFamily = &candidate;
  }
  if (sameFamily) return sameFamily->priority;
  return config_.priorities.empty() ? 0 : config_.priorities.front().priority;
}

size_t TriggeredChecks::triggered(const std::string& username, const Endpoint& remote, const Endpoint& local,
                                  uint8_t* out, size_t capacity, uint8_t transactionId[12]) {
  if (!enabled() || find(remote) || checks_.size() >= kMaxRemotes) return 0;
  Check check;
  if (RAND_bytes(check.transactionId, sizeof(check.transactionId)) != 1) return 0;
  BindingCheck request;
  std::memcpy(request.transactionId, check.transactionId, sizeof(request.transactionId));
  request.username = username;
  request.priority = priorityFor(local, remote);
  request.controlling = false;
  request.tieBreaker = config_.tieBreaker;
  request.password = config_.remotePwd;
  const size_t size = request.write(out, capacity);
  if (size == 0) return 0;
  check.remote = remote;
  checks_.push_back(check);
  std::memcpy(transactionId, check.transactionId, sizeof(check.transactionId));
  return size;
}

bool TriggeredChecks::nominated(const Endpoint& remote) {
  Check* check = find(remote);
  if (!check) return false;
  check->nominated = true;
  return check->succeeded;
}

bool TriggeredChecks::answered(const StunBindingMessage& response, const Endpoint& from) {
  Check* check = find(from);
  // Symmetric (§7.2.5.2.1): the answer to the check that went to `from`, from there.
  if (!check || check->succeeded ||
      CRYPTO_memcmp(check->transactionId, response.transactionId(), sizeof(check->transactionId)) != 0 ||
      !response.verifyIntegrity(config_.remotePwd)) {
    return false;
  }
  check->succeeded = true;
  return check->nominated;
}

}  // namespace echo
