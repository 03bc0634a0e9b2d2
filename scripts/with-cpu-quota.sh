#!/bin/sh
# Runs a command with at most PERCENT of one CPU core (a Linux cgroup CPU quota, 10 ms period),
# so that the server under test, not the machine or the load generator, is what saturates:
#   scripts/with-cpu-quota.sh 50 node dist/cli.js serve --port 8080
# Needs write access to the cgroup file system (root, or a delegated cgroup); cgroup v1 or v2.
set -eu
percent=$1
shift
period=10000
quota=$((period * percent / 100))
name="webrtc-echo-quota-$percent"
if [ -w /sys/fs/cgroup/cpu ]; then
  dir=/sys/fs/cgroup/cpu/$name
  mkdir -p "$dir"
  echo "$period" > "$dir/cpu.cfs_period_us"
  echo "$quota" > "$dir/cpu.cfs_quota_us"
elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  dir=/sys/fs/cgroup/$name
  mkdir -p "$dir"
  echo "$quota $period" > "$dir/cpu.max"
else
  echo "with-cpu-quota: no writable cgroup CPU controller" >&2
  exit 1
fi
echo $$ > "$dir/cgroup.procs"
exec "$@"
