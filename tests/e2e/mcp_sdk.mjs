// The official MCP TypeScript SDK (@modelcontextprotocol/sdk, pinned in package-lock.json) as
// the client: its stdio transport launches cordon-mcp, which bridges to agentd in a real
// devstack. Lists the tools, calls an allowed one, a held one and an unknown one, and checks
// the ledger holds each outcome.
import { mkdtempSync, mkdirSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { check, startDevstack, stopDevstack, unix } from './devstack.mjs';

const [root, bin] = process.argv.slice(2);
const work = mkdtempSync(join(tmpdir(), 'cordon-mcp-e2e-'));
const ds = join(work, 'ds');
let devstack;
let client;

async function main() {
  devstack = await startDevstack(root, bin, ds);
  const agentd = join(ds, 'run/agentd.sock');
  const auditd = join(ds, 'run/auditd.sock');
  mkdirSync(join(ds, 'workspace/docs'), { recursive: true });
  writeFileSync(join(ds, 'workspace/docs/readme.txt'), 'Cordon gates every tool call.\n');

  const registered = await unix(agentd, 'POST', '/v1/runs', { agent: 'sdk-agent', task: 'Summarise docs/readme.txt' });
  check(registered.status === 201, 'an operator registers the run');
  const run = JSON.parse(registered.body).run_id;

  const transport = new StdioClientTransport({
    command: join(bin, 'cordon-mcp'),
    args: ['--socket', agentd, '--run', run],
    stderr: 'inherit',
  });
  client = new Client({ name: 'cordon-e2e', version: '1.0.0' });
  await client.connect(transport);
  check(client.getServerVersion().name === 'cordon-agentd', 'the SDK initialized a session with cordon-agentd through cordon-mcp');
  check(client.getServerCapabilities().tools !== undefined, 'the server offers tools');

  const { tools } = await client.listTools();
  const names = tools.map((tool) => tool.name);
  check(names.includes('fs.read') && names.includes('fs.write'), 'tools/list names fs.read and fs.write: ' + names.join(', '));
  check(tools.every((tool) => tool.inputSchema && tool.inputSchema.type === 'object'), 'every tool has a JSON Schema');

  const read = await client.callTool({
    name: 'fs.read',
    arguments: { path: 'docs/readme.txt' },
    _meta: { 'cordon/confidence': 0.9, 'cordon/rationale': 'the task names this file' },
  });
  check(read.isError === false && read.content[0].text === 'Cordon gates every tool call.\n', 'an allowed fs.read returns the file');
  check(read.structuredContent && read.structuredContent.bytes === 30, 'with structuredContent');
  const decisionId = read._meta['cordon/decision_id'];
  check(typeof decisionId === 'string' && decisionId.startsWith('d-'), 'and the decision id it ran under');

  const held = await client.callTool({
    name: 'fs.write',
    arguments: { path: 'docs/summary.txt', content: 'short' },
    _meta: { 'cordon/confidence': 0.9 },
  });
  check(held.isError === true && held.content[0].text.includes('held for a human'), 'a write outside scratch/ is held for a human');
  check(!existsSync(join(ds, 'workspace/docs/summary.txt')), 'and nothing was written');

  const scratch = await client.callTool({
    name: 'fs.write',
    arguments: { path: 'scratch/notes.txt', content: 'draft' },
    _meta: { 'cordon/confidence': 0.9 },
  });
  check(scratch.isError === false && existsSync(join(ds, 'workspace/scratch/notes.txt')), 'a scratch write is allowed and done');

  let unknown;
  try {
    await client.callTool({ name: 'shell.exec', arguments: {} });
  } catch (error) {
    unknown = error;
  }
  check(unknown && String(unknown.message).includes('unknown tool'), 'an unknown tool is a JSON-RPC error the SDK raises');

  const executed = (await unix(auditd, 'GET', '/v1/events?kind=tool.executed')).body;
  check(executed.includes(decisionId), 'the ledger records the executed call with its decision');
  const heldEvents = (await unix(auditd, 'GET', '/v1/events?kind=action.held')).body;
  check(heldEvents.includes(run), 'and the held one');
}

try {
  await main();
  console.log('e2e MCP SDK: all checks passed');
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  if (client) await client.close().catch(() => {});
  await stopDevstack(devstack);
  if (process.exitCode !== 1) rmSync(work, { recursive: true, force: true });
  else console.error('work directory kept: ' + work);
}
