/**
 * The patched copy of node-datachannel's addon (src/engines/libdatachannel/addon-patches.ts).
 * Build time: every patch found goes into one copy, a patch not found is left out, the stamp
 * keeps the copy until the addon or the list of patches changes, a foreign local build is left
 * alone. Run time: only a copy that is the installed addon with every patch passes; a missing,
 * stale, altered or partial copy is refused with what is missing and how to build it. The copy
 * loaded here differs from the installed addon in the patched values only.
 * Run: node --import tsx --test test/engines/libdatachannel-addon-patches.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ADDON_PATCHES,
  AddonPatchError,
  checkAddonPatches,
  checkPatchedCopy,
  isApplied,
  refuseUnpatched,
  writePatchedCopy,
} from '../../src/engines/libdatachannel/addon-patches.js';
import { TRIGGERED_CHECK_DELAY_MS } from '../../src/engines/libdatachannel/triggered-check.js';
import {
  elfImage,
  TRIGGERED_CHECK_CLANG_DELAY_AT,
  TRIGGERED_CHECK_GCC_DELAY_AT,
  triggeredCheckClang,
  triggeredCheckGcc,
  ZERO_CHECKSUM_GCC_VALUE_AT,
  ZERO_CHECKSUM_MUSL_VALUE_AT,
  zeroChecksumGcc,
  zeroChecksumMusl,
} from '../helpers/addon-images.js';

function tempAddon(t: import('node:test').TestContext): { source: string; binary: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'addon-patches-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, source: join(dir, 'addon.node'), binary: join(dir, 'build', 'Release', 'node_datachannel.node') };
}

/** Gives `file` an mtime of its own, as an upgrade would (tests run faster than mtime resolution). */
function touch(file: string, secondsAhead: number): void {
  utimesSync(file, new Date(), new Date(Date.now() + secondsAhead * 1000));
}

test('writes both patches into one copy, once, and again when the addon changes', (t) => {
  const { source, binary } = tempAddon(t);
  const gcc = elfImage([zeroChecksumGcc(), triggeredCheckGcc()]);
  writeFileSync(source, gcc.image);
  const zeroAt = gcc.codeAt(0) + ZERO_CHECKSUM_GCC_VALUE_AT;
  const delayAt = gcc.codeAt(1) + TRIGGERED_CHECK_GCC_DELAY_AT;

  const state = writePatchedCopy(source, binary);
  assert.deepEqual(state, {
    binary,
    source,
    patches: [
      { name: 'sctp-zero-checksum-off', applied: true, offset: zeroAt },
      { name: 'triggered-check-now', applied: true, offset: delayAt },
    ],
  });
  const copy = readFileSync(binary);
  assert.equal(copy.readUInt32LE(zeroAt), 0, 'SCTP_EDMID_NONE');
  assert.equal(copy.readUInt32LE(delayAt), TRIGGERED_CHECK_DELAY_MS, 'triggered check 1 ms late');
  copy.writeUInt32LE(1, zeroAt);
  copy.writeUInt32LE(50, delayAt);
  assert.deepEqual(copy, gcc.image, 'nothing else changed');
  assert.deepEqual(readFileSync(source), gcc.image, 'the installed addon is untouched');
  const stamp = JSON.parse(readFileSync(`${binary}.patches.json`, 'utf8')) as { patches: unknown[] };
  assert.deepEqual(stamp.patches, [
    { name: 'sctp-zero-checksum-off', offset: zeroAt, value: 0 },
    { name: 'triggered-check-now', offset: delayAt, value: TRIGGERED_CHECK_DELAY_MS },
  ]);

  const written = statSync(binary).mtimeMs;
  assert.deepEqual(writePatchedCopy(source, binary), state, 'the stamp says the same');
  assert.equal(statSync(binary).mtimeMs, written, 'a second call keeps the copy');

  const clang = elfImage([triggeredCheckClang(), zeroChecksumMusl()]); // an upgraded addon
  writeFileSync(source, clang.image);
  touch(source, 5);
  assert.ok(isApplied(writePatchedCopy(source, binary), 'triggered-check-now'));
  const again = readFileSync(binary);
  assert.equal(again.readUInt32LE(clang.codeAt(0) + TRIGGERED_CHECK_CLANG_DELAY_AT), TRIGGERED_CHECK_DELAY_MS, 'patched again from the new addon');
  assert.equal(again.readUInt32LE(clang.codeAt(1) + ZERO_CHECKSUM_MUSL_VALUE_AT), 0);
});

