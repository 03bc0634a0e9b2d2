// The controlled ICE agent's triggered checks as the data-plane thread sends them, and the
// selection they lead to (RFC 8445 §7.3.1.4-5). Without them the set-up waits for JavaScript
// twice: to send the check a client's first check triggers, and to select the pair once the
// client nominated it and our check on it succeeded. On a server busy with other sessions' offers
// each of those turns queues behind them. The plane sends the first check to each address that
// checked us, reports its transaction id up so the agent (src/ice/agent.ts) adopts it (resends,
// errors, timeouts stay the agent's), and selects the pair when the same rules the agent applies
// hold; the agent then selects the same pair, which changes nothing. One per session, on the
// data-plane thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "endpoint.h"
#include "stun_binding.h"

namespace echo {

/** The PRIORITY our checks carry from one of our addresses (IceAgent #check: prflx, that candidate's local preference). */
struct CheckPriority {
  Endpoint address;  // port 0
  uint32_t priority = 0;
};

struct TriggeredCheckConfig {
  /** The offer's ice-pwd; empty: the plane sends no checks (JavaScript does). */
  std::string remotePwd;
  /** The agent's tie-breaker (RFC 8445 §7.1.3), in ICE-CONTROLLED. */
  uint64_t tieBreaker = 0;
  std::vector<CheckPriority> priorities;
};

class TriggeredChecks {
 public:
  /** Addresses it checks and remembers at most: beyond these, checks are JavaScript's. */
  static constexpr size_t kMaxRemotes = 16;

  explicit TriggeredChecks(TriggeredCheckConfig config) : config_(std::move(config)) {}

  bool enabled() const { return !config_.remotePwd.empty(); }

  /**
   * After the plane answered a check from `remote` that reached our `local`: the check to send
   * back (written to `out`, its transaction id to `transactionId`), when this remote has none
   * of ours yet. Its size, 0 for none.
   */
  size_t triggered(const std::string& username, const Endpoint& remote, const Endpoint& local, uint8_t* out,
                   size_t capacity, uint8_t transactionId[12]);

  /** The client nominated `remote` (USE-CANDIDATE in a check we answered). True: select it now. */
  bool nominated(const Endpoint& remote);

  /**
   * A Binding success response from `from`. True when it answers our check to `from` with valid
   * integrity and the client nominated that pair: select it now.
   */
  bool answered(const StunBindingMessage& response, const Endpoint& from);

 private:
  struct Check {
    uint8_t transactionId[12];
    Endpoint remote;
    bool succeeded = false;
    bool nominated = false;
  };
  Check* find(const Endpoint& remote);
  uint32_t priorityFor(const Endpoint& local, const Endpoint& remote) const;

  const TriggeredCheckConfig config_;
  std::vector<Check> checks_;
};

}  // namespace echo
