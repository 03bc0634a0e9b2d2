/**
 * @roamhq/wrtc 0.10.0 crashes (SIGSEGV in napi_reference_unref, from RTCRtpReceiver's and
 * MediaStreamTrack's finalizers) when Node tears its environment down after a natural exit,
 * if any media track has ended and was not garbage-collected yet: after every media session,
 * in practice. A process that did everything right would exit 139 instead of 0 or 1.
 * Known upstream: WonderInventions/node-webrtc#7 and #35, node-webrtc/node-webrtc#636.
 *
 * process.exit() skips that teardown, so once the process is exiting anyway ('exit' has been
 * emitted: every result is written, the exit code is final) we finish it with process.exit().
 * Inside an 'exit' listener, process.exit() does not emit 'exit' again, it ends the process at
 * once: 'exit' listeners added after this one would not run. The first libwebrtc peer adds it,
 * so a program's own listeners, added at startup, come first.
 */
let installed = false;

export function guardProcessExit(): void {
  if (installed) return;
  installed = true;
  process.once('exit', (code) => process.exit(code));
}
