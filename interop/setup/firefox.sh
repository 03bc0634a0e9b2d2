#!/usr/bin/env bash
# Makes the Firefox Echo Test client runnable: Debian's firefox-esr, driven headless by
# puppeteer-core over WebDriver BiDi (an npm devDependency; it downloads no browser), then a
# quick check: launch it with the fake-media profile, gather a data channel offer, close.
# Needs node_modules (npm ci) and the built package (npm run build).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
firefox="${FIREFOX_PATH:-/usr/bin/firefox-esr}"

if [ ! -x "$firefox" ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get install -y firefox-esr
fi
"$firefox" --version
[ -f "$root/dist/interop/browser/firefox.js" ] || { echo "missing $root/dist/interop/browser/firefox.js: run npm run build" >&2; exit 1; }
cd "$root"
node --input-type=module -e "
import { launchBrowser } from './dist/interop/browser/driver.js';
const started = performance.now();
const browser = await launchBrowser('firefox');
try {
  const page = await browser.newPage();
  await page.goto('about:blank');
  const sdp = await page.evaluate(\`(async () => {
    const pc = new RTCPeerConnection();
    pc.createDataChannel('check');
    await pc.setLocalDescription();
    await new Promise((resolve) => { const done = () => pc.iceGatheringState === 'complete' && resolve(); pc.onicegatheringstatechange = done; done(); });
    const sdp = pc.localDescription.sdp;
    pc.close();
    return sdp;
  })()\`);
  const candidates = sdp.split('\n').filter((line) => line.startsWith('a=candidate:')).length;
  if (!/m=application .* webrtc-datachannel/.test(sdp) || candidates === 0) throw new Error('no data channel offer with candidates: ' + sdp.slice(0, 300));
  console.log('firefox ' + browser.version + ' over WebDriver BiDi: a data channel offer with ' + candidates + ' candidates in ' + Math.round(performance.now() - started) + ' ms');
} finally {
  await browser.close();
}
"
echo "ready interop/peers/firefox/client.sh"
