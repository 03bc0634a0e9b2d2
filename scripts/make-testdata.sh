#!/bin/sh
# Regenerates the media clips the client sends with `--media`.
# Not run by CI: the outputs in testdata/ are committed. Needs Debian's ffmpeg (libvpx, libopus).
# Keep this in step with testdata/README.md.
set -eu

cd "$(dirname "$0")/../testdata"

DURATION=4

# VP8, 320x240 at 30 fps, a keyframe every 30 frames (1 s), ~300 kbit/s.
# testsrc2 moves every frame, so every frame carries real inter-coded data.
# -auto-alt-ref 0: no hidden alt-ref frames, so every IVF frame is one displayable frame
# and one RTP timestamp (RFC 7741 §4.1: a frame per timestamp).
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=size=320x240:rate=30" -t "$DURATION" \
  -c:v libvpx -b:v 300k -minrate 300k -maxrate 300k -g 30 -keyint_min 30 \
  -auto-alt-ref 0 -lag-in-frames 0 -deadline realtime -cpu-used 8 -error-resilient 1 \
  -pix_fmt yuv420p -f ivf video.ivf

# Opus, 48 kHz mono, 20 ms frames, a 440 Hz tone at 32 kbit/s in an Ogg container.
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "sine=frequency=440:sample_rate=48000" -t "$DURATION" \
  -c:a libopus -b:a 32k -frame_duration 20 -application audio -ac 1 \
  -f ogg audio.ogg

ls -l video.ivf audio.ogg