test('a patch whose place is not found is left out; with none found, no copy shadows the addon', (t) => {
  const { source, binary } = tempAddon(t);
  const onlyZero = elfImage([zeroChecksumGcc()]);
  writeFileSync(source, onlyZero.image);
  const state = writePatchedCopy(source, binary);
  assert.ok(isApplied(state, 'sctp-zero-checksum-off'));
  assert.equal(isApplied(state, 'triggered-check-now'), false);
  assert.match((state.patches[1] as { reason: string }).reason, /not found/);
  assert.equal(readFileSync(binary).readUInt32LE(onlyZero.codeAt(0) + ZERO_CHECKSUM_GCC_VALUE_AT), 0);
  assert.equal(isApplied(writePatchedCopy(source, binary), 'triggered-check-now'), false, 'and the stamp remembers it');

  writeFileSync(source, elfImage([triggeredCheckGcc(), triggeredCheckClang()]).image); // neither found
  touch(source, 5);
  const none = writePatchedCopy(source, binary);
  assert.equal(none.binary, undefined);
  assert.ok(none.patches.every((p) => !p.applied));
  assert.equal(existsSync(binary), false, 'our old copy is gone');
  assert.equal(existsSync(`${binary}.patches.json`), false);
});

test('a new list of patches redoes a copy; a copy from the zero checksum patch alone (legacy stamp) is ours', (t) => {
  const { source, binary } = tempAddon(t);
  const gcc = elfImage([zeroChecksumGcc(), triggeredCheckGcc()]);
  writeFileSync(source, gcc.image);
  const delayAt = gcc.codeAt(1) + TRIGGERED_CHECK_GCC_DELAY_AT;
  writePatchedCopy(source, binary, ADDON_PATCHES.slice(0, 1));
  assert.equal(readFileSync(binary).readUInt32LE(delayAt), 50, 'one patch only');
  assert.ok(isApplied(writePatchedCopy(source, binary), 'triggered-check-now'));
  assert.equal(readFileSync(binary).readUInt32LE(delayAt), TRIGGERED_CHECK_DELAY_MS, 'the list changed: patched again');

  // What the zero checksum patch alone left: its copy and its stamp, no .patches.json.
  const old = Buffer.from(gcc.image);
  old.writeUInt32LE(0, gcc.codeAt(0) + ZERO_CHECKSUM_GCC_VALUE_AT);
  writeFileSync(binary, old);
  const s = statSync(binary);
  rmSync(`${binary}.patches.json`);
  writeFileSync(`${binary}.zero-checksum.json`, JSON.stringify({ source, patchedSize: s.size, patchedMtimeMs: s.mtimeMs }));
  assert.ok(isApplied(writePatchedCopy(source, binary), 'triggered-check-now'));
  assert.equal(readFileSync(binary).readUInt32LE(delayAt), TRIGGERED_CHECK_DELAY_MS);
  assert.equal(existsSync(`${binary}.zero-checksum.json`), false, 'the legacy stamp is replaced');
  assert.equal(existsSync(`${binary}.patches.json`), true);
});

test('leaves a local build that is not ours alone', (t) => {
  const { source, binary } = tempAddon(t);
  writeFileSync(source, elfImage([zeroChecksumGcc(), triggeredCheckGcc()]).image);
  writePatchedCopy(source, binary);
  rmSync(`${binary}.patches.json`);
  writeFileSync(binary, 'a real local build'); // no stamp of ours beside it
  const state = writePatchedCopy(source, binary);
  assert.ok(state.patches.every((p) => !p.applied));
  assert.match((state.patches[0] as { reason: string }).reason, /not ours/);
  assert.equal(readFileSync(binary, 'utf8'), 'a real local build');
});

