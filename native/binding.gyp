# The native data plane of the native engine (src/engines/native). Built by
# scripts/build-native.mjs against the running Node's own headers, OpenSSL's included: the
# addon links no OpenSSL of its own and resolves it from the node binary at load.
{
  "variables": {
    # scripts/build-native.mjs passes where npm put node-addon-api; this is for node-gyp by hand.
    "node_addon_api_dir%": "<(module_root_dir)/../node_modules/node-addon-api",
    "sanitize%": 0,
    "portable_io%": 0
  },
  "targets": [
    {
      "target_name": "webrtc_echo_native",
      "sources": [
        "src/addon.cc",
        "src/certificate.cc",
        "src/crc32c.cc",
        "src/dtls_transport.cc",
        "src/echo_session.cc",
        "src/endpoint.cc",
        "src/event_loop.cc",
        "src/media_echo.cc",
        "src/plane.cc",
        "src/playback.cc",
        "src/replay_window.cc",
        "src/rtp_forward.cc",
        "src/rtp_packet.cc",
        "src/srtp_cipher.cc",
        "src/srtp_profile.cc",
        "src/stun_binding.cc",
        "src/triggered_checks.cc",
        "src/udp_socket.cc"
      ],
      "include_dirs": ["<(node_addon_api_dir)"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-fno-exceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["sanitize==1", {
          "cflags": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined", "-g", "-O1"],
          "cflags_cc": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined", "-g", "-O1"],
          "ldflags": ["-fsanitize=address,undefined", "-shared-libasan"]
        }],
        ["portable_io==1", {
          "defines": ["ECHO_PORTABLE_IO=1"]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "NO",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "11.0"
          }
        }]
      ]
    }
  ]
}
