// A few lines of test scaffolding for the standalone C++ test programs (no framework needed).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

inline int& failures() {
  static int count = 0;
  return count;
}

#define CHECK(condition)                                                          \
  do {                                                                            \
    if (!(condition)) {                                                           \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      failures()++;                                                               \
    }                                                                             \
  } while (0)

inline std::vector<uint8_t> fromHex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return out;
}

inline std::string toHex(const uint8_t* data, size_t size) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; i++) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

inline std::string toHex(const std::vector<uint8_t>& data) { return toHex(data.data(), data.size()); }

#define CHECK_HEX(actual, size, expectedHex)                                                        \
  do {                                                                                              \
    const std::string actualHex_ = toHex((actual), (size));                                         \
    std::string expected_ = (expectedHex);                                                          \
    for (auto& c : expected_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));  \
    if (actualHex_ != expected_) {                                                                  \
      std::fprintf(stderr, "%s:%d: %s\n  expected %s\n  actual   %s\n", __FILE__, __LINE__, #actual, \
                   expected_.c_str(), actualHex_.c_str());                                          \
      failures()++;                                                                                 \
    }                                                                                               \
  } while (0)