test('at run time a copy passes only as the installed addon with every patch, and reading it writes nothing', (t) => {
  const { dir, source, binary } = tempAddon(t);
  const gcc = elfImage([zeroChecksumGcc(), triggeredCheckGcc()]);
  writeFileSync(source, gcc.image);
  const zeroAt = gcc.codeAt(0) + ZERO_CHECKSUM_GCC_VALUE_AT;
  const missing = checkPatchedCopy(source, binary);
  assert.ok(missing.patches.every((p) => !p.applied && /no patched copy/.test(p.reason)), JSON.stringify(missing));
  assert.equal(existsSync(binary), false, 'the check does not write the copy');

  const built = writePatchedCopy(source, binary);
  assert.deepEqual(checkPatchedCopy(source, binary), built, 'the build step\'s copy passes');
  assert.doesNotThrow(() => refuseUnpatched(checkPatchedCopy(source, binary), {}));

  // The addon upgraded after the build step: the copy no longer matches it.
  const upgraded = Buffer.from(gcc.image);
  upgraded[0x300] = 0x42;
  writeFileSync(source, upgraded);
  assert.match((checkPatchedCopy(source, binary).patches[0] as { reason: string }).reason, /not .* with the patches its stamp lists/);
  writeFileSync(source, gcc.image);

  // Another byte changed in the copy, or a patched value put back.
  const copy = readFileSync(binary);
  for (const [at, value] of [[0x310, 0x42], [zeroAt, 1]] as const) {
    const altered = Buffer.from(copy);
    altered[at] = value;
    writeFileSync(binary, altered);
    assert.ok(checkPatchedCopy(source, binary).patches.every((p) => !p.applied), `byte 0x${at.toString(16)} changed`);
  }
  writeFileSync(binary, copy);

  // A copy made before the second patch existed (its stamp lists the first only).
  rmSync(binary);
  writePatchedCopy(source, binary, ADDON_PATCHES.slice(0, 1));
  const partial = checkPatchedCopy(source, binary);
  assert.deepEqual(partial.patches.map((p) => p.applied), [true, false]);
  assert.match((partial.patches[1] as { reason: string }).reason, /predates this patch/);

  // A local build without our stamp.
  rmSync(`${binary}.patches.json`);
  assert.match((checkPatchedCopy(source, binary).patches[0] as { reason: string }).reason, /no stamp of ours/);
  assert.ok(existsSync(join(dir, 'addon.node')));
});

test('a missing patch refuses the engine, naming each patch, what the stack then does wrong, and the build step', async (t) => {
  const { source, binary } = tempAddon(t);
  writeFileSync(source, elfImage([zeroChecksumGcc(), triggeredCheckGcc()]).image);
  const state = checkPatchedCopy(source, binary);
  assert.throws(() => refuseUnpatched(state, {}), (err: unknown) => {
    assert.ok(err instanceof AddonPatchError);
    for (const p of ADDON_PATCHES) {
      assert.ok(err.message.includes(p.name), p.name);
      assert.ok(err.message.includes(p.without), p.without);
    }
    assert.match(err.message, /scripts\/patch-addon\.mjs/);
    assert.match(err.message, /ECHO_ALLOW_UNPATCHED_ADDON=1/);
    return true;
  });
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  assert.equal(refuseUnpatched(state, { ECHO_ALLOW_UNPATCHED_ADDON: '1' }), state, 'allowed by the environment');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /sctp-zero-checksum-off/);
});

const linuxX64 = process.platform === 'linux' && process.arch === 'x64';

test('node-datachannel here loads a copy of its addon that differs in the patched values only', { skip: !linuxX64 && 'the patches are for linux-x64 addons' }, () => {
  const state = checkAddonPatches();
  assert.deepEqual(state.patches.map((p) => [p.name, p.applied]), ADDON_PATCHES.map((p) => [p.name, true]), JSON.stringify(state.patches));
  const installed = readFileSync(state.source!);
  const loaded = readFileSync(state.binary!);
  for (const p of state.patches) {
    if (!p.applied) continue;
    assert.equal(loaded.readUInt32LE(p.offset), ADDON_PATCHES.find((a) => a.name === p.name)!.value, p.name);
    loaded.writeUInt32LE(installed.readUInt32LE(p.offset), p.offset);
  }
  assert.ok(loaded.equals(installed), 'and nothing else');
});
