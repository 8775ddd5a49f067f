import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { FuzzRequests } from '../helpers/fuzz-requests.js';
import { freePort, startMosquitto } from '../../harness/mosquitto.js';
import { VIEWER_CLI, runNode } from '../helpers/processes.js';
import { seededRandom } from '../helpers/random.js';
import { rawGet, rawRequest } from '../helpers/raw-http.js';
import { stopWithin } from '../helpers/stream-rig.js';

// Thousands of random HTTP requests at a running picam-viewer process: methods, targets, percent-encodings,
// Host and Origin headers, odd headers and bodies (test/helpers/fuzz-requests.ts). Every one gets an answer,
// a 4xx unless it was a well-formed request for the viewer's own pages or actions, and the viewer stays up.
// A request that stops the viewer (issue 16, item 1) or gets a 5xx fails the test with the request.

const TOTAL = Number(process.env.PICAM_HTTP_FUZZ_REQUESTS ?? 4000);
const PARALLEL = 8;
const cleanup: Array<() => Promise<unknown>> = [];
after(async () => { for (const c of cleanup.reverse()) await c().catch(() => undefined); });

test(`HTTP fuzz: ${TOTAL} random requests; every one answered, 4xx unless well-formed, and the viewer stays up`, { timeout: 300_000 }, async () => {
  const seed = Number(process.env.PICAM_HTTP_FUZZ_SEED ?? 16);
  const broker = await startMosquitto();
  cleanup.push(() => broker.stop());
  const saveDir = fs.mkdtempSync(path.join(os.tmpdir(), 'picam-http-fuzz-'));
  cleanup.push(async () => fs.rmSync(saveDir, { recursive: true, force: true }));
  const port = await freePort();
  const viewer = runNode(VIEWER_CLI, ['--broker', broker.url, '--listen', `127.0.0.1:${port}`, '--save-dir', saveDir, '--log-level', 'error']);
  cleanup.push(() => viewer.stop('SIGKILL'));
  await viewer.waitFor(/picam-viewer: open http/);

  const fuzz = new FuzzRequests(seededRandom(seed), port);
  const statuses = new Map<number, number>();
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (sent < TOTAL) {
      sent++;
      const request = fuzz.next();
      const answer = await rawRequest(port, request.bytes, { timeoutMs: 10_000 }).catch((error: Error) => {
        throw new Error(`no answer (seed ${seed}, request ${sent}): ${error.message}\nviewer output:\n${viewer.output().slice(-2000)}`);
      });
      const status = answer.status;
      assert.ok(status !== undefined, `an HTTP answer to ${request.summary} (seed ${seed}); got ${JSON.stringify(answer.text.slice(0, 100))}; viewer exit ${viewer.child.exitCode}`);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const ok = status >= 400 && status < 500 || (request.maySucceed && status >= 200 && status < 300);
      assert.ok(ok, `${status} for ${request.summary} (seed ${seed})\n${answer.text.slice(0, 300)}`);
      assert.equal(viewer.child.exitCode, null, `the viewer is still running after ${request.summary}`);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));

  assert.equal((await rawGet(port, '/api/cameras')).status, 200, 'the page API answers after the fuzz');
  assert.equal(viewer.child.exitCode, null);
  assert.doesNotMatch(viewer.output(), /request failed|unhandled|TypeError|URIError/, 'no request failed inside the viewer');
  assert.equal(await stopWithin(viewer), 0, 'the viewer stops cleanly after the fuzz');
  const spread = [...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}: ${n}`).join(', ');
  console.log(`# HTTP fuzz (seed ${seed}): ${TOTAL} requests; answers ${spread}`);
  assert.ok((statuses.get(400) ?? 0) > TOTAL / 20 && (statuses.get(403) ?? 0) > TOTAL / 20 && (statuses.get(404) ?? 0) > TOTAL / 20, `the fuzz reached the parser, the guard and the router: ${spread}`);
});
