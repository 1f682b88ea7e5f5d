// The approval page in a real browser (Debian's headless Chromium, driven by playwright-core),
// against a real devstack: a held call's webhook is captured by a local HTTPS receiver, its link
// opened, the page checked for the call, the digest and the reasons, the approver's TOTP entered
// and the call approved; then the same call is allowed and signed, the audit log holds the
// approval with the approver, and the link no longer works.
//
// Usage: node approval_page.mjs REPO_ROOT BIN_DIR   (tests/e2e/run sets this up)
import { execFileSync } from 'node:child_process';
import { createHmac, createPublicKey, randomBytes, timingSafeEqual, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { check, startDevstack, stopDevstack, unix } from './devstack.mjs';

const [root, bin] = process.argv.slice(2);
const work = mkdtempSync(join(tmpdir(), 'cordon-e2e-'));
const ds = join(work, 'ds');
let devstack;
let browser;

// RFC 8785 (JCS) for what a decision holds (objects, arrays, strings, integers, booleans, null):
// keys sorted, no whitespace; JSON.stringify's string escaping is JCS's for these values.
function jcs(value) {
  if (Array.isArray(value)) return '[' + value.map(jcs).join(',') + ']';
  if (value && typeof value === 'object')
    return '{' + Object.keys(value).sort().map((key) => JSON.stringify(key) + ':' + jcs(value[key])).join(',') + '}';
  return JSON.stringify(value);
}

// RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s), computed here independently of Cordon's own code.
function totp(key) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[19] & 0x0f;
  const binary = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(binary % 1000000).padStart(6, '0');
}

async function main() {
  execFileSync(join(root, 'tools/devstack-tls'), [join(ds, 'tls')]);

  // The customer's webhook receiver, on the devstack certificate.
  const deliveries = [];
  const receiver = https.createServer(
    { cert: readFileSync(join(ds, 'tls/server.crt')), key: readFileSync(join(ds, 'tls/server.key')) },
    (request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        deliveries.push({ body, signature: request.headers['x-cordon-signature-256'], event: request.headers['x-cordon-event'] });
        response.end('ok');
      });
    });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const webhookKey = randomBytes(32).toString('hex');
  const keyFile = join(work, 'webhook.key');
  writeFileSync(keyFile, webhookKey);
  chmodSync(keyFile, 0o600);
  const extra = join(work, 'approvald-extra.toml');
  writeFileSync(extra, `[[approvald.webhooks]]
type = "generic"
url = "https://127.0.0.1:${receiver.address().port}/hooks/cordon"
ca_file = "${join(ds, 'tls/ca.crt')}"
secret_file = "${keyFile}"
`);

  devstack = await startDevstack(root, bin, ds, { CORDON_APPROVALD_EXTRA: extra });
  const approvald = join(ds, 'run/approvald.sock');
  const auditd = join(ds, 'run/auditd.sock');

  // A held call: writing a source file needs a reviewer under the shipped constitution.
  const tools = JSON.parse((await unix(approvald, 'GET', '/v1/tools')).body).tools;
  const pin = tools.find((tool) => tool.name === 'fs.write').tool_pin;
  const proposal = {
    run_id: 'r-e2e', agent: 'support-bot', tool: 'fs.write', tool_pin: pin,
    arguments: { path: 'src/billing/rounding.c', content: 'int round_cents(long v) { return (int)((v + 50) / 100); }' },
    confidence_bp: 9100, rationale: 'The ticket asks to fix rounding.',
    observed: { untrusted_spans: 2, injection_flags: [] },
  };
  const held = await unix(approvald, 'POST', '/v1/decisions', proposal);
  check(held.status === 201, 'the proposal is answered with a signed packet');
  const decision = JSON.parse(held.body).decision;
  check(decision.verdict === 'pending', 'the call is held for a human (pending)');
  const approvalId = decision.approval.id;

  // The webhook arrives, signed with the shared key.
  let delivery;
  for (let i = 0; i < 100 && !delivery; ++i) {
    delivery = deliveries.find((d) => d.event === 'approval.requested' && d.body.includes(approvalId));
    if (!delivery) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  check(delivery, 'the generic webhook announces the approval');
  const expected = Buffer.from('sha256=' + createHmac('sha256', webhookKey).update(delivery.body).digest('hex'));
  check(timingSafeEqual(expected, Buffer.from(delivery.signature)), 'X-Cordon-Signature-256 is the HMAC-SHA256 of the body');
  const link = JSON.parse(delivery.body).links.find((l) => l.approver === 'demo').url;

  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'], headless: true });
  // The devstack CA is not in Chromium's trust store; the certificate is checked by the other tests.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const response = await page.goto(link);
  check(response.status() === 200, 'the link opens the approval page');
  const csp = response.headers()['content-security-policy'] || '';
  check(csp.includes("default-src 'none'"), 'the page carries a strict Content-Security-Policy');
  check((await page.textContent('#digest')).trim() === decision.action_digest, 'the page shows the action digest');
  check((await page.textContent('#call')).includes('round_cents'), 'the page shows the exact call');
  check((await page.textContent('body')).includes('Writing other files in the workspace needs a reviewer.'), 'the page shows why it was held');
  check((await page.textContent('body')).includes('2 spans'), 'the page shows what the agent observed');

  const key = readFileSync(join(ds, 'etc/demo-approver.key'));
  await page.fill('input[name=code]', totp(key));
  await Promise.all([page.waitForNavigation(), page.click('button[value=approve]')]);
  check((await page.textContent('#state')).trim() === 'approved', 'approving with the TOTP code approves the call');

  const allowedPacket = JSON.parse((await unix(approvald, 'POST', '/v1/decisions', proposal)).body);
  const allowed = allowedPacket.decision;
  check(allowed.verdict === 'allow', 'the same call is now allowed');
  const keys = JSON.parse((await unix(join(ds, 'run/secretsd.sock'), 'GET', '/v1/keys')).body).keys;
  const raw = Buffer.from(keys.find((key) => key.name === 'decision').public_key, 'base64');
  const publicKey = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
  check(verify(null, Buffer.from(jcs(allowed)), publicKey, Buffer.from(allowedPacket.signature, 'base64')),
        'the allow is signed by the decision key (Ed25519 over its JCS form, checked by Node)');
  check(allowed.approval.id === approvalId && allowed.approval.approvers[0] === 'demo', 'the allow names the approval and the approver');

  const granted = (await unix(auditd, 'GET', '/v1/events?kind=approval.granted')).body;
  check(granted.includes(approvalId) && granted.includes('"id":"demo"') && granted.includes(decision.action_digest),
        'the audit log holds the approval with the approver and the digest');

  const again = await page.goto(link);
  check(again.status() === 410, 'the link no longer works');
  check((await page.textContent('#refusal')).includes('used already'), 'and the page says so');
  receiver.close();
}

try {
  await main();
  console.log('e2e approval page: all checks passed');
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  await stopDevstack(devstack);
  if (process.exitCode !== 1) rmSync(work, { recursive: true, force: true });
  else console.error('work directory kept: ' + work);
}
